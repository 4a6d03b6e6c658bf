"""The lecture's atom (node) and bond (edge) features, and how to extend them.

The lecture describes every atom by six numbers and every bond by two:

====  ====================================  =============================================
 #    atom feature                          RDKit
====  ====================================  =============================================
 1    atomic number                         ``Atom.GetAtomicNum()``
 2    number of directly bonded neighbours  ``Atom.GetTotalDegree()`` (hydrogens included)
 3    number of hydrogens                   ``Atom.GetTotalNumHs()``
 4    formal charge                         ``Atom.GetFormalCharge()``
 5    atomic mass                           ``Atom.GetMass()`` (standard atomic weight)
 6    is in a ring (0/1)                    ``Atom.IsInRing()``
====  ====================================  =============================================

Bonds: bond type as RDKit numbers it (1 single, 2 double, 3 triple, 12 aromatic) and bond
stereochemistry (``int(Bond.GetStereo())``: 0 none, 1 any, 2 Z, 3 E, 4 cis, 5 trans).

To add features without touching the lecture's six and two, build a :class:`Featurizer` with
extra :class:`Feature` objects; they are appended after the lecture columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from rdkit import Chem

__all__ = [
    "Feature",
    "Featurizer",
    "LECTURE_ATOM_FEATURES",
    "LECTURE_BOND_FEATURES",
    "FEATURIZATION_VERSION",
    "atom_features",
    "bond_features",
]

#: Bumped whenever a default feature changes; cached datasets reprocess when it differs.
FEATURIZATION_VERSION = 1


@dataclass(frozen=True)
class Feature:
    """One numeric column computed from an RDKit atom or bond."""

    name: str
    compute: Callable[[object], float]
    description: str = ""


LECTURE_ATOM_FEATURES: tuple[Feature, ...] = (
    Feature("atomic_number", Chem.Atom.GetAtomicNum, "atomic number Z"),
    Feature("num_neighbors", Chem.Atom.GetTotalDegree, "directly bonded neighbours, H included"),
    Feature("num_hydrogens", Chem.Atom.GetTotalNumHs, "attached hydrogens (implicit + explicit)"),
    Feature("formal_charge", Chem.Atom.GetFormalCharge, "formal charge"),
    Feature("atomic_mass", Chem.Atom.GetMass, "atomic mass in u (standard atomic weight)"),
    Feature("in_ring", lambda atom: int(atom.IsInRing()), "1 if the atom is in a ring"),
)

LECTURE_BOND_FEATURES: tuple[Feature, ...] = (
    Feature("bond_type", lambda b: int(b.GetBondType()), "1 single, 2 double, 3 triple, 12 aromatic"),
    Feature("stereo", lambda b: int(b.GetStereo()), "RDKit bond stereo: 0 none, 2 Z, 3 E, ..."),
)


def atoms_of(mol: Chem.Mol) -> list[Chem.Atom]:
    """The atoms of ``mol`` in RDKit order (index access: much faster than ``mol.GetAtoms()``,
    whose Python sequence wrapper dominates featurization time)."""
    return [mol.GetAtomWithIdx(i) for i in range(mol.GetNumAtoms())]


def bonds_of(mol: Chem.Mol) -> list[Chem.Bond]:
    """The bonds of ``mol`` in RDKit order (see :func:`atoms_of`)."""
    return [mol.GetBondWithIdx(i) for i in range(mol.GetNumBonds())]


def _lecture_atom_rows(mol: Chem.Mol) -> np.ndarray:
    # Written out (rather than looping over LECTURE_ATOM_FEATURES) because this is the hot path
    # of every dataset; tests check it equals the generic Feature-based computation.
    rows = [
        (
            a.GetAtomicNum(),
            a.GetTotalDegree(),
            a.GetTotalNumHs(),
            a.GetFormalCharge(),
            a.GetMass(),
            a.IsInRing(),
        )
        for a in atoms_of(mol)
    ]
    return np.array(rows, dtype=np.float32).reshape(-1, 6)


def _lecture_bond_rows(mol: Chem.Mol) -> np.ndarray:
    rows = [(int(b.GetBondType()), int(b.GetStereo())) for b in bonds_of(mol)]
    return np.array(rows, dtype=np.float32).reshape(-1, 2)


@dataclass(frozen=True)
class Featurizer:
    """Turns a molecule into atom and bond feature matrices.

    The lecture's six atom and two bond features always come first; ``extra_atom_features`` and
    ``extra_bond_features`` are appended in order. Example::

        from rdkit.Chem import Atom
        f = Featurizer(extra_atom_features=(Feature("aromatic", lambda a: a.GetIsAromatic()),))
        f.atom_features(mol).shape  # (n_atoms, 7)
    """

    extra_atom_features: tuple[Feature, ...] = field(default=())
    extra_bond_features: tuple[Feature, ...] = field(default=())

    @property
    def atom_feature_names(self) -> list[str]:
        """Column names of :meth:`atom_features`."""
        return [f.name for f in LECTURE_ATOM_FEATURES + self.extra_atom_features]

    @property
    def bond_feature_names(self) -> list[str]:
        """Column names of :meth:`bond_features`."""
        return [f.name for f in LECTURE_BOND_FEATURES + self.extra_bond_features]

    def atom_features(self, mol: Chem.Mol) -> np.ndarray:
        """``(n_atoms, 6 + extras)`` float32 matrix, one row per atom in RDKit order."""
        _check_mol(mol)
        base = _lecture_atom_rows(mol)
        return _append(base, atoms_of(mol), self.extra_atom_features) if self.extra_atom_features else base

    def bond_features(self, mol: Chem.Mol) -> np.ndarray:
        """``(n_bonds, 2 + extras)`` float32 matrix, one row per bond in RDKit order."""
        _check_mol(mol)
        base = _lecture_bond_rows(mol)
        return _append(base, bonds_of(mol), self.extra_bond_features) if self.extra_bond_features else base


def _append(base: np.ndarray, items: Sequence, extras: Sequence[Feature]) -> np.ndarray:
    extra = np.array([[float(f.compute(it)) for f in extras] for it in items], dtype=np.float32)
    return np.hstack([base, extra.reshape(len(base), len(extras))])


def _check_mol(mol: object) -> None:
    if not isinstance(mol, Chem.Mol):
        raise TypeError(
            f"expected an RDKit Chem.Mol, got {type(mol).__name__}; "
            "parse SMILES first with chemdl_utils.mol_from_smiles(smiles)"
        )


_DEFAULT = Featurizer()


def atom_features(mol: Chem.Mol) -> np.ndarray:
    """The lecture's six atom features, ``(n_atoms, 6)`` float32, rows in RDKit atom order."""
    return _DEFAULT.atom_features(mol)


def bond_features(mol: Chem.Mol) -> np.ndarray:
    """The lecture's two bond features, ``(n_bonds, 2)`` float32, rows in RDKit bond order."""
    return _DEFAULT.bond_features(mol)
