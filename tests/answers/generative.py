"""Answer suite of the generative assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). Each submission breaks
each test cell at most once. CORRECT: alternative solutions that must earn full marks."""

from __future__ import annotations

EXPECTED_POINTS = {"q1-tests": 3, "q2-tests": 3, "q3-tests": 3, "q4-tests": 4, "q5-tests": 2, "q6-tests": 2,
                   "q7-tests": 3, "q8-written": 2}
MANUAL = {"q8-written"}

_Q3_OK_VALIDITY = (
    "def validity(smiles):\n"
    "    mols = [Chem.MolFromSmiles(s) for s in smiles]\n"
    "    return sum(m is not None and m.GetNumAtoms() > 0 for m in mols) / len(smiles)\n"
)
_Q3_CANON = (
    "def _canon(strings):\n"
    "    out = []\n"
    "    for s in strings:\n"
    "        m = Chem.MolFromSmiles(s)\n"
    "        if m is not None and m.GetNumAtoms() > 0:\n"
    "            out.append(Chem.MolToSmiles(m))\n"
    "    return out\n"
)

WRONG = {
    "wrong-a": (
        {
            # the variance instead of the standard deviation
            "q1-answer": "def reparameterize(mu, logvar, eps):\n    return mu + torch.exp(logvar) * eps\n",
            # KL with the wrong sign
            "q2-answer": "def gaussian_kl(mu, logvar):\n"
                         "    return 0.5 * torch.sum(1 + logvar - mu ** 2 - torch.exp(logvar), dim=1)\n",
            # uniqueness counted on the raw strings, before canonicalization
            "q3-answer": _Q3_OK_VALIDITY + _Q3_CANON +
                         "def uniqueness(smiles):\n"
                         "    valid = [s for s in smiles if Chem.MolFromSmiles(s) is not None and Chem.MolFromSmiles(s).GetNumAtoms() > 0]\n"
                         "    return len(set(valid)) / len(valid)\n"
                         "def novelty(smiles, training):\n"
                         "    g = set(_canon(smiles))\n"
                         "    return len(g - set(_canon(training))) / len(g)\n",
            # schedule indexed off by one (t + 1)
            "q4-answer": "def q_sample(x0, t, noise, betas):\n"
                         "    ab = torch.cumprod(1 - betas, 0)\n"
                         "    a = ab[torch.clamp(t + 1, max=len(betas) - 1)].unsqueeze(1)\n"
                         "    return a.sqrt() * x0 + (1 - a).sqrt() * noise\n",
            # sum instead of mean
            "q5-answer": "def ddpm_loss(eps_pred, noise):\n    return torch.sum((noise - eps_pred) ** 2)\n",
            # bootstraps from the next state even when the episode has ended
            "q6-answer": "def q_update(q_sa, reward, next_max, alpha, gamma, done):\n"
                         "    return float(q_sa + alpha * (reward + gamma * next_max - q_sa))\n",
            # policy gradient without the log: probabilities instead of log-probabilities
            "q7-answer": "def reinforce_loss(log_probs, rewards):\n"
                         "    adv = rewards - rewards.mean()\n"
                         "    return -(adv * torch.exp(log_probs)).mean()\n",
        },
        {"q1-tests": "standard deviation", "q2-tests": "never negative", "q3-tests": "canonical",
         "q4-tests": "off by one", "q5-tests": "not the sum", "q6-tests": "when done", "q7-tests": "log-probabilities"},
    ),
    "wrong-b": (
        {
            # sampling without the reparameterization trick: no gradient reaches mu and logvar
            "q1-answer": "def reparameterize(mu, logvar, eps):\n"
                         "    return torch.normal(mu.detach(), torch.exp(0.5 * logvar.detach()))\n",
            # the factor 1/2 missing
            "q2-answer": "def gaussian_kl(mu, logvar):\n"
                         "    return -torch.sum(1 + logvar - mu ** 2 - torch.exp(logvar), dim=1)\n",
            # novelty without canonicalizing the training set
            "q3-answer": _Q3_OK_VALIDITY + _Q3_CANON +
                         "def uniqueness(smiles):\n"
                         "    c = _canon(smiles)\n"
                         "    return len(set(c)) / len(c)\n"
                         "def novelty(smiles, training):\n"
                         "    g = set(_canon(smiles))\n"
                         "    return len(g - set(training)) / len(g)\n",
            # alpha_t instead of the cumulative product alpha_bar_t
            "q4-answer": "def q_sample(x0, t, noise, betas):\n"
                         "    a = (1 - betas)[t].unsqueeze(1)\n"
                         "    return a.sqrt() * x0 + (1 - a).sqrt() * noise\n",
            # no baseline
            "q7-answer": "def reinforce_loss(log_probs, rewards):\n"
                         "    return -(rewards * log_probs).mean()\n",
        },
        {"q1-tests": "reparameterization", "q2-tests": "1/2", "q3-tests": "canonicalize both",
         "q4-tests": "cumulative", "q7-tests": "baseline"},
    ),
    "wrong-c": (
        {
            # right values, but detached: no gradient flows
            "q1-answer": "def reparameterize(mu, logvar, eps):\n"
                         "    return (mu + torch.exp(0.5 * logvar) * eps).detach()\n",
            # KL averaged over the whole batch: one number instead of one per molecule
            "q2-answer": "def gaussian_kl(mu, logvar):\n"
                         "    return -0.5 * torch.sum(1 + logvar - mu ** 2 - torch.exp(logvar))\n",
            # the empty string counted as a valid molecule (RDKit parses it to an empty Mol)
            "q3-answer": "def validity(smiles):\n"
                         "    return sum(Chem.MolFromSmiles(s) is not None for s in smiles) / len(smiles)\n" + _Q3_CANON +
                         "def uniqueness(smiles):\n"
                         "    c = _canon(smiles)\n"
                         "    return len(set(c)) / len(c)\n"
                         "def novelty(smiles, training):\n"
                         "    g = set(_canon(smiles))\n"
                         "    return len(g - set(_canon(training))) / len(g)\n",
            # TD error with the wrong sign
            "q6-answer": "def q_update(q_sa, reward, next_max, alpha, gamma, done):\n"
                         "    target = reward if done else reward + gamma * next_max\n"
                         "    return float(q_sa - alpha * (target - q_sa))\n",
            # gradient ascent written as descent: the minus sign missing
            "q7-answer": "def reinforce_loss(log_probs, rewards):\n"
                         "    return ((rewards - rewards.mean()) * log_probs).mean()\n",
        },
        {"q1-tests": "no gradient flows", "q2-tests": "one value per row", "q3-tests": "0 atoms",
         "q6-tests": "target", "q7-tests": "minus sign"},
    ),
}

