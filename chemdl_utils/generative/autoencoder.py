"""A plain (deterministic) autoencoder for vectors: encoder to a small code, decoder back.

Hinton & Salakhutdinov (2006) showed that such a network, with a bottleneck of a few units, can
compress data better than principal component analysis (PCA), because encoder and decoder are
non-linear. Used in the generative part to map molecular descriptors to 2 dimensions.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..device import get_device, seed_everything

__all__ = ["Autoencoder", "train_autoencoder"]


class Autoencoder(nn.Module):
    """``encoder: R^d -> R^code_dim`` and ``decoder: R^code_dim -> R^d``, MLPs with one hidden layer each."""

    def __init__(self, in_dim: int, code_dim: int = 2, hidden: int = 64) -> None:
        super().__init__()
        if in_dim < 1 or code_dim < 1:
            raise ValueError(f"in_dim and code_dim must be >= 1, got {in_dim}, {code_dim}")
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(),
                                     nn.Linear(hidden, code_dim))
        self.decoder = nn.Sequential(nn.Linear(code_dim, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(),
                                     nn.Linear(hidden, in_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``decoder(encoder(x))``."""
        return self.decoder(self.encoder(x))


def train_autoencoder(
    x: np.ndarray | torch.Tensor, code_dim: int = 2, hidden: int = 64, epochs: int = 200, batch_size: int = 256,
    lr: float = 3e-3, seed: int = 0, device: torch.device | str | None = None,
) -> tuple[Autoencoder, list[float]]:
    """Fit an :class:`Autoencoder` to the rows of ``x`` (already standardized) by mean squared error.

    Returns the model (on the CPU, in eval mode) and the training loss per epoch.
    """
    data = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if data.dim() != 2 or len(data) < 2:
        raise ValueError(f"x must be a 2-D array with at least 2 rows, got shape {tuple(data.shape)}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    model = Autoencoder(data.shape[1], code_dim, hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    losses = []
    data = data.to(device)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g).to(device)
        total = 0.0
        for s in range(0, len(data), batch_size):
            batch = data[perm[s:s + batch_size]]
            loss = nn.functional.mse_loss(model(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        sched.step()
        losses.append(total / len(data))
    return model.cpu().eval(), losses
