"""A recurrent SMILES language model: embedding -> LSTM/GRU -> linear, trained on next-token prediction.

The model reads ``<bos> t1 t2 ... tn`` and at every position predicts the next token; sampling
feeds its own draws back until it emits ``<eos>``. Used by the sequences part (language model,
temperature) and the generative part (reinforcement learning on a SMILES generator).

>>> from chemdl_utils.text import Vocabulary, SmilesLanguageModel, train_language_model
>>> vocab = Vocabulary.from_smiles(smiles)
>>> model = SmilesLanguageModel(len(vocab))
>>> history = train_language_model(model, smiles, vocab, epochs=3, batch_size=128, lr=2e-3)
>>> model.sample(10, vocab, temperature=0.8)
"""

from __future__ import annotations

import time
from typing import Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, seed_everything
from ..progress import progress
from .decoding import decode_tokens, next_token
from .steps import clipped_step
from ..train import History
from .tokens import Vocabulary, encode_smiles

__all__ = ["SmilesLanguageModel", "train_language_model", "language_model_loss", "evaluate_language_model"]


class SmilesLanguageModel(nn.Module):
    """Token embedding, a recurrent core (``cell="lstm"`` or ``"gru"``) and a linear read-out.

    ``forward(ids)`` maps ``LongTensor[B, T]`` to next-token logits ``[B, T, vocab_size]``
    (position ``t`` predicts token ``t + 1``). ``pad_id`` is the vocabulary's padding id (0 for a
    :class:`~chemdl_utils.text.Vocabulary`); its embedding is zero and it is never a target.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 64,
        hidden_size: int = 256,
        num_layers: int = 2,
        cell: Literal["lstm", "gru"] = "lstm",
        dropout: float = 0.0,
        pad_id: int = 0,
    ):
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size < 5:
            raise ValueError(f"vocab_size must be an int >= 5 (4 special tokens + at least one), got {vocab_size!r}")
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.vocab_size, self.pad_id, self.cell = vocab_size, pad_id, cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(
            embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, hidden: object = None, return_hidden: bool = False):  # noqa: ANN201
        """Logits ``[B, T, V]`` for ``ids`` ``[B, T]``; ``(logits, hidden)`` when ``return_hidden``."""
        if ids.dim() != 2:
            raise ValueError(f"ids must have shape [batch, time], got {tuple(ids.shape)}")
        out, hidden = self.rnn(self.embedding(ids), hidden)
        logits = self.head(self.dropout(out))
        return (logits, hidden) if return_hidden else logits

    def log_likelihood(self, ids: torch.Tensor) -> torch.Tensor:
        """Sum of the log-probabilities of tokens ``ids[:, 1:]`` given their prefixes: ``Tensor[B]``.

        ``ids`` start with <bos> (as :func:`~chemdl_utils.text.encode_smiles` makes them); padding
        positions are masked out. Differentiable (use it for REINFORCE or maximum likelihood).
        """
        logits = self(ids[:, :-1])
        targets = ids[:, 1:]
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return (logp * (targets != self.pad_id)).sum(dim=1)

    @torch.no_grad()
    def sample_ids(
        self,
        n: int,
        vocab: Vocabulary,
        temperature: float = 1.0,
        max_len: int = 100,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``n`` sampled id sequences ``LongTensor[n, L]``: <bos> first, <eos> where a sequence
        ended, <pad> after it; a sequence still running after ``max_len`` tokens is cut there
        (no <eos>). ``temperature`` divides the logits: < 1 sharpens, > 1 flattens the distribution."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        if len(vocab) != self.vocab_size:
            raise ValueError(f"vocab has {len(vocab)} tokens but the model was built for {self.vocab_size}")
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        hidden = None

        def step(token: torch.Tensor) -> torch.Tensor:
            nonlocal hidden
            logits, hidden = self(token, hidden, return_hidden=True)
            return logits[:, -1]

        start = torch.full((n, 1), vocab.bos_id, dtype=torch.long, device=device)
        try:
            return decode_tokens(step, start, vocab.eos_id, vocab.pad_id, max_len,
                                 choose=lambda logits: next_token(logits, temperature, generator))
        finally:
            self.train(was_training)

    def sample(
        self,
        n: int,
        vocab: Vocabulary,
        temperature: float = 1.0,
        max_len: int = 100,
        generator: torch.Generator | None = None,
    ) -> list[str]:
        """``n`` sampled SMILES strings (not checked for validity; see :meth:`sample_ids`)."""
        ids = self.sample_ids(n, vocab, temperature=temperature, max_len=max_len, generator=generator)
        return ["".join(vocab.decode(row)) for row in ids.cpu()]


def language_model_loss(model: nn.Module, ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Mean next-token cross-entropy (nats per token) of ``model`` on ``ids`` ``[B, T]``, pads ignored."""
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1), ignore_index=pad_id)


