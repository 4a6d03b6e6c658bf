"""Classical molecular representations: Morgan fingerprints and RDKit descriptors.

These are the inputs of the "classical ML" baselines the chapters compare deep models against.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from .mol import mol_from_smiles

__all__ = ["morgan_fingerprints", "rdkit_descriptors", "DESCRIPTOR_NAMES"]

#: A small, interpretable descriptor set (all computed by RDKit).
DESCRIPTOR_NAMES: tuple[str, ...] = (
    "MolWt",
    "MolLogP",
    "TPSA",
    "NumHDonors",
    "NumHAcceptors",
    "NumRotatableBonds",
    "RingCount",
    "NumAromaticRings",
    "HeavyAtomCount",
    "FractionCSP3",
)


def _mols(smiles: Sequence[str] | Sequence[Chem.Mol]) -> list[Chem.Mol]:
    if isinstance(smiles, str):
        raise TypeError("expected a list of SMILES, got a single string; wrap it in a list")
    return [m if isinstance(m, Chem.Mol) else mol_from_smiles(m) for m in smiles]


def morgan_fingerprints(smiles: Sequence[str] | Sequence[Chem.Mol], radius: int = 2, n_bits: int = 2048, counts: bool = False) -> np.ndarray:
    """``(n, n_bits)`` float32 Morgan (ECFP-like) fingerprints; ``counts=True`` gives count vectors.

    Raises ``ValueError`` naming the first invalid SMILES.
    """
    if radius < 0 or n_bits < 1:
        raise ValueError(f"radius must be >= 0 and n_bits >= 1, got radius={radius}, n_bits={n_bits}")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    mols = _mols(smiles)
    out = np.zeros((len(mols), n_bits), dtype=np.float32)
    for i, mol in enumerate(mols):
        fp = gen.GetCountFingerprintAsNumPy(mol) if counts else gen.GetFingerprintAsNumPy(mol)
        out[i] = fp
    return out


def rdkit_descriptors(smiles: Sequence[str] | Sequence[Chem.Mol], names: Sequence[str] = DESCRIPTOR_NAMES) -> np.ndarray:
    """``(n, len(names))`` float64 matrix of RDKit descriptors (see :data:`DESCRIPTOR_NAMES`)."""
    table = dict(Descriptors.descList)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown RDKit descriptor(s) {unknown}; see rdkit.Chem.Descriptors.descList")
    mols = _mols(smiles)
    return np.array([[table[n](m) for n in names] for m in mols], dtype=np.float64).reshape(len(mols), len(names))
