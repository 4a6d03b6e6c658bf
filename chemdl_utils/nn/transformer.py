"""Attention and a small transformer encoder for SMILES, with masked-token pretraining and fine-tuning.

``scaled_dot_product_attention`` and ``MultiHeadAttention`` are the from-scratch versions the
sequences part checks against ``torch.nn.functional.scaled_dot_product_attention`` and
``torch.nn.MultiheadAttention``. ``SmilesTransformer`` is the "foundation model in miniature":
pretrain it with :func:`pretrain_masked` on unlabelled SMILES, then :func:`finetune_regressor`.
"""

from __future__ import annotations

import copy
import math
import time
import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, seed_everything
from ..progress import progress
from ..train import History

__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "MultiHeadAttention",
    "sinusoidal_positions",
    "SmilesTransformer",
    "mask_tokens",
    "pretrain_masked",
    "finetune_regressor",
]


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T / sqrt(d)) v`` over the last two axes; returns ``(output, weights)``.

    ``q`` is ``[..., T_q, d]``, ``k`` and ``v`` are ``[..., T_k, d]`` and ``[..., T_k, d_v]``.
    ``mask`` (bool, broadcastable to ``[..., T_q, T_k]``) is True where a query **may** attend
    (the convention of ``F.scaled_dot_product_attention``); every query needs one allowed key.
    """
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``BoolTensor[T, T]``, True on and below the diagonal: position ``i`` sees ``0..i`` only."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


class MultiHeadAttention(nn.Module):
    """Multi-head attention from scratch, with ``nn.MultiheadAttention``'s parameter layout
    (``in_proj_weight`` [3E, E], ``in_proj_bias``, ``out_proj``), so the two can share weights.

    ``forward(query, key, value, key_padding_mask=None, attn_mask=None)`` takes batch-first
    ``[B, T, E]`` tensors; ``key_padding_mask`` ``[B, T_k]`` is True at **padding** and
    ``attn_mask`` ``[T_q, T_k]`` is True where attention is **forbidden** (torch's conventions).
    Returns ``(output [B, T_q, E], weights averaged over heads [B, T_q, T_k])``.
    """

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, query, key, value, key_padding_mask=None, attn_mask=None):  # noqa: ANN001, ANN201
        b, t_q, e = query.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def heads(x, w, bias):  # [B, T, E] -> [B, heads, T, head_dim]
            return F.linear(x, w, bias).view(b, -1, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(query, w_q, b_q), heads(key, w_k, b_k), heads(value, w_v, b_v)
        allowed = torch.ones(t_q, k.shape[2], dtype=torch.bool, device=query.device)
        if attn_mask is not None:
            allowed = allowed & ~attn_mask
        allowed = allowed.expand(b, 1, t_q, k.shape[2])
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask[:, None, None, :]
        out, weights = scaled_dot_product_attention(q, k, v, allowed)
        out = out.transpose(1, 2).reshape(b, t_q, e)
        return self.out_proj(out), weights.mean(dim=1)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The sinusoidal positional encoding of Vaswani et al. (2017): ``[length, dim]``,
    ``PE[p, 2i] = sin(p / 10000^(2i/dim))``, ``PE[p, 2i+1] = cos(...)``."""
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)
    return pe


