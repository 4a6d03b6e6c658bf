"""Answer suite of the sequences assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). Each submission breaks
different test cells. CORRECT: alternative solutions that must earn full marks."""

from __future__ import annotations

EXPECTED_POINTS = {"q1-tests": 3, "q2-tests": 3, "q3-tests": 3, "q4-tests": 4, "q5-tests": 2, "q6-tests": 3,
                   "q7-tests": 3, "q8-written": 2}
MANUAL = {"q8-written"}

_FINETUNE = (
    "import copy\n"
    "cu.seed_everything(0)\n"
    "finetuned = copy.deepcopy(pretrained).train()\n"
    "optimizer = torch.optim.Adam(finetuned.parameters(), lr=1e-3)\n"
    "generator = torch.Generator().manual_seed(0)\n"
    "for step in range(300):\n"
    "    rows = torch.randint(len(train_ids), (32,), generator=generator)\n"
    "    loss = torch.mean((finetuned(train_ids[rows]) - y_train[rows]) ** 2)\n"
    "    optimizer.zero_grad()\n"
    "    loss.backward()\n"
    "{STEP}"
    "finetuned.eval()\n"
)

WRONG = {
    "wrong-a": (
        {
            # characters instead of tokens: Cl, Br and [nH] are split
            "q1-tokenize": "def tokenize(smiles):\n    return list(smiles)",
            # no tanh: a linear recurrence
            "q3-rnn": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                      "    return x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh",
            # attention without the 1/sqrt(d) scaling
            "q4-attention": "def attention(q, k, v, mask=None):\n"
                            "    scores = q @ k.transpose(-2, -1)\n"
                            "    if mask is not None:\n"
                            "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                            "    w = torch.softmax(scores, dim=-1)\n"
                            "    return w @ v, w",
            # novelty compared as raw strings: a training molecule written another way counts as new
            "q6-metrics": "def generation_metrics(generated, training):\n"
                          "    canon = lambda s: Chem.MolToSmiles(Chem.MolFromSmiles(s)) if Chem.MolFromSmiles(s) is not None "
                          "and Chem.MolFromSmiles(s).GetNumAtoms() > 0 else None\n"
                          "    valid = [c for c in map(canon, generated) if c is not None]\n"
                          "    distinct = set(valid)\n"
                          "    return {'validity': len(valid) / len(generated), 'uniqueness': len(distinct) / len(valid),\n"
                          "            'novelty': len(distinct - set(training)) / len(distinct)}",
        },
        {"q1-tests": "Cl and Br are one token", "q3-tests": "and the tanh", "q4-tests": "sqrt(d)",
         "q6-tests": "ethanol is in the training set"},
    ),
    "wrong-b": (
        {
            # a regex that knows Cl but not Br
            "q1-tokenize": "import re\n"
                           "def tokenize(smiles):\n"
                           "    return re.findall(r'(\\[[^\\]]+]|Cl?|N|O|S|P|F|I|B|b|c|n|o|s|p|r|\\(|\\)|\\.|=|#|-|\\+|\\\\|/|:|@|%[0-9]{2}|[0-9])', smiles)",
            # padding on the left
            "q2-pad": "def pad_batch(smiles_list, stoi):\n"
                      "    seqs = [[1] + [stoi[t] for t in tokenize(s)] + [2] for s in smiles_list]\n"
                      "    width = max(len(s) for s in seqs)\n"
                      "    ids = torch.zeros((len(seqs), width), dtype=torch.long)\n"
                      "    for row, seq in enumerate(seqs):\n"
                      "        ids[row, width - len(seq):] = torch.tensor(seq)\n"
                      "    return ids, ids != 0",
            # softmax over the query axis
            "q4-attention": "def attention(q, k, v, mask=None):\n"
                            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
                            "    if mask is not None:\n"
                            "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                            "    w = torch.softmax(scores, dim=-2)\n"
                            "    return w @ v, w",
            # the causal mask leaks the next token
            "q5-causal": "def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=1)",
            # forgets optimizer.step(): nothing is trained
            "q7-finetune": _FINETUNE.replace("{STEP}", ""),
        },
        {"q1-tests": "Br are one token", "q2-tests": "on the RIGHT", "q4-tests": "softmax over the keys",
         "q5-tests": "next token", "q7-tests": "optimizer.step()"},
    ),
    "wrong-c": (
        {
            # the mask is inverted (True at padding)
            "q2-pad": "def pad_batch(smiles_list, stoi):\n"
                      "    seqs = [[1] + [stoi[t] for t in tokenize(s)] + [2] for s in smiles_list]\n"
                      "    width = max(len(s) for s in seqs)\n"
                      "    ids = torch.zeros((len(seqs), width), dtype=torch.long)\n"
                      "    for row, seq in enumerate(seqs):\n"
                      "        ids[row, : len(seq)] = torch.tensor(seq)\n"
                      "    return ids, ids == 0",
            # only one bias
            "q3-rnn": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                      "    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T)",
            # the mask is ignored: padding keys get weight
            "q4-attention": "def attention(q, k, v, mask=None):\n"
                            "    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)\n"
                            "    return w @ v, w",
            # upper instead of lower triangle: every position sees the future only
            "q5-causal": "def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).triu()",
            # uniqueness over all generated strings instead of the valid ones
            "q6-metrics": "def generation_metrics(generated, training):\n"
                          "    def canon(s):\n"
                          "        m = Chem.MolFromSmiles(s)\n"
                          "        return Chem.MolToSmiles(m) if m is not None and m.GetNumAtoms() > 0 else None\n"
                          "    valid = [c for c in map(canon, generated) if c is not None]\n"
                          "    distinct = set(valid)\n"
                          "    train = {c for c in map(canon, training) if c is not None}\n"
                          "    return {'validity': len(valid) / len(generated), 'uniqueness': len(distinct) / len(generated),\n"
                          "            'novelty': len(distinct - train) / len(distinct)}",
        },
        {"q2-tests": "False at padding", "q3-tests": "both biases", "q4-tests": "must give weight exactly 0", "q5-tests": "q5 causal_mask",
         "q6-tests": "3 distinct of 4 valid"},
    ),
    "wrong-d": (
        {
            # the empty string counted as a valid molecule (MolFromSmiles('') is not None)
            "q6-metrics": "def generation_metrics(generated, training):\n"
                          "    def canon(s):\n"
                          "        m = Chem.MolFromSmiles(s)\n"
                          "        return Chem.MolToSmiles(m) if m is not None else None\n"
                          "    valid = [c for c in map(canon, generated) if c is not None]\n"
                          "    distinct = set(valid)\n"
                          "    train = {c for c in map(canon, training) if c is not None}\n"
                          "    return {'validity': len(valid) / len(generated), 'uniqueness': len(distinct) / len(valid),\n"
                          "            'novelty': len(distinct - train) / len(distinct)}",
            # W_hh used without transposing (same shape, wrong matrix)
            "q3-rnn": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                      "    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh + b_hh)",
        },
        {"q6-tests": "empty molecule", "q3-tests": "both transposes"},
    ),
}

