"""The lecture's feature tables as pandas DataFrames (1-based numbering, as on the slides)."""

from __future__ import annotations

import pandas as pd
from rdkit import Chem

from .features import Featurizer, _DEFAULT
from .mol import mol_from_smiles

__all__ = ["feature_table", "atom_table", "bond_table"]


def atom_table(mol: Chem.Mol, featurizer: Featurizer | None = None) -> pd.DataFrame:
    """One row per atom, indexed 1..n, with the element symbol and the lecture's six features.

    Integer-valued features are ints; the atomic mass is a float rounded to 3 decimals as in the
    lecture (12.011, 14.007, 15.999).
    """
    featurizer = featurizer or _DEFAULT
    values = featurizer.atom_features(mol)
    df = pd.DataFrame(values, columns=featurizer.atom_feature_names)
    for col in df.columns:
        df[col] = df[col].round(3) if col == "atomic_mass" else df[col].astype(int)
    df.insert(0, "element", [a.GetSymbol() for a in mol.GetAtoms()])
    df.index = pd.RangeIndex(1, len(df) + 1, name="atom")
    return df


def bond_table(mol: Chem.Mol, featurizer: Featurizer | None = None) -> pd.DataFrame:
    """One row per bond, indexed 1..m: the two atom numbers (1-based) and the two bond features."""
    featurizer = featurizer or _DEFAULT
    values = featurizer.bond_features(mol).astype(int)
    df = pd.DataFrame(values, columns=featurizer.bond_feature_names)
    df.insert(0, "atom_j", [b.GetEndAtomIdx() + 1 for b in mol.GetBonds()])
    df.insert(0, "atom_i", [b.GetBeginAtomIdx() + 1 for b in mol.GetBonds()])
    df.index = pd.RangeIndex(1, len(df) + 1, name="bond")
    return df


def feature_table(smiles: str, featurizer: Featurizer | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(atoms, bonds)`` DataFrames for ``smiles``; for caffeine they equal the lecture's tables.

    >>> atoms, bonds = feature_table("CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
    >>> atoms.shape, bonds.shape
    ((14, 7), (15, 4))
    """
    mol = mol_from_smiles(smiles)
    return atom_table(mol, featurizer), bond_table(mol, featurizer)
