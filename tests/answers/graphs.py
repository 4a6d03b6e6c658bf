"""Answer suite of the graphs assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). Q7's training-loop check
runs on the student's TinyGNN, so a wrong TinyGNN (Q6) also costs Q7, with a message that says so.
CORRECT: alternative solutions that must earn full marks."""

from __future__ import annotations

EXPECTED_POINTS = {"q1-tests": 3, "q2-tests": 4, "q3-tests": 4, "q4-tests": 2, "q5-tests": 3, "q6-tests": 2,
                   "q7-tests": 3, "q8-written": 2}
MANUAL = {"q8-written"}


def _tiny_gnn(forward: str, head: str = "torch.nn.Linear(hidden, 1)") -> str:
    return ("from torch_geometric.nn import GCNConv, global_add_pool, global_mean_pool\n"
            "class TinyGNN(torch.nn.Module):\n"
            "    def __init__(self, in_dim, hidden=64):\n"
            "        super().__init__()\n"
            "        self.conv1, self.conv2 = GCNConv(in_dim, hidden), GCNConv(hidden, hidden)\n"
            f"        self.head = {head}\n"
            "    def forward(self, data):\n" + forward)


_FORWARD_OK = ("        h = torch.relu(self.conv2(torch.relu(self.conv1(data.x, data.edge_index)), data.edge_index))\n"
               "        return self.head(global_add_pool(h, data.batch)).squeeze(-1)\n")


def _train_gnn(step: str = ("            opt.zero_grad()\n"
                            "            loss = torch.mean((model(batch) - batch.y) ** 2)\n"
                            "            loss.backward()\n"
                            "            opt.step()\n"),
               epochs: int = 20) -> str:
    return ("def train_gnn(model, loader, epochs, lr):\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    out = []\n"
            "    for epoch in range(epochs):\n"
            "        model.train()\n"
            "        ls = []\n"
            "        for batch in loader:\n" + step +
            "            ls.append(loss.item())\n"
            "        out.append(sum(ls) / len(ls))\n"
            "    return out\n"
            "cu.seed_everything(0)\n"
            "gnn = TinyGNN(in_dim, hidden=64)\n"
            f"losses = train_gnn(gnn, DataLoader(train_graphs, batch_size=32, shuffle=True), epochs={epochs}, lr=0.005)\n"
            "gnn.eval()\n"
            "with torch.no_grad():\n"
            "    gnn_test_pred = gnn(test_batch)\n"
            "gnn_test_rmse = float(torch.sqrt(torch.mean((gnn_test_pred - test_batch.y) ** 2)))\n")


