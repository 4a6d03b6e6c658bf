"""Denoising diffusion (DDPM, Ho et al. 2020) from scratch for vectors: 2-D toys and VAE latents.

Forward process: ``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` with ``abar_t = prod_{s<=t}
(1 - beta_s)``; steps are indexed ``t = 0 .. T-1`` here (``t = 0`` is the first noising step, so
``abar_0 = 1 - beta_0``). A network ``eps_theta(x_t, t)`` learns to predict the added noise
(loss ``||eps - eps_theta(x_t, t)||^2``); the sampler starts from ``N(0, I)`` and walks back:
``x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) * eps_theta) / sqrt(alpha_t) + sqrt(beta_t) z``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, seed_everything

__all__ = ["DiffusionSchedule", "q_sample", "NoisePredictor", "ddpm_loss", "train_ddpm", "ddpm_sample"]


@dataclass(frozen=True)
class DiffusionSchedule:
    """Linear variance schedule: ``betas[t]`` for ``t = 0 .. T-1``, ``alphas = 1 - betas``, cumulative ``alpha_bars``."""

    betas: torch.Tensor

    @classmethod
    def linear(cls, T: int = 100, beta_start: float = 1e-4, beta_end: float = 0.02) -> "DiffusionSchedule":
        """Ho et al.'s linear schedule, stretched so that ``T`` steps end near pure noise."""
        if T < 2 or not 0 < beta_start <= beta_end < 1:
            raise ValueError(f"need T >= 2 and 0 < beta_start <= beta_end < 1, got {T}, {beta_start}, {beta_end}")
        return cls(torch.linspace(beta_start, beta_end, T, dtype=torch.float32))

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: DiffusionSchedule) -> torch.Tensor:
    """``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise`` for integer steps ``t`` (``LongTensor[B]``, 0-based)."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    ab = schedule.alpha_bars.to(x0.device)[t].reshape(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


class NoisePredictor(nn.Module):
    """MLP ``eps_theta(x_t, t)``: the input vector joined with a sinusoidal embedding of the step."""

    def __init__(self, dim: int, T: int, hidden: int = 128, time_dim: int = 16) -> None:
        super().__init__()
        self.T, self.time_dim = T, time_dim
        self.net = nn.Sequential(
            nn.Linear(dim + time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, dim),
        )

    def embed(self, t: torch.Tensor) -> torch.Tensor:
        half = self.time_dim // 2
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
        ang = t.float().unsqueeze(1) * freqs.unsqueeze(0)
        return torch.cat([ang.sin(), ang.cos()], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.embed(t)], dim=1))


def ddpm_loss(model: nn.Module, x0: torch.Tensor, schedule: DiffusionSchedule,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error between the true noise and the predicted noise at uniformly drawn steps."""
    t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    return F.mse_loss(model(q_sample(x0, t, noise, schedule), t), noise)


def train_ddpm(
    data: torch.Tensor,
    schedule: DiffusionSchedule,
    steps: int = 3000,
    hidden: int = 128,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[NoisePredictor, list[float]]:
    """Train a :class:`NoisePredictor` on the rows of ``data`` ``[N, D]``; returns it and the loss per step."""
    if data.dim() != 2 or len(data) < 2:
        raise ValueError(f"data must be a [N, D] tensor with N >= 2, got shape {tuple(data.shape)}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    model = NoisePredictor(data.shape[1], schedule.T, hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    data = data.float()
    for _ in range(steps):
        x0 = data[torch.randint(len(data), (batch_size,), generator=g)].to(device)
        loss = ddpm_loss(model, x0, schedule, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    return model, losses


@torch.no_grad()
def ddpm_sample(
    model: nn.Module, schedule: DiffusionSchedule, n: int, dim: int, generator: torch.Generator | None = None,
    keep: tuple[int, ...] = (),
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Ancestral DDPM sampling; returns ``x_0`` samples ``[n, dim]`` and the states ``x_t`` at steps in ``keep``."""
    device = next(model.parameters()).device
    x = torch.randn(n, dim, generator=generator).to(device)
    kept = {schedule.T: x.cpu()} if schedule.T in keep else {}
    betas, alphas, abars = (v.to(device) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    for t in range(schedule.T - 1, -1, -1):
        eps = model(x, torch.full((n,), t, device=device, dtype=torch.long))
        x = (x - betas[t] / (1 - abars[t]).sqrt() * eps) / alphas[t].sqrt()
        if t > 0:
            x = x + betas[t].sqrt() * torch.randn(n, dim, generator=generator).to(device)
        if t in keep:
            kept[t] = x.cpu()
    return x.cpu(), kept