class SmilesTransformer(nn.Module):
    """Token embedding + sinusoidal positions + ``nn.TransformerEncoder``, with two heads:
    ``mlm_logits(ids)`` ``[B, T, V]`` for masked-token pretraining and ``forward(ids)`` ``[B]``, a
    regression output from the mean of the non-padding token states."""

    def __init__(self, vocab_size: int, d_model: int = 64, num_heads: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 128, dropout: float = 0.1, max_len: int = 128, pad_id: int = 0):
        super().__init__()
        self.pad_id, self.vocab_size = pad_id, vocab_size
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.mlm_head = nn.Linear(d_model, vocab_size)
        self.regression_head = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, 1))

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """Token states ``[B, T, d_model]`` (padding masked out of the attention)."""
        if ids.shape[1] > self.positions.shape[0]:
            raise ValueError(f"sequence of {ids.shape[1]} tokens is longer than max_len={self.positions.shape[0]}")
        x = self.embedding(ids) * math.sqrt(self.embedding.embedding_dim) + self.positions[: ids.shape[1]]
        return self.encoder(x, src_key_padding_mask=ids == self.pad_id)

    def mlm_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Token logits ``[B, T, V]`` for masked-token prediction."""
        return self.mlm_head(self.encode(ids))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """One number per molecule ``[B]``: the regression head on the mean non-padding state."""
        h = self.encode(ids)
        keep = (ids != self.pad_id).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1)
        return self.regression_head(pooled).squeeze(-1)


def mask_tokens(ids: torch.Tensor, mask_id: int, vocab_size: int, prob: float = 0.15,
                n_special: int = 4, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT-style masking: choose ``prob`` of the ordinary tokens (ids >= ``n_special``); of those
    80 % become ``mask_id``, 10 % a random ordinary token, 10 % stay. Returns ``(inputs, targets)``
    with ``targets = -100`` (ignored by cross-entropy) where nothing was chosen."""
    ordinary = ids >= n_special
    chosen = (torch.rand(ids.shape, generator=generator) < prob) & ordinary
    targets = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = mask_id
    randomize = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[randomize] = torch.randint(n_special, vocab_size, ids.shape, generator=generator)[randomize]
    return inputs, targets


def pretrain_masked(model: SmilesTransformer, ids: torch.Tensor, mask_id: int, epochs: int = 1,
                    batch_size: int = 128, lr: float = 1e-3, seed: int = 0, device=None,  # noqa: ANN001
                    show_progress: bool = True) -> History:
    """Masked-token pretraining on encoded SMILES ``ids`` ``[N, T]`` (mask id = ``<unk>`` works);
    ``History.train_loss``: cross-entropy on the masked tokens per epoch."""
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    history, start = History(device=str(device)), time.perf_counter()
    for epoch in progress(range(epochs), desc="pretraining", enabled=show_progress):
        model.train()
        order = torch.randperm(len(ids), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(ids), batch_size):
            batch = ids[order[i : i + batch_size]]
            batch = batch[:, : int((batch != model.pad_id).sum(1).max())]
            inputs, targets = mask_tokens(batch, mask_id, model.vocab_size, generator=gen)
            logits = model.mlm_logits(inputs.to(device))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.to(device).reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total, count = total + float(loss.detach()), count + 1
        history.train_loss.append(total / count)
        history.epochs_run = epoch + 1
    history.best_epoch, history.seconds = history.epochs_run, time.perf_counter() - start
    model.eval()
    return history


def finetune_regressor(model: SmilesTransformer, ids: torch.Tensor, y: torch.Tensor, steps: int = 200,
                       batch_size: int = 32, lr: float = 1e-3, seed: int = 0, device=None) -> SmilesTransformer:  # noqa: ANN001
    """Train a copy of ``model`` (all weights) on ``(ids, y)`` with MSE for ``steps`` mini-batch
    steps; returns the copy (``model`` itself is left unchanged, so one pretrained network can be
    fine-tuned many times)."""
    if len(ids) != len(y) or len(ids) == 0:
        raise ValueError(f"ids and y must be non-empty and of equal length, got {len(ids)} and {len(y)}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    tuned = copy.deepcopy(model).to(device).train()
    opt = torch.optim.AdamW(tuned.parameters(), lr=lr)
    y = y.float()
    for _ in range(steps):
        rows = torch.randint(len(ids), (min(batch_size, len(ids)),), generator=gen)
        batch = ids[rows]
        batch = batch[:, : int((batch != tuned.pad_id).sum(1).max())].to(device)
        loss = F.mse_loss(tuned(batch), y[rows].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
        opt.step()
    return tuned.eval()

