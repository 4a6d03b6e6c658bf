"""Generative adversarial networks (Goodfellow et al. 2014) for small vectors: 2-D toys and VAE latents.

A generator ``G`` maps noise ``u ~ N(0, I)`` to a sample; a discriminator ``D`` outputs a logit
"real vs generated". They play a two-player game: ``D`` minimizes the binary cross-entropy of
telling real from generated, ``G`` minimizes ``-log sigmoid(D(G(u)))`` (the "non-saturating"
loss). Used on a ring of Gaussians (where mode collapse can be counted) and in the latent
space of a molecular VAE (the "latent GAN" of Prykhodko et al. 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, seed_everything

__all__ = ["ring_of_gaussians", "mode_coverage", "coverage", "GAN", "train_gan"]


def ring_of_gaussians(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(samples[n, 2], centers[modes, 2])``: equal mixture of Gaussians on a circle (a standard GAN toy)."""
    if n < 1 or modes < 1 or std <= 0:
        raise ValueError(f"need n >= 1, modes >= 1, std > 0; got {n}, {modes}, {std}")
    rng = np.random.default_rng(seed)
    angles = 2 * math.pi * np.arange(modes) / modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    which = rng.integers(0, modes, size=n)
    x = centers[which] + std * rng.standard_normal((n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(centers, dtype=torch.float32)


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float, min_fraction: float = 0.02) -> dict[str, float]:
    """How many mixture modes a sampler covers.

    A sample is "good" when it lies within ``3 * std`` of a centre. Returns ``modes_covered``
    (modes holding at least ``min_fraction`` of all samples), ``good_fraction`` and
    ``mode_entropy`` (entropy, in nats, of the good samples' mode histogram; ``log(modes)`` when
    they are spread evenly, 0 when all sit in one mode).
    """
    d = torch.cdist(samples.float(), centers.float())
    nearest = d.argmin(dim=1)
    good = d.min(dim=1).values < 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers)).double()
    frac = counts / max(len(samples), 1)
    p = counts / counts.sum() if counts.sum() > 0 else counts
    entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
    return {"modes_covered": float((frac >= min_fraction).sum()), "good_fraction": float(good.double().mean()),
            "mode_entropy": entropy}


def coverage(real: torch.Tensor, generated: torch.Tensor, k: int = 5) -> float:
    """Fraction of ``real`` points with a generated point inside their k-nearest-neighbour ball
    (the "coverage" of Naeem et al. 2020): 1 when the samples reach every region of the data,
    low when a generator has collapsed onto part of it."""
    if real.dim() != 2 or generated.dim() != 2 or real.shape[1] != generated.shape[1] or len(real) <= k:
        raise ValueError(f"need [N, D] tensors with the same D and N > k, got {tuple(real.shape)}, {tuple(generated.shape)}")
    radius = torch.cdist(real, real).kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0
    nearest = torch.cdist(real, generated).min(dim=1).values
    return float((nearest <= radius).double().mean())


def _mlp(i: int, h: int, o: int, layers: int = 2) -> nn.Sequential:
    mods: list[nn.Module] = []
    d = i
    for _ in range(layers):
        mods += [nn.Linear(d, h), nn.LeakyReLU(0.2)]
        d = h
    return nn.Sequential(*mods, nn.Linear(d, o))


@dataclass
class GAN:
    """A trained generator/discriminator pair and its loss history (per step)."""

    generator: nn.Module
    discriminator: nn.Module
    noise_dim: int
    history: dict[str, list[float]] = field(default_factory=dict)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated vectors (on the CPU)."""
        device = next(self.generator.parameters()).device
        u = torch.randn(n, self.noise_dim, generator=generator).to(device)
        self.generator.eval()
        return self.generator(u).cpu()


def train_gan(
    data: torch.Tensor,
    steps: int = 2000,
    noise_dim: int = 8,
    hidden: int = 64,
    batch_size: int = 128,
    lr: float = 1e-3,
    d_steps: int = 1,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> GAN:
    """Train a GAN on the rows of ``data`` ``[N, D]`` (Adam, betas (0.5, 0.999), non-saturating loss).

    ``d_steps`` discriminator updates per generator update. History: ``d_loss``, ``g_loss`` per step
    and ``d_real``, ``d_fake`` (mean discriminator probability on real and generated batches).
    """
    if data.dim() != 2 or len(data) < 2:
        raise ValueError(f"data must be a [N, D] tensor with N >= 2, got shape {tuple(data.shape)}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    dim = data.shape[1]
    G, D = _mlp(noise_dim, hidden, dim).to(device), _mlp(dim, hidden, 1).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    hist: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    data = data.float()
    for _ in range(steps):
        for _ in range(d_steps):
            real = data[torch.randint(len(data), (batch_size,), generator=g)].to(device)
            fake = G(torch.randn(batch_size, noise_dim, generator=g).to(device)).detach()
            lr_, lf = D(real), D(fake)
            d_loss = F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_)) + \
                F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        lf = D(G(torch.randn(batch_size, noise_dim, generator=g).to(device)))
        g_loss = F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))  # = -log sigmoid(D(G(u)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        hist["d_loss"].append(float(d_loss.detach()))
        hist["g_loss"].append(float(g_loss.detach()))
        hist["d_real"].append(float(torch.sigmoid(lr_).mean().detach()))
        hist["d_fake"].append(float(torch.sigmoid(lf).mean().detach()))
    G.eval()
    D.eval()
    return GAN(G, D, noise_dim, hist)