def _batches(ids: torch.Tensor, lengths: torch.Tensor, batch_size: int, rng: np.random.Generator | None):
    order = np.arange(len(ids)) if rng is None else rng.permutation(len(ids))
    for start in range(0, len(order), batch_size):
        rows = torch.as_tensor(order[start : start + batch_size])
        width = int(lengths[rows].max())
        yield ids[rows, :width]


def train_language_model(
    model: SmilesLanguageModel,
    smiles: Sequence[str],
    vocab: Vocabulary,
    epochs: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    device: torch.device | str | None = None,
    val_smiles: Sequence[str] | None = None,
    max_len: int | None = None,
    grad_clip: float = 1.0,
    seed: int = 0,
    max_seconds: float | None = None,
    show_progress: bool = True,
) -> History:
    """Train ``model`` on next-token prediction over ``smiles`` with Adam; return a :class:`History`.

    ``History.train_loss`` / ``val_loss`` are mean cross-entropies per token (nats) per epoch. Each
    batch is padded only to its longest member. ``max_len`` drops nothing: longer SMILES raise (see
    :func:`encode_smiles`). ``max_seconds`` stops after the epoch in which the budget ran out (noted
    in ``History.notes``). The model ends on the device it was trained on.
    """
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"epochs and batch_size must be >= 1 and lr > 0, got {epochs}, {batch_size}, {lr}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    ids, lengths = encode_smiles(list(smiles), vocab, max_len=max_len)
    val = encode_smiles(list(val_smiles), vocab, max_len=max_len) if val_smiles is not None else None
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = History(device=str(device))
    start = time.perf_counter()
    for epoch in progress(range(epochs), desc="epochs", enabled=show_progress):
        model.train()
        total, count = 0.0, 0
        for batch in _batches(ids, lengths, batch_size, rng):
            batch = batch.to(device)
            loss = language_model_loss(model, batch, vocab.pad_id)
            value = clipped_step(model, opt, loss, grad_clip, epoch, lr)
            n_tok = int((batch[:, 1:] != vocab.pad_id).sum())
            total, count = total + value * n_tok, count + n_tok
        history.train_loss.append(total / count)
        history.lr.append(lr)
        if val is not None:
            history.val_loss.append(evaluate_language_model(model, val[0], val[1], vocab.pad_id, batch_size, device))
        history.epochs_run = epoch + 1
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            history.notes.append(f"stopped after epoch {epoch + 1}: max_seconds={max_seconds} reached")
            break
    history.best_epoch = history.epochs_run
    history.best_val_loss = history.val_loss[-1] if history.val_loss else None
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


@torch.no_grad()
def evaluate_language_model(
    model: nn.Module, ids: torch.Tensor, lengths: torch.Tensor, pad_id: int = 0, batch_size: int = 256,
    device: torch.device | str | None = None,
) -> float:
    """Mean next-token cross-entropy per token (nats) of ``model`` on encoded ``ids``."""
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    total, count = 0.0, 0
    for batch in _batches(ids, lengths, batch_size, None):
        batch = batch.to(device)
        n_tok = int((batch[:, 1:] != pad_id).sum())
        total += float(language_model_loss(model, batch, pad_id)) * n_tok
        count += n_tok
    model.train(was_training)
    return total / count
