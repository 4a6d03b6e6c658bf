"""One optimisation step of the sequence models' training loops (language model, seq2seq)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..train import NonFiniteLossError

__all__ = ["clipped_step"]


def clipped_step(model: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float,
                 epoch: int, lr: float) -> float:
    """Backpropagate ``loss``, clip the gradient norm to ``grad_clip`` and step ``opt``; return the
    loss as a float. A NaN or infinite loss raises :class:`NonFiniteLossError` (naming ``epoch``, 0-based,
    and ``lr``) before the weights are touched."""
    value = float(loss.detach())
    if not math.isfinite(value):
        raise NonFiniteLossError(f"loss became {value} in epoch {epoch + 1}; lower lr (now {lr})")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return value
