"""Model-ready encodings of the lecture features: category indices and one-hot vectors.

The lecture's features are raw numbers (Z = 6, mass = 12.011). Neural networks learn better
from categorical encodings: an index per feature (for ``nn.Embedding``) or a one-hot vector.
These functions derive both from the six/two lecture columns, so the stored graphs keep the
lecture's features and a model chooses its encoding.
"""

from __future__ import annotations

from functools import lru_cache

import torch

__all__ = [
    "ATOM_VOCABULARIES",
    "BOND_VOCABULARIES",
    "ATOM_ONE_HOT_DIM",
    "BOND_ONE_HOT_DIM",
    "atom_categories",
    "bond_categories",
    "one_hot_atoms",
    "one_hot_bonds",
]

#: Allowed values of each categorical atom column (index in the lecture's six); anything else
#: falls in a final "other" bucket.
ATOM_VOCABULARIES: dict[int, tuple[int, ...]] = {
    0: (1, 5, 6, 7, 8, 9, 11, 14, 15, 16, 17, 19, 35, 53),  # H B C N O F Na Si P S Cl K Br I
    1: (0, 1, 2, 3, 4, 5, 6),  # neighbours
    2: (0, 1, 2, 3, 4),  # hydrogens
    3: (-2, -1, 0, 1, 2),  # formal charge
    5: (0, 1),  # in ring
}
#: Bond type (1, 2, 3, 12) and stereo (0..5) vocabularies, indexed by lecture bond column.
BOND_VOCABULARIES: dict[int, tuple[int, ...]] = {
    0: (1, 2, 3, 12),
    1: (0, 1, 2, 3, 4, 5),
}

_MASS_SCALE = 100.0  # atomic mass is kept as one continuous column, divided by this

ATOM_ONE_HOT_DIM = sum(len(v) + 1 for v in ATOM_VOCABULARIES.values()) + 1
BOND_ONE_HOT_DIM = sum(len(v) + 1 for v in BOND_VOCABULARIES.values())


@lru_cache(maxsize=64)
def _vocab_table(vocab: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """The vocabulary as a tensor on ``device``, made once (not a host-to-device copy per call)."""
    return torch.tensor(vocab, device=device)


def _categories(x: torch.Tensor, vocabularies: dict[int, tuple[int, ...]], width: int, what: str) -> torch.Tensor:
    if x.dim() != 2 or x.size(1) < width:
        raise ValueError(f"{what} must be (n, >= {width}) lecture features, got shape {tuple(x.shape)}")
    cols = []
    for col, vocab in vocabularies.items():
        values = x[:, col].round().long()
        table = _vocab_table(vocab, x.device)
        match = values.unsqueeze(1) == table.unsqueeze(0)
        index = torch.where(match.any(1), match.float().argmax(1), torch.full_like(values, len(vocab)))
        cols.append(index)
    return torch.stack(cols, dim=1)


def atom_categories(x: torch.Tensor) -> torch.Tensor:
    """``(n, 5)`` long: per categorical lecture atom column, the index in its vocabulary
    (``len(vocab)`` for an unseen value). Ready for one ``nn.Embedding`` per column."""
    return _categories(x, ATOM_VOCABULARIES, 6, "atom features")


def bond_categories(edge_attr: torch.Tensor) -> torch.Tensor:
    """``(m, 2)`` long vocabulary indices of bond type and stereo."""
    return _categories(edge_attr, BOND_VOCABULARIES, 2, "bond features")


def _one_hot(cats: torch.Tensor, vocabularies: dict[int, tuple[int, ...]]) -> torch.Tensor:
    parts = [
        torch.nn.functional.one_hot(cats[:, k], len(vocab) + 1).float()
        for k, vocab in enumerate(vocabularies.values())
    ]
    return torch.cat(parts, dim=1)


def one_hot_atoms(x: torch.Tensor) -> torch.Tensor:
    """``(n, ATOM_ONE_HOT_DIM)`` float: one-hot of the five categorical atom features plus the
    atomic mass / 100 as one continuous column."""
    mass = (x[:, 4:5] / _MASS_SCALE).float()
    return torch.cat([_one_hot(atom_categories(x), ATOM_VOCABULARIES), mass], dim=1)


def one_hot_bonds(edge_attr: torch.Tensor) -> torch.Tensor:
    """``(m, BOND_ONE_HOT_DIM)`` float one-hot of bond type and stereo."""
    return _one_hot(bond_categories(edge_attr), BOND_VOCABULARIES)