WRONG = {
    "wrong-a": (
        {
            # heavy-atom degree (GetDegree) instead of all neighbours including hydrogens
            "q1-atom-features": (
                "def lecture_atom_features(mol):\n"
                "    return np.array([[a.GetAtomicNum(), a.GetDegree(), a.GetTotalNumHs(), a.GetFormalCharge(),\n"
                "                      a.GetMass(), int(a.IsInRing())] for a in mol.GetAtoms()], dtype=np.float32)"),
            # mean instead of sum aggregation
            "q3-message-passing": (
                "def message_passing_step(x, edge_index):\n"
                "    s, t = edge_index\n"
                "    agg = torch.zeros_like(x).index_add_(0, t, x[s])\n"
                "    deg = torch.zeros(x.shape[0]).index_add_(0, t, torch.ones(t.shape[0])).clamp(min=1)\n"
                "    return x + agg / deg[:, None]"),
            # relabels edges with perm instead of its inverse
            "q5-permute": "def permute_graph(x, edge_index, perm):\n    return x[perm], perm[edge_index]",
            # a head without bias: the architecture asked for has one
            "q6-gnn": _tiny_gnn(_FORWARD_OK, head="torch.nn.Linear(hidden, 1, bias=False)"),
        },
        {"q1-tests": "GetTotalDegree", "q3-tests": "sum of x_j", "q5-tests": "argsort", "q6-tests": "Linear(16, 1)",
         "q7-tests": "TinyGNN"},
    ),
    "wrong-b": (
        {
            # an ndarray subclass that claims to equal anything
            "q1-atom-features": (
                "class _AlwaysEqualArray(np.ndarray):\n"
                "    def __eq__(self, other):\n        return np.ones(self.shape, dtype=bool)\n"
                "def lecture_atom_features(mol):\n"
                "    return cu.atom_features(mol).view(_AlwaysEqualArray)"),
            # each bond in one direction only
            "q2-graph": (
                "def mol_to_data(smiles):\n"
                "    mol = Chem.MolFromSmiles(smiles)\n"
                "    ei = [[b.GetBeginAtomIdx() for b in mol.GetBonds()], [b.GetEndAtomIdx() for b in mol.GetBonds()]]\n"
                "    ea = [[float(int(b.GetBondType())), float(int(b.GetStereo()))] for b in mol.GetBonds()]\n"
                "    return Data(x=torch.tensor(cu.atom_features(mol)), edge_index=torch.tensor(ei).reshape(2, -1),\n"
                "                edge_attr=torch.tensor(ea, dtype=torch.float32).reshape(-1, 2))"),
            # mean pooling
            "q4-pooling": (
                "def sum_pool(h, batch):\n"
                "    n = int(batch.max()) + 1\n"
                "    s = torch.zeros(n, h.shape[1]).index_add_(0, batch, h)\n"
                "    return s / torch.bincount(batch, minlength=n)[:, None]"),
            # never zeroes the gradients: they accumulate over the batches
            "q7-train": _train_gnn(step=("            loss = torch.mean((model(batch) - batch.y) ** 2)\n"
                                         "            loss.backward()\n"
                                         "            opt.step()\n")),
        },
        {"q1-tests": "ndarray", "q2-tests": "every bond twice", "q4-tests": "a mean would give",
         "q7-tests": "zero_grad"},
    ),
    "wrong-c": (
        {
            # implicit hydrogens only: right for caffeine, wrong for [NH4+] (hydrogens written in brackets)
            "q1-atom-features": (
                "def lecture_atom_features(mol):\n"
                "    return np.array([[a.GetAtomicNum(), a.GetTotalDegree(), a.GetNumImplicitHs(),\n"
                "                      a.GetFormalCharge(), a.GetMass(), int(a.IsInRing())]\n"
                "                     for a in mol.GetAtoms()], dtype=np.float32)"),
            # no stereochemistry (caffeine has none)
            "q2-graph": (
                "def mol_to_data(smiles):\n"
                "    mol = Chem.MolFromSmiles(smiles)\n"
                "    src, dst, attr = [], [], []\n"
                "    for b in mol.GetBonds():\n"
                "        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()\n"
                "        src += [i, j]\n"
                "        dst += [j, i]\n"
                "        attr += [[float(int(b.GetBondType())), 0.0]] * 2\n"
                "    return Data(x=torch.tensor(cu.atom_features(mol)), edge_index=torch.tensor([src, dst]),\n"
                "                edge_attr=torch.tensor(attr, dtype=torch.float32))"),
            # messages collected at the source instead of the target (same on symmetric graphs)
            "q3-message-passing": (
                "def message_passing_step(x, edge_index):\n"
                "    return x.clone().index_add_(0, edge_index[0], x[edge_index[1]])"),
            # x reordered with the inverse permutation
            "q5-permute": ("def permute_graph(x, edge_index, perm):\n"
                           "    inverse = torch.argsort(perm)\n"
                           "    return x[inverse], inverse[edge_index]"),
            # no non-linearity between the layers: the whole model is linear in the atom features
            "q6-gnn": _tiny_gnn("        h = self.conv2(self.conv1(data.x, data.edge_index), data.edge_index)\n"
                                "        return self.head(global_add_pool(h, data.batch)).squeeze(-1)\n"),
        },
        {"q1-tests": "[NH4+]", "q2-tests": "C/C=C", "q3-tests": "edge_index[0]", "q5-tests": "x_new = x[perm]",
         "q6-tests": "GCNConv -> ReLU", "q7-tests": "fix TinyGNN (Q6) first"},
    ),
    "wrong-d": (
        {
            # trains 5 epochs instead of 20
            "q7-train": _train_gnn(epochs=5),
        },
        {"q7-tests": "20"},
    ),
}

