"""Small reusable models and layers shared by the chapters."""

from .gnn import MolGNN
from .layers import POOLINGS, AttentionPooling, ScaleShift, global_pool
from .mlp import MLP

__all__ = ["MLP", "MolGNN", "AttentionPooling", "ScaleShift", "global_pool", "POOLINGS"]
