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
    "lecture_graph_arrays",
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


# --------------------------------------------------------------------------------------------
# The fast path: the same numbers with fewer calls into RDKit
# --------------------------------------------------------------------------------------------
# Featurization time is RDKit's SMILES parser plus one Python -> C++ call per atom and feature
# (~0.3-0.6 us each, ~30 atoms and ~30 bonds per drug-like molecule). The fast path asks RDKit
# only what it cannot derive: per atom the atomic number and the hydrogen count; per bond its two
# atoms and its order. The rest comes from those or from one C++ call per molecule:
#   * number of neighbours = bonds per atom (counted from the bond list) + hydrogens, which is how
#     RDKit defines GetTotalDegree();
#   * atomic mass = the periodic table's standard atomic weight of Z, which is what GetMass()
#     returns for an atom without an isotope label (SMILES with isotopes, "[13C]", use the plain path);
#   * formal charge and ring membership: one SMARTS match each ("[!+0]", "[R]") finds the atoms
#     whose value is not 0 (charges are then read from those atoms only);
#   * bond type from GetBondTypeAsDouble() (1, 2, 3, 1.5 -> 12); any other order uses the plain path;
#   * bond stereo is only read when the SMILES has '/' or '\\' (otherwise RDKit sets none).
# SMILES with CXSMILES extensions ('|') or dative bonds ('->', '<-') use the plain path.
# tests/test_chem.py checks the result is bit-identical to the plain path on every shipped molecule.
_CHARGED = Chem.MolFromSmarts("[!+0]")
_IN_RING = Chem.MolFromSmarts("[R]")
_PT = Chem.GetPeriodicTable()
_ATOMIC_WEIGHT = np.array([_PT.GetAtomicWeight(z) for z in range(119)], dtype=np.float64)
_MAX_MATCHES = 1 << 30
_GET_Z = Chem.Atom.GetAtomicNum
_GET_HS = Chem.Atom.GetTotalNumHs
_GET_CHARGE = Chem.Atom.GetFormalCharge
_BEGIN = Chem.Bond.GetBeginAtomIdx
_END = Chem.Bond.GetEndAtomIdx
_ORDER = Chem.Bond.GetBondTypeAsDouble
_STEREO = Chem.Bond.GetStereo


def _fast_path_allowed(smiles: str) -> bool:
    """True when ``smiles`` cannot carry what the fast path does not read (isotopes, dative bonds,
    CXSMILES extensions)."""
    if "|" in smiles or ">" in smiles or "<" in smiles:
        return False
    i = smiles.find("[")
    while i != -1:  # an isotope is a number right after '['
        if i + 1 < len(smiles) and smiles[i + 1].isdigit():
            return False
        i = smiles.find("[", i + 1)
    return True


def lecture_graph_arrays(
    mol: Chem.Mol, smiles: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, edge_index, edge_attr)`` NumPy arrays of ``mol`` with the lecture's features, as
    :func:`chemdl_utils.mol_to_graph` stores them (``x`` float32 ``(n, 6)``, ``edge_index`` int64
    ``(2, 2 * n_bonds)``, ``edge_attr`` float32 ``(2 * n_bonds, 2)``).

    Pass the SMILES ``mol`` was parsed from to use the fast path (same numbers, about half the
    calls into RDKit); without it, or for SMILES the fast path does not cover, the plain path runs.
    """
    _check_mol(mol)
    if smiles is not None and _fast_path_allowed(smiles):
        out = _fast_arrays(mol, "/" in smiles or "\\" in smiles)
        if out is not None:
            return out
    return _plain_arrays(mol)


def _edges(ends: np.ndarray, bond_attr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # interleave both directions: (i, j), (j, i) for every bond
    edge_index = np.ascontiguousarray(np.stack([ends, ends[:, ::-1]], axis=1).reshape(-1, 2).T)
    return edge_index, np.repeat(bond_attr, 2, axis=0)


def _plain_arrays(mol: Chem.Mol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bonds = bonds_of(mol)
    ends = np.array([(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds], dtype=np.int64).reshape(-1, 2)
    edge_index, edge_attr = _edges(ends, _lecture_bond_rows(mol))
    return _lecture_atom_rows(mol), edge_index, edge_attr


_WEIGHTS = [float(w) for w in _ATOMIC_WEIGHT]
# GetBondTypeAsDouble() -> RDKit's bond type number; other orders (e.g. 4.0) take the plain path
_ORDER_CODE = {1.0: 1, 1.5: 12, 2.0: 2, 3.0: 3}
_MATCH_ALL = Chem.SubstructMatchParameters()  # a ready object: passing keywords costs ~3 us per call
_MATCH_ALL.maxMatches = _MAX_MATCHES
_MATCH_ALL.uniquify = False


def _fast_arrays(mol: Chem.Mol, stereo: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    n = mol.GetNumAtoms()
    get_atom = mol.GetAtomWithIdx
    atoms = [get_atom(i) for i in range(n)]
    degree = [0] * n
    n_bonds = mol.GetNumBonds()
    if n_bonds:
        get_bond = mol.GetBondWithIdx
        bonds = [get_bond(i) for i in range(n_bonds)]
        try:
            codes = [_ORDER_CODE[_ORDER(b)] for b in bonds]
        except KeyError:
            return None  # an unusual bond order: the plain path reads it
        ends = [(_BEGIN(b), _END(b)) for b in bonds]
        for i, j in ends:
            degree[i] += 1
            degree[j] += 1
        # both directions of every bond, interleaved: (i, j), (j, i)
        edge_index = np.array([[v for e in ends for v in e], [v for i, j in ends for v in (j, i)]], dtype=np.int64)
        if stereo:
            flat = [v for c, st in zip(codes, bonds) for v in (c, int(_STEREO(st))) * 2]
        else:
            flat = [v for c in codes for v in (c, 0, c, 0)]
        edge_attr = np.array(flat, dtype=np.float32).reshape(2 * n_bonds, 2)
    else:
        edge_index = np.zeros((2, 0), dtype=np.int64)
        edge_attr = np.zeros((0, 2), dtype=np.float32)
    try:  # atomic number, neighbours (bonds + H), H, charge (below), mass, in ring (below)
        rows = [
            v
            for a, d in zip(atoms, degree)
            for z, h in ((_GET_Z(a), _GET_HS(a)),)
            for v in (z, d + h, h, 0, _WEIGHTS[z], 0)
        ]
    except IndexError:
        return None
    x = np.array(rows, dtype=np.float32).reshape(n, 6)
    for (i,) in mol.GetSubstructMatches(_CHARGED, _MATCH_ALL):
        x[i, 3] = _GET_CHARGE(atoms[i])
    x[[i for (i,) in mol.GetSubstructMatches(_IN_RING, _MATCH_ALL)], 5] = 1.0
    return x, edge_index, edge_attr


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
