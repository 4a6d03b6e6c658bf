"""Reinforcement learning for molecule design: tabular Q-learning and REINFORCE on a SMILES generator.

* :class:`ChainBuildingEnv`: a tiny environment; a state is the chain of heavy atoms built so far
  (a SMILES such as ``"CNO"``), an action appends an atom or stops, and the reward, given when
  the episode ends, scores the finished molecule (closeness of its Crippen logP to a target).
  Small enough for a Q table, and for an exhaustive search that checks what Q-learning found.
* :func:`q_update` is the Bellman (Q-learning) update of Watkins & Dayan (1992).
* :func:`reinforce_loss` and :func:`reinforce_finetune`: policy gradient (Williams 1992) on a
  pretrained :class:`~chemdl_utils.text.SmilesLanguageModel`, with a batch-mean baseline and a
  prior-likelihood term that keeps the agent close to what it learned from real molecules
  (the idea of REINVENT, Olivecrona et al. 2017, written as a KL-regularized reward).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..device import seed_everything
from .metrics import canonicalize

__all__ = [
    "ChainBuildingEnv",
    "q_update",
    "q_learning",
    "greedy_policy",
    "logp_window_reward",
    "reinforce_loss",
    "reinforce_finetune",
    "ReinforceResult",
]


def _crippen_logp(smiles: str) -> float:
    from rdkit import Chem
    from rdkit.Chem import Crippen

    return float(Crippen.MolLogP(Chem.MolFromSmiles(smiles)))


@dataclass
class ChainBuildingEnv:
    """Build an acyclic chain of heavy atoms, one atom per step, at most ``max_atoms`` atoms.

    Actions are indices into ``atoms + ("stop",)``; "stop" is not allowed in the empty state.
    Reward (only at the end): ``-|logP - target_logp|`` of the finished molecule (Crippen logP).
    """

    atoms: tuple[str, ...] = ("C", "N", "O")
    max_atoms: int = 5
    target_logp: float = 0.5

    @property
    def actions(self) -> tuple[str, ...]:
        return (*self.atoms, "stop")

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    def states(self) -> list[str]:
        """Every reachable state: chains of 0 .. ``max_atoms`` atoms (the empty string is the start)."""
        return ["".join(p) for k in range(self.max_atoms + 1) for p in itertools.product(self.atoms, repeat=k)
                if self.is_reachable("".join(p))]

    def allowed(self, state: str) -> list[int]:
        """Action indices allowed in ``state``: no "stop" at the start, and no heteroatom after a
        heteroatom (no peroxides, hydrazines or N-O bonds: a chemist's mask on the action space)."""
        if state == "":
            return list(range(len(self.atoms)))
        if state[-1] != "C":
            return [i for i, a in enumerate(self.actions) if a in ("C", "stop")]
        return list(range(self.n_actions))

    def is_reachable(self, state: str) -> bool:
        """True if ``state`` can be built under :meth:`allowed` (no two adjacent heteroatoms)."""
        return all(a == "C" or b == "C" for a, b in zip(state, state[1:]))

    def reward(self, smiles: str) -> float:
        """Score of a finished molecule."""
        return -abs(_crippen_logp(smiles) - self.target_logp)

    def step(self, state: str, action: int) -> tuple[str, float, bool]:
        """``(next_state, reward, done)`` after taking ``action`` in ``state``."""
        if action not in self.allowed(state):
            raise ValueError(f"action {action} ({self.actions[action] if 0 <= action < self.n_actions else '?'}) "
                             f"is not allowed in state {state!r}")
        if self.actions[action] == "stop":
            return state, self.reward(state), True
        nxt = state + self.actions[action]
        if len(nxt) >= self.max_atoms:
            return nxt, self.reward(nxt), True
        return nxt, 0.0, False

    def best_by_enumeration(self) -> tuple[str, float]:
        """The best finished molecule and its reward, by scoring every non-empty chain."""
        return max(((s, self.reward(s)) for s in self.states() if s and self.is_reachable(s)), key=lambda x: x[1])


def q_update(q_sa: float, reward: float, next_max: float, alpha: float, gamma: float, done: bool) -> float:
    """One Q-learning step: ``Q(s,a) + alpha * (r + gamma * max_a' Q(s',a') - Q(s,a))`` (no bootstrap when done)."""
    target = reward if done else reward + gamma * next_max
    return q_sa + alpha * (target - q_sa)


def q_learning(
    env: ChainBuildingEnv, episodes: int = 3000, alpha: float = 0.2, gamma: float = 1.0,
    epsilon: float = 0.3, seed: int = 0,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Epsilon-greedy tabular Q-learning. Returns the table ``{state: Q[n_actions]}`` (disallowed actions
    are ``-inf``) and the final reward of every episode."""
    rng = np.random.default_rng(seed)
    Q = {s: np.array([0.0 if a in env.allowed(s) else -np.inf for a in range(env.n_actions)]) for s in env.states()}
    returns = []
    for _ in range(episodes):
        state, done, r = "", False, 0.0
        while not done:
            allowed = env.allowed(state)
            a = int(rng.choice(allowed)) if rng.random() < epsilon else int(np.argmax(Q[state]))
            nxt, r, done = env.step(state, a)
            next_max = 0.0 if done else float(np.max(Q[nxt]))
            Q[state][a] = q_update(Q[state][a], r, next_max, alpha, gamma, done)
            state = nxt
        returns.append(r)
    return Q, returns


def greedy_policy(env: ChainBuildingEnv, Q: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """The greedy rollout from the empty state: list of ``(state, action taken)``; the last state is the molecule."""
    state, path = "", []
    for _ in range(env.max_atoms + 1):
        a = int(np.argmax(Q[state]))
        path.append((state, env.actions[a]))
        state, _, done = env.step(state, a)
        if done:
            if env.actions[a] != "stop":
                path.append((state, "(full)"))
            break
    return path


def logp_window_reward(smiles: Sequence[str], low: float = 4.0, high: float = 5.0, width: float = 1.0) -> np.ndarray:
    """1 for a valid molecule whose Crippen logP lies in ``[low, high]``, ``exp(-(distance / width)^2)`` outside,
    0 for an invalid string."""
    out = np.zeros(len(smiles))
    for i, s in enumerate(smiles):
        c = canonicalize(s)
        if c is None:
            continue
        lp = _crippen_logp(c)
        d = max(low - lp, 0.0, lp - high)
        out[i] = math.exp(-((d / width) ** 2))
    return out


def reinforce_loss(log_probs: torch.Tensor, rewards: torch.Tensor, baseline: torch.Tensor | float) -> torch.Tensor:
    """REINFORCE with a baseline: ``-mean((R - b) * log pi(x))``; the advantage carries no gradient."""
    if log_probs.shape != rewards.shape:
        raise ValueError(f"log_probs and rewards must have the same shape, got {tuple(log_probs.shape)}, {tuple(rewards.shape)}")
    advantage = (rewards - baseline).detach()
    return -(advantage * log_probs).mean()


@dataclass
class ReinforceResult:
    """Per-step curves of a fine-tuning run and every generated (SMILES, reward)."""

    agent: torch.nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    generated: list[tuple[str, float]] = field(default_factory=list)


def reinforce_finetune(
    prior: torch.nn.Module,
    vocab,
    reward_fn: Callable[[list[str]], np.ndarray],
    steps: int = 100,
    batch_size: int = 64,
    lr: float = 5e-4,
    prior_weight: float = 0.02,
    max_len: int = 80,
    seed: int = 0,
) -> ReinforceResult:
    """Fine-tune a copy of ``prior`` (a SMILES language model) with REINFORCE.

    Each step samples ``batch_size`` SMILES, scores them with ``reward_fn`` and uses the
    KL-regularized return ``R = reward + prior_weight * (log p_prior(x) - log p_agent(x))``
    with the batch mean of ``R`` as baseline. History per step: ``reward`` (mean task reward),
    ``validity``, ``uniqueness`` (of the valid ones), ``diversity`` (internal diversity),
    ``prior_loglik`` (mean log p_prior of the samples).
    """
    from .metrics import internal_diversity

    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    agent = copy.deepcopy(prior).train()
    prior.eval()
    opt = torch.optim.Adam(agent.parameters(), lr=lr)
    hist: dict[str, list[float]] = {k: [] for k in ("reward", "validity", "uniqueness", "diversity", "prior_loglik")}
    generated: list[tuple[str, float]] = []
    device = next(agent.parameters()).device
    for _ in range(steps):
        ids = agent.sample_ids(batch_size, vocab, max_len=max_len, generator=g).to(device)
        agent.train()
        smiles = ["".join(vocab.decode(row)) for row in ids.cpu()]
        reward = reward_fn(smiles)
        logp = agent.log_likelihood(ids)
        with torch.no_grad():
            logp_prior = prior.log_likelihood(ids)
        R = torch.as_tensor(reward, dtype=torch.float32, device=device) + prior_weight * (logp_prior - logp.detach())
        loss = reinforce_loss(logp, R, R.mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(agent.parameters(), 1.0)
        opt.step()
        canon = [canonicalize(s) for s in smiles]
        valid = [c for c in canon if c is not None]
        hist["reward"].append(float(np.mean(reward)))
        hist["validity"].append(len(valid) / len(smiles))
        hist["uniqueness"].append(len(set(valid)) / len(valid) if valid else float("nan"))
        hist["diversity"].append(internal_diversity(valid) if len(valid) >= 2 else float("nan"))
        hist["prior_loglik"].append(float(logp_prior.mean()))
        generated += [(c, float(r)) for c, r in zip(canon, reward) if c is not None]
    agent.eval()
    return ReinforceResult(agent, hist, generated)
