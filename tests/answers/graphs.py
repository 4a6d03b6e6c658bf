"""Answer suite of the graphs assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). CORRECT: alternative
solutions that must earn full marks."""

from __future__ import annotations

EXPECTED_POINTS = {'q1-tests': 3,
 'q2-tests': 4,
 'q3-tests': 4,
 'q4-tests': 2,
 'q5-tests': 3,
 'q6-tests': 2,
 'q7-tests': 3,
 'q8-written': 2}

MANUAL = {'q8-written'}

WRONG = {'wrong-a': ({'q1-atom-features': 'def lecture_atom_features(mol):\n'
                                  '    return np.array([[a.GetAtomicNum(), a.GetDegree(), a.GetTotalNumHs(), '
                                  'a.GetFormalCharge(),\n'
                                  '                      a.GetMass(), int(a.IsInRing())] for a in '
                                  'mol.GetAtoms()], dtype=np.float32)',
              'q3-message-passing': 'def message_passing_step(x, edge_index):\n'
                                    '    s, t = edge_index\n'
                                    '    agg = torch.zeros_like(x).index_add_(0, t, x[s])\n'
                                    '    deg = torch.zeros(x.shape[0]).index_add_(0, t, '
                                    'torch.ones(t.shape[0])).clamp(min=1)\n'
                                    '    return x + agg / deg[:, None]',
              'q5-permute': 'def permute_graph(x, edge_index, perm):\n    return x[perm], perm[edge_index]',
              'q6-gnn': 'from torch_geometric.nn import GCNConv, global_add_pool\n'
                        'class TinyGNN(torch.nn.Module):\n'
                        '    def __init__(self, in_dim, hidden=64):\n'
                        '        super().__init__()\n'
                        '        self.conv1, self.conv2 = GCNConv(in_dim, hidden), GCNConv(hidden, hidden)\n'
                        '        self.head = torch.nn.Linear(hidden, 1, bias=False)\n'
                        '    def forward(self, data):\n'
                        '        h = torch.relu(self.conv2(torch.relu(self.conv1(data.x, data.edge_index)), '
                        'data.edge_index))\n'
                        '        return self.head(global_add_pool(h, data.batch)).squeeze(-1)'},
             {'q1-tests': '', 'q3-tests': '', 'q5-tests': '', 'q6-tests': ''}),
 'wrong-b': ({'q1-atom-features': 'class _AlwaysEqualArray(np.ndarray):\n'
                                  '    def __eq__(self, other):\n'
                                  '        return np.ones(self.shape, dtype=bool)\n'
                                  'def lecture_atom_features(mol):\n'
                                  '    return cu.atom_features(mol).view(_AlwaysEqualArray)',
              'q2-graph': 'def mol_to_data(smiles):\n'
                          '    mol = Chem.MolFromSmiles(smiles)\n'
                          '    ei = [[b.GetBeginAtomIdx() for b in mol.GetBonds()], [b.GetEndAtomIdx() for b '
                          'in mol.GetBonds()]]\n'
                          '    ea = [[float(int(b.GetBondType())), float(int(b.GetStereo()))] for b in '
                          'mol.GetBonds()]\n'
                          '    return Data(x=torch.tensor(cu.atom_features(mol)), '
                          'edge_index=torch.tensor(ei).reshape(2, -1),\n'
                          '                edge_attr=torch.tensor(ea, dtype=torch.float32).reshape(-1, 2))',
              'q4-pooling': 'def sum_pool(h, batch):\n'
                            '    n = int(batch.max()) + 1\n'
                            '    s = torch.zeros(n, h.shape[1]).index_add_(0, batch, h)\n'
                            '    return s / torch.bincount(batch, minlength=n)[:, None]',
              'q7-train': 'cu.seed_everything(0)\n'
                          'gnn = TinyGNN(in_dim, hidden=64)\n'
                          'opt = torch.optim.Adam(gnn.parameters(), lr=0.005)\n'
                          'for epoch in range(20):\n'
                          '    for batch in DataLoader(train_graphs, batch_size=32, shuffle=True):\n'
                          '        opt.zero_grad()\n'
                          '        loss = torch.mean((gnn(batch) - batch.y) ** 2)\n'
                          '        loss.backward()\n'
                          '        opt.step()\n'
                          'gnn.eval()\n'
                          'with torch.no_grad():\n'
                          '    gnn_test_pred = gnn(test_batch)\n'
                          'gnn_test_rmse = float(torch.mean((gnn_test_pred - test_batch.y) ** 2))'},
             {'q1-tests': '', 'q2-tests': '', 'q4-tests': '', 'q7-tests': ''}),
 'wrong-hidden': ({'q1-atom-features': 'def lecture_atom_features(mol):\n'
                                       '    return np.array([[a.GetAtomicNum(), a.GetTotalDegree(), '
                                       'a.GetNumImplicitHs(),\n'
                                       '                      a.GetFormalCharge(), a.GetMass(), '
                                       'int(a.IsInRing())]\n'
                                       '                     for a in mol.GetAtoms()], dtype=np.float32)',
                   'q2-graph': 'def mol_to_data(smiles):\n'
                               '    mol = Chem.MolFromSmiles(smiles)\n'
                               '    src, dst, attr = [], [], []\n'
                               '    for b in mol.GetBonds():\n'
                               '        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()\n'
                               '        src += [i, j]\n'
                               '        dst += [j, i]\n'
                               '        attr += [[float(int(b.GetBondType())), 0.0]] * 2\n'
                               '    return Data(x=torch.tensor(cu.atom_features(mol)), '
                               'edge_index=torch.tensor([src, dst]),\n'
                               '                edge_attr=torch.tensor(attr, dtype=torch.float32))',
                   'q3-message-passing': 'def message_passing_step(x, edge_index):\n'
                                         '    return x.clone().index_add_(0, edge_index[0], '
                                         'x[edge_index[1]])',
                   'q7-train': 'cu.seed_everything(0)\n'
                               'gnn = TinyGNN(in_dim, hidden=64)\n'
                               'gnn.eval()\n'
                               'with torch.no_grad():\n'
                               '    gnn_test_pred = gnn(test_batch)\n'
                               'gnn_test_rmse = float(torch.sqrt(torch.mean((gnn_test_pred - test_batch.y) '
                               '** 2)))'},
                  {'q1-tests': '', 'q2-tests': '', 'q3-tests': '', 'q7-tests': ''})}

CORRECT: dict[str, dict[str, str]] = {}