CORRECT = {
    "alt-a": {
        # a hand-written scanner instead of a regex
        "q1-tokenize": "def tokenize(smiles):\n"
                       "    tokens, i = [], 0\n"
                       "    while i < len(smiles):\n"
                       "        if smiles[i] == '[':\n"
                       "            j = smiles.index(']', i)\n"
                       "            tokens.append(smiles[i:j + 1]); i = j + 1\n"
                       "        elif smiles[i:i + 2] in ('Cl', 'Br'):\n"
                       "            tokens.append(smiles[i:i + 2]); i += 2\n"
                       "        elif smiles[i] == '%':\n"
                       "            tokens.append(smiles[i:i + 3]); i += 3\n"
                       "        else:\n"
                       "            tokens.append(smiles[i]); i += 1\n"
                       "    return tokens",
        # einsum and a large negative number instead of -inf
        "q4-attention": "def attention(q, k, v, mask=None):\n"
                        "    d = q.shape[-1]\n"
                        "    scores = torch.einsum('...id,...jd->...ij', q, k) / d ** 0.5\n"
                        "    if mask is not None:\n"
                        "        scores = torch.where(mask, scores, torch.tensor(-1e30))\n"
                        "    w = scores.softmax(-1)\n"
                        "    return torch.einsum('...ij,...jd->...id', w, v), w",
        # comparison of index grids
        "q5-causal": "def causal_mask(T):\n    i = torch.arange(T)\n    return i[None, :] <= i[:, None]",
    },
    "alt-b": {
        # pad_sequence instead of a loop
        "q2-pad": "from torch.nn.utils.rnn import pad_sequence\n"
                  "def pad_batch(smiles_list, stoi):\n"
                  "    seqs = [torch.tensor([stoi['<bos>']] + [stoi[t] for t in tokenize(s)] + [stoi['<eos>']]) for s in smiles_list]\n"
                  "    ids = pad_sequence(seqs, batch_first=True, padding_value=stoi['<pad>'])\n"
                  "    lengths = torch.tensor([len(x) for x in seqs])\n"
                  "    return ids, torch.arange(ids.shape[1])[None, :] < lengths[:, None]",
        # F.linear
        "q3-rnn": "import torch.nn.functional as F\n"
                  "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                  "    return torch.tanh(F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh))",
        # the course's generative metrics
        "q6-metrics": "from chemdl_utils.generative.metrics import novelty, uniqueness, validity\n"
                      "def generation_metrics(generated, training):\n"
                      "    gen = [s for s in generated]\n"
                      "    return {'validity': float(validity(gen)), 'uniqueness': float(uniqueness(gen)),\n"
                      "            'novelty': float(novelty(gen, list(training)))}",
        # AdamW, more steps, larger batches
        "q7-finetune": _FINETUNE.replace("Adam(", "AdamW(").replace("range(300)", "range(400)")
                       .replace("(32,)", "(64,)").replace("{STEP}", "    optimizer.step()\n"),
    },
}
