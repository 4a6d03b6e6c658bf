"""Small building blocks for graph models: pooling (readout) and output rescaling.

Pooling turns the node states of each graph in a batch into one vector per graph. All of these
are permutation invariant: reordering the atoms of a molecule does not change the result.

* ``sum``  counts: a molecule with twice as many identical groups gets twice the vector;
* ``mean`` averages: it sees composition, not size (ethane and a long alkane chain look alike);
* ``max``  keeps the largest value per channel: it sees whether a kind of atom is present, not
  how many there are;
* :class:`AttentionPooling` learns a weight per atom (a softmax over the atoms of each graph).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter, softmax

__all__ = ["POOLINGS", "global_pool", "AttentionPooling", "ScaleShift"]

#: Names accepted by :func:`global_pool` (``"attention"`` needs :class:`AttentionPooling`).
POOLINGS: tuple[str, ...] = ("sum", "mean", "max")


def _check_batch(x: torch.Tensor, batch: torch.Tensor | None) -> torch.Tensor:
    if x.dim() != 2:
        raise ValueError(f"node states x must be 2-D (n_nodes, channels), got shape {tuple(x.shape)}")
    if batch is None:
        return torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    if batch.dim() != 1 or batch.numel() != x.size(0):
        raise ValueError(
            f"batch must be 1-D with one graph index per node ({x.size(0)}), got shape {tuple(batch.shape)}"
        )
    return batch


def global_pool(x: torch.Tensor, batch: torch.Tensor | None = None, how: str = "sum", num_graphs: int | None = None) -> torch.Tensor:
    """Pool node states ``x`` ``(n_nodes, c)`` into ``(num_graphs, c)`` with ``how`` in :data:`POOLINGS`.

    ``batch[i]`` is the graph of node ``i`` (PyG convention); ``None`` means one graph.

    >>> x = torch.tensor([[1.0], [2.0], [3.0]])
    >>> global_pool(x, how="sum"), global_pool(x, how="mean"), global_pool(x, how="max")
    (tensor([[6.]]), tensor([[2.]]), tensor([[3.]]))
    """
    if how not in POOLINGS:
        raise ValueError(f"how must be one of {POOLINGS}, got {how!r} (attention pooling: use AttentionPooling)")
    batch = _check_batch(x, batch)
    size = num_graphs if num_graphs is not None else (int(batch.max()) + 1 if batch.numel() else 0)
    return scatter(x, batch, dim=0, dim_size=size, reduce=how)


class AttentionPooling(nn.Module):
    """Soft-attention readout (gated graph readout of Li et al., 2016, PyG's ``AttentionalAggregation``).

    Each node gets a score ``gate(h_i)``; a softmax over the nodes of its graph turns scores into
    weights ``a_i`` (they sum to 1 per graph) and the graph vector is ``sum_i a_i * value(h_i)``.
    Like ``mean`` pooling the weights sum to one, so on its own it does not count atoms.
    """

    def __init__(self, channels: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or channels
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.value = nn.Linear(channels, channels)

    def weights(self, x: torch.Tensor, batch: torch.Tensor | None = None, num_graphs: int | None = None) -> torch.Tensor:
        """``(n_nodes,)`` attention weights; they sum to one within each graph."""
        batch = _check_batch(x, batch)
        size = num_graphs if num_graphs is not None else int(batch.max()) + 1
        return softmax(self.gate(x).squeeze(-1), batch, num_nodes=x.size(0), dim=0) if size else x.new_zeros(0)

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None, num_graphs: int | None = None) -> torch.Tensor:
        batch = _check_batch(x, batch)
        size = num_graphs if num_graphs is not None else int(batch.max()) + 1
        a = self.weights(x, batch, size)
        return scatter(a.unsqueeze(-1) * self.value(x), batch, dim=0, dim_size=size, reduce="sum")


class ScaleShift(nn.Module):
    """``y = x * scale + shift`` with fixed (non-trained) ``scale`` and ``shift``.

    Put it after a network's last layer so the network learns a standardized target while its
    outputs (and the loss) stay in the target's units, e.g. kcal/mol::

        model = nn.Sequential(MLP(2048, [256], 1), ScaleShift(y_train.mean(), y_train.std()))
    """

    def __init__(self, shift: float | torch.Tensor = 0.0, scale: float | torch.Tensor = 1.0) -> None:
        super().__init__()
        scale_t = torch.as_tensor(scale, dtype=torch.float32)
        if not torch.all(torch.isfinite(scale_t)) or torch.any(scale_t == 0):
            raise ValueError(f"scale must be finite and non-zero, got {scale}")
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32).clone())
        self.register_buffer("scale", scale_t.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def extra_repr(self) -> str:
        return f"shift={self.shift.tolist()}, scale={self.scale.tolist()}"