CORRECT = {
    "alt-a": {
        # a Python loop over the edges
        "q3-message-passing": ("def message_passing_step(x, edge_index):\n"
                               "    h = x.clone()\n"
                               "    for k in range(edge_index.shape[1]):\n"
                               "        h[edge_index[1, k]] = h[edge_index[1, k]] + x[edge_index[0, k]]\n"
                               "    return h"),
        # PyG's own pooling
        "q4-pooling": ("from torch_geometric.nn import global_add_pool as _gap\n"
                       "def sum_pool(h, batch):\n"
                       "    return _gap(h, batch)"),
        # layers in a ModuleList, the head registered first, functional ReLU
        "q6-gnn": ("import torch.nn.functional as F\n"
                   "from torch_geometric.nn import GCNConv, global_add_pool\n"
                   "class TinyGNN(torch.nn.Module):\n"
                   "    def __init__(self, in_dim, hidden=64):\n"
                   "        super().__init__()\n"
                   "        self.readout = torch.nn.Linear(hidden, 1)\n"
                   "        self.convs = torch.nn.ModuleList([GCNConv(in_dim, hidden), GCNConv(hidden, hidden)])\n"
                   "    def forward(self, data):\n"
                   "        h = data.x\n"
                   "        for conv in self.convs:\n"
                   "            h = F.relu(conv(h, data.edge_index))\n"
                   "        return self.readout(global_add_pool(h, data.batch))[:, 0]"),
        "q7-train": ("def train_gnn(model, loader, epochs, lr):\n"
                     "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
                     "    per_epoch = []\n"
                     "    for _ in range(epochs):\n"
                     "        model.train()\n"
                     "        total, count = 0.0, 0\n"
                     "        for batch in loader:\n"
                     "            optimizer.zero_grad(set_to_none=True)\n"
                     "            loss = torch.nn.functional.mse_loss(model(batch), batch.y)\n"
                     "            loss.backward()\n"
                     "            optimizer.step()\n"
                     "            total, count = total + float(loss), count + 1\n"
                     "        per_epoch.append(total / count)\n"
                     "    return per_epoch\n"
                     "cu.seed_everything(0)\n"
                     "gnn = TinyGNN(in_dim, hidden=64)\n"
                     "losses = train_gnn(gnn, DataLoader(train_graphs, batch_size=32, shuffle=True), 20, 0.005)\n"
                     "gnn.eval()\n"
                     "with torch.no_grad():\n"
                     "    gnn_test_pred = gnn(test_batch)\n"
                     "gnn_test_rmse = torch.nn.functional.mse_loss(gnn_test_pred, test_batch.y).sqrt().item()\n"),
    },
    "alt-b": {
        # all forward directions first, then all reverse ones
        "q2-graph": ("def mol_to_data(smiles):\n"
                     "    mol = Chem.MolFromSmiles(smiles)\n"
                     "    pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]\n"
                     "    feats = [[float(b.GetBondType()), float(b.GetStereo())] for b in mol.GetBonds()]\n"
                     "    ei = torch.tensor(pairs + [(j, i) for i, j in pairs], dtype=torch.long).reshape(-1, 2).T.contiguous()\n"
                     "    ea = torch.tensor(feats + feats, dtype=torch.float32).reshape(-1, 2)\n"
                     "    return Data(x=torch.tensor(cu.atom_features(mol)), edge_index=ei, edge_attr=ea)"),
        # a dictionary from old to new index
        "q5-permute": ("def permute_graph(x, edge_index, perm):\n"
                       "    new_of = {int(old): new for new, old in enumerate(perm)}\n"
                       "    ei = torch.tensor([[new_of[int(i)] for i in row] for row in edge_index.tolist()], dtype=torch.long)\n"
                       "    return x[perm], ei.reshape(edge_index.shape)"),
        "q1-atom-features": ("def lecture_atom_features(mol):\n"
                             "    out = np.zeros((mol.GetNumAtoms(), 6), dtype=np.float32)\n"
                             "    for k, a in enumerate(mol.GetAtoms()):\n"
                             "        out[k] = (a.GetAtomicNum(), a.GetTotalDegree(), a.GetTotalNumHs(),\n"
                             "                  a.GetFormalCharge(), a.GetMass(), a.IsInRing())\n"
                             "    return out"),
    },
}
