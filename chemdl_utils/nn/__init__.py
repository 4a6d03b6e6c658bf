"""Small reusable models and layers shared by the chapters."""

from .mlp import MLP

__all__ = ["MLP"]