CORRECT = {
    "alt-a": {
        "q1-answer": "def reparameterize(mu, logvar, eps):\n    return torch.addcmul(mu, logvar.mul(0.5).exp(), eps)\n",
        "q2-answer": "def gaussian_kl(mu, logvar):\n"
                     "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)\n",
        "q3-answer": _Q3_CANON +
                     "def validity(smiles):\n"
                     "    return float(len(_canon(smiles)) / len(smiles))\n"
                     "def uniqueness(smiles):\n"
                     "    c = _canon(smiles)\n"
                     "    return float(len(set(c)) / len(c))\n"
                     "def novelty(smiles, training):\n"
                     "    train = set(_canon(training))\n"
                     "    g = set(_canon(smiles))\n"
                     "    return float(sum(s not in train for s in g) / len(g))\n",
        "q4-answer": "def q_sample(x0, t, noise, betas):\n"
                     "    ab, acc = [], 1.0\n"
                     "    for b in betas:\n"
                     "        acc = acc * (1.0 - b)\n"
                     "        ab.append(acc)\n"
                     "    ab = torch.stack(ab)[t].reshape(-1, 1)\n"
                     "    return ab ** 0.5 * x0 + (1.0 - ab) ** 0.5 * noise\n",
        "q7-answer": "def reinforce_loss(log_probs, rewards):\n"
                     "    with torch.no_grad():\n"
                     "        adv = rewards - rewards.mean()\n"
                     "    return (adv * log_probs).mean().neg()\n",
    },
    "alt-b": {
        "q1-answer": "def reparameterize(mu, logvar, eps):\n    std = torch.sqrt(torch.exp(logvar))\n    return eps * std + mu\n",
        "q5-answer": "def ddpm_loss(eps_pred, noise):\n    return torch.nn.functional.mse_loss(eps_pred, noise)\n",
        "q6-answer": "def q_update(q_sa, reward, next_max, alpha, gamma, done):\n"
                     "    return (1 - alpha) * q_sa + alpha * (reward + (0.0 if done else gamma * next_max))\n",
        "q7-answer": "def reinforce_loss(log_probs, rewards):\n"
                     "    b = rewards.sum() / rewards.numel()\n"
                     "    return -torch.dot(rewards - b, log_probs) / rewards.numel()\n",
    },
}
