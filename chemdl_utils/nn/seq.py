"""Recurrent sequence models: a GRU encoder-decoder with and without attention, and its training loop.

The encoder reads a source token sequence; the decoder writes the target one token at a time.
Without attention the decoder sees the source only through one **context vector** (the encoder's
last hidden state: its initial state and an extra input at every step, as in Cho et al. 2014).
With attention (Luong et al. 2015, "general" score) every decoder step also takes a weighted
average of all encoder states, with weights computed from the current decoder state::

    score(s_t, h_j) = s_t^T W_a h_j,   alpha_tj = softmax_j(score),   c_t = sum_j alpha_tj h_j
    output_t = tanh(W_c [s_t; c_t])  ->  logits

>>> model = Seq2Seq(len(vocab), attention=True)
>>> history = train_seq2seq(model, sources, targets, vocab, epochs=5)
>>> predictions, attention = model.greedy_decode(src_ids, src_lengths, vocab)
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..device import get_device, seed_everything
from ..progress import progress
from ..train import History
from ..text.decoding import decode_tokens
from ..text.steps import clipped_step

__all__ = ["Seq2Seq", "train_seq2seq", "seq2seq_loss", "padding_mask"]


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``BoolTensor[B, T]``: True at real tokens, False at padding (``t >= lengths[b]``)."""
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be 1-D, got shape {tuple(lengths.shape)}")
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class Seq2Seq(nn.Module):
    """GRU encoder-decoder over one shared vocabulary; ``attention=True`` adds Luong attention.

    ``forward(src, src_lengths, tgt_in)`` returns logits ``[B, T_tgt, V]`` for teacher forcing
    (``tgt_in`` starts with <bos>); ``return_attention=True`` also returns the attention weights
    ``[B, T_tgt, T_src]`` (``None`` without attention). Padding in ``src`` is never attended to.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 128,
                 attention: bool = False, pad_id: int = 0):
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size < 5:
            raise ValueError(f"vocab_size must be an int >= 5, got {vocab_size!r}")
        self.vocab_size, self.pad_id, self.use_attention = vocab_size, pad_id, bool(attention)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.decoder = nn.GRU(embedding_dim + hidden_size, hidden_size, batch_first=True)
        if self.use_attention:
            self.w_a = nn.Linear(hidden_size, hidden_size, bias=False)
            self.w_c = nn.Linear(2 * hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states ``[B, T_src, H]`` (zeros at padding) and the context vector ``[B, H]``."""
        if src.dim() != 2 or src_lengths.shape != src.shape[:1]:
            raise ValueError(f"src must be [B, T] and src_lengths [B]; got {tuple(src.shape)} and {tuple(src_lengths.shape)}")
        packed = pack_padded_sequence(self.embedding(src), src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return out, h_n[-1]

    def _decode(self, tgt_in: torch.Tensor, enc_out: torch.Tensor, context: torch.Tensor,
                src_mask: torch.Tensor, hidden: torch.Tensor | None = None):
        emb = self.embedding(tgt_in)
        steps = torch.cat([emb, context.unsqueeze(1).expand(-1, emb.shape[1], -1)], dim=-1)
        hidden = context.unsqueeze(0) if hidden is None else hidden
        states, hidden = self.decoder(steps, hidden)
        weights = None
        if self.use_attention:
            scores = self.w_a(states) @ enc_out.transpose(1, 2)                      # [B, T_tgt, T_src]
            scores = scores.masked_fill(~src_mask.unsqueeze(1), float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            attended = weights @ enc_out                                              # [B, T_tgt, H]
            states = torch.tanh(self.w_c(torch.cat([states, attended], dim=-1)))
        return self.head(states), hidden, weights

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                return_attention: bool = False):  # noqa: ANN201
        """Teacher-forced logits ``[B, T_tgt, V]`` (and attention weights if asked)."""
        enc_out, context = self.encode(src, src_lengths)
        logits, _, weights = self._decode(tgt_in, enc_out, context, padding_mask(src_lengths, src.shape[1]))
        return (logits, weights) if return_attention else logits

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, src_lengths: torch.Tensor, vocab, max_len: int = 80):
        """Greedy decoding: ``(ids [B, L] without <bos>, attention [B, L, T_src] or None)``.
        Decode a row with ``vocab.decode`` (it stops at <eos>)."""
        was_training = self.training
        self.eval()
        enc_out, context = self.encode(src, src_lengths)
        mask = padding_mask(src_lengths, src.shape[1])
        hidden, maps = None, []

        def step(token: torch.Tensor) -> torch.Tensor:
            nonlocal hidden
            logits, hidden, weights = self._decode(token, enc_out, context, mask, hidden)
            if weights is not None:
                maps.append(weights)
            return logits[:, -1]

        start = torch.full((src.shape[0], 1), vocab.bos_id, dtype=torch.long, device=src.device)
        try:
            ids = decode_tokens(step, start, vocab.eos_id, vocab.pad_id, max_len,
                                choose=lambda logits: logits.argmax(-1, keepdim=True))
        finally:
            self.train(was_training)
        return ids[:, 1:], (torch.cat(maps, 1) if maps else None)


def seq2seq_loss(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target token (nats); ``tgt`` = <bos> ... <eos> <pad>..., pads ignored."""
    logits = model(src, src_lengths, tgt[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt[:, 1:].reshape(-1), ignore_index=model.pad_id)


def train_seq2seq(
    model: Seq2Seq,
    sources: Sequence[str],
    targets: Sequence[str],
    vocab,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    device: torch.device | str | None = None,
    grad_clip: float = 1.0,
    seed: int = 0,
    show_progress: bool = True,
) -> History:
    """Train ``model`` to map each SMILES in ``sources`` to the one in ``targets`` (teacher forcing,
    Adam); ``History.train_loss`` is the mean cross-entropy per target token of each epoch."""
    from ..text import encode_smiles

    if len(sources) != len(targets) or not len(sources):
        raise ValueError(f"sources and targets must be non-empty and of equal length, got {len(sources)} and {len(targets)}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    src, src_len = encode_smiles(list(sources), vocab)
    tgt, tgt_len = encode_smiles(list(targets), vocab)
    src, src_len = src[:, 1:], src_len - 1            # the source needs no <bos>
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = History(device=str(device))
    start = time.perf_counter()
    for epoch in progress(range(epochs), desc="epochs", enabled=show_progress):
        model.train()
        total, count = 0.0, 0
        order = rng.permutation(len(src))
        for i in range(0, len(order), batch_size):
            rows = torch.as_tensor(order[i : i + batch_size])
            s_w, t_w = int(src_len[rows].max()), int(tgt_len[rows].max())
            s, sl, t = src[rows, :s_w].to(device), src_len[rows], tgt[rows, :t_w].to(device)
            loss = seq2seq_loss(model, s, sl, t)
            value = clipped_step(model, opt, loss, grad_clip, epoch, lr)
            n_tok = int((t[:, 1:] != vocab.pad_id).sum())
            total, count = total + value * n_tok, count + n_tok
        history.train_loss.append(total / count)
        history.lr.append(lr)
        history.epochs_run = epoch + 1
    history.best_epoch = history.epochs_run
    history.seconds = time.perf_counter() - start
    model.eval()
    return history
