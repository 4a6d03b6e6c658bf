"""A message-passing graph neural network for molecules (GIN with edge features, "GINE").

The model reads the graphs made by :func:`chemdl_utils.smiles_to_graph` (the lecture's six atom
and two bond features), encodes them as one-hot vectors (:func:`chemdl_utils.one_hot_atoms`,
:func:`chemdl_utils.one_hot_bonds`), runs ``num_layers`` rounds of message passing and pools the
atom states into one vector per molecule, which an MLP turns into the prediction.

One layer (Xu et al. 2019, GIN; with the bond term of Hu et al. 2020, GINE)::

    m_i  = sum_{j in N(i)} ReLU(h_j + W_e e_ij)          # messages from the neighbours, with bond features
    h_i' = h_i + ReLU(BN(MLP((1 + eps) * h_i + m_i)))    # update, with a residual connection

Sum aggregation and sum pooling keep counts (how many neighbours, how many atoms), which is
what makes GIN as expressive as the 1-WL graph isomorphism test.

>>> from chemdl_utils import smiles_to_graph
>>> MolGNN(hidden=16, num_layers=2).eval()(smiles_to_graph("CCO")).shape
torch.Size([1, 1])
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GINConv, GINEConv

from ..chem.encoding import ATOM_ONE_HOT_DIM, BOND_ONE_HOT_DIM, one_hot_atoms, one_hot_bonds
from .layers import POOLINGS, AttentionPooling, ScaleShift, global_pool
from .mlp import MLP

__all__ = ["MolGNN"]

_POOL_CHOICES = (*POOLINGS, "attention")


def _gin_mlp(hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden))


class MolGNN(nn.Module):
    """Graph-level regression/classification on molecular graphs (GINE layers + pooling + MLP head).

    ``forward(data)`` takes a PyG ``Data`` or ``Batch`` whose ``x`` holds the lecture's atom
    features and ``edge_attr`` the lecture's bond features, and returns ``(num_graphs, out_dim)``.

    Parameters
    ----------
    hidden:
        Width of the atom states (all layers).
    num_layers:
        Rounds of message passing; after ``k`` rounds an atom "sees" atoms up to ``k`` bonds away.
    out_dim:
        Outputs per molecule (1 for a single property).
    pool:
        ``"sum"`` (default: counts atoms), ``"mean"``, ``"max"`` or ``"attention"``.
    dropout:
        Dropout on atom states after each layer and in the head.
    edge_features:
        If true (the default), bond type and stereo enter every message (GINE); if false, the
        layers are plain GIN, which sees only which atoms are bonded (an ablation).
    target_mean, target_std:
        The network learns ``(y - target_mean) / target_std``; outputs are rescaled back, so
        predictions and losses are in the target's units. Pass the training-set mean and std.

    """

    def __init__(
        self,
        hidden: int = 64,
        num_layers: int = 3,
        out_dim: int = 1,
        pool: str = "sum",
        dropout: float = 0.0,
        edge_features: bool = True,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        if pool not in _POOL_CHOICES:
            raise ValueError(f"pool must be one of {_POOL_CHOICES}, got {pool!r}")
        if hidden < 1 or num_layers < 1 or out_dim < 1:
            raise ValueError(
                f"hidden, num_layers and out_dim must be >= 1, got {hidden}, {num_layers}, {out_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hidden, self.num_layers, self.out_dim = hidden, num_layers, out_dim
        self.pool, self.edge_features = pool, edge_features
        self.atom_encoder = nn.Linear(ATOM_ONE_HOT_DIM, hidden)
        self.convs = nn.ModuleList(
            GINEConv(_gin_mlp(hidden), train_eps=True, edge_dim=BOND_ONE_HOT_DIM)
            if edge_features
            else GINConv(_gin_mlp(hidden), train_eps=True)
            for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.attention = AttentionPooling(hidden) if pool == "attention" else None
        self.head = MLP(hidden, [hidden], out_dim, dropout=dropout)
        self.rescale = ScaleShift(target_mean, target_std)

    @staticmethod
    def _unpack(data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
        for name in ("x", "edge_index", "edge_attr"):
            if getattr(data, name, None) is None:
                raise ValueError(
                    f"MolGNN needs a PyG graph with '{name}'; make one with chemdl_utils.smiles_to_graph(smiles)"
                )
        x, edge_index, edge_attr = data.x, data.edge_index, data.edge_attr
        if x.dim() != 2 or x.size(1) < 6:
            raise ValueError(f"data.x must hold the lecture's 6 atom features, got shape {tuple(x.shape)}")
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = int(getattr(data, "num_graphs", 1) or 1)
        return x, edge_index, edge_attr, batch, num_graphs

    def node_embeddings(self, data) -> torch.Tensor:
        """``(n_atoms, hidden)`` atom states after the last message-passing layer."""
        x, edge_index, edge_attr, _, _ = self._unpack(data)
        h = self.atom_encoder(one_hot_atoms(x))
        e = one_hot_bonds(edge_attr) if edge_attr.numel() else edge_attr.new_zeros(0, BOND_ONE_HOT_DIM)
        for conv, norm in zip(self.convs, self.norms):
            update = conv(h, edge_index, e) if self.edge_features else conv(h, edge_index)
            h = h + self.dropout(torch.relu(norm(update)))
        return h

    def graph_embedding(self, data) -> torch.Tensor:
        """``(num_graphs, hidden)``: the pooled molecule vectors the head reads."""
        _, _, _, batch, num_graphs = self._unpack(data)
        h = self.node_embeddings(data)
        if self.attention is not None:
            return self.attention(h, batch, num_graphs)
        return global_pool(h, batch, self.pool, num_graphs)

    def forward(self, data) -> torch.Tensor:
        return self.rescale(self.head(self.graph_embedding(data)))
