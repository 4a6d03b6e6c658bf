"""Molecules as images: rasterize RDKit 2D depictions into a few channels (after Chemception).

Goh et al. (2017) fed 2D drawings of molecules to an image CNN; their follow-up (2018) drew one
chemical property per colour channel. :func:`rasterize_molecule` does the same with RDKit's 2D
coordinates (bond length about 1.5 units): the molecule is centred, optionally rotated, and each
atom sets its pixel in the atom channels, each bond paints the pixels along its line in the bond
channel.

Channels (``RASTER_CHANNELS``): ``"bond_order"`` (1, 2, 3, aromatic 1.5, along each bond),
``"atomic_number"`` (Z / 10 at each atom), ``"charge"`` (Gasteiger partial charge at each atom) and
``"hybridization"`` (1 sp, 2 sp2, 3 sp3, divided by 3, at each atom).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem, rdDepictor

__all__ = ["RASTER_CHANNELS", "rasterize_molecule", "rasterize_molecules", "molecule_extent"]

RASTER_CHANNELS: tuple[str, ...] = ("bond_order", "atomic_number", "charge", "hybridization")
_HYB = {Chem.HybridizationType.SP: 1, Chem.HybridizationType.SP2: 2, Chem.HybridizationType.SP3: 3,
        Chem.HybridizationType.SP3D: 3, Chem.HybridizationType.SP3D2: 3}


def _mol(molecule: str | Chem.Mol) -> Chem.Mol:
    if isinstance(molecule, Chem.Mol):
        return Chem.Mol(molecule)
    if not isinstance(molecule, str):
        raise TypeError(f"molecule must be a SMILES string or an RDKit Mol, got {type(molecule).__name__}")
    mol = Chem.MolFromSmiles(molecule)
    if mol is None or mol.GetNumAtoms() == 0:
        raise ValueError(f"could not parse SMILES {molecule!r}; check it with RDKit (Chem.MolFromSmiles)")
    return mol


def _coords(mol: Chem.Mol, rotation: float) -> np.ndarray:
    rdDepictor.SetPreferCoordGen(False)
    rdDepictor.Compute2DCoords(mol, canonOrient=True)
    xy = mol.GetConformer().GetPositions()[:, :2]
    xy = xy - xy.mean(axis=0)
    return _turn(xy, rotation) if rotation else xy


def _turn(xy: np.ndarray, degrees: float) -> np.ndarray:
    """``xy`` turned counter-clockwise by ``degrees``, computed the same way on every machine.

    Element by element, not with a matrix product: BLAS kernels differ between CPUs and settings
    (one with fused multiply-add rounds differently), and an atom on a pixel boundary then lands in
    a different pixel. Quarter turns are exact (cosine and sine are exactly 0 or 1).
    """
    quarters = degrees / 90.0
    if quarters == round(quarters):
        c, s = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(round(quarters)) % 4]
    else:
        c, s = float(np.cos(np.deg2rad(degrees))), float(np.sin(np.deg2rad(degrees)))
    x, y = xy[:, 0], xy[:, 1]
    return np.stack([x * c - y * s, x * s + y * c], axis=1)


def molecule_extent(molecule: str | Chem.Mol) -> float:
    """Largest distance of an atom from the molecule's centre in RDKit 2D units (for any rotation)."""
    mol = _mol(molecule)
    return float(np.sqrt((_coords(mol, 0.0) ** 2).sum(axis=1)).max())


def rasterize_molecule(
    molecule: str | Chem.Mol,
    size: int = 32,
    resolution: float = 0.5,
    rotation: float = 0.0,
    channels: Sequence[str] = RASTER_CHANNELS,
) -> np.ndarray:
    """Image of one molecule, shape ``(len(channels), size, size)``, float32.

    ``resolution`` is the width of a pixel in RDKit 2D units (a bond is about 1.5), so the image
    spans ``size * resolution`` units; ``rotation`` turns the drawing by that many degrees first.
    A molecule that does not fit raises ``ValueError`` (raise ``size`` or ``resolution``).
    """
    if not isinstance(size, int) or size < 4:
        raise ValueError(f"size must be an integer >= 4 pixels, got {size!r}")
    if not resolution > 0:
        raise ValueError(f"resolution must be > 0 (RDKit units per pixel), got {resolution!r}")
    unknown = [c for c in channels if c not in RASTER_CHANNELS]
    if unknown or len(channels) == 0:
        raise ValueError(f"unknown or no channels {unknown}; choose from {RASTER_CHANNELS}")
    mol = _mol(molecule)
    xy = _coords(mol, float(rotation))
    pix = np.floor(xy / resolution + size / 2).astype(int)
    if pix.min() < 0 or pix.max() >= size:
        need = 2 * np.abs(xy).max() / resolution + 1
        raise ValueError(
            f"molecule {Chem.MolToSmiles(mol)!r} spans about {need:.0f} pixels but the image has {size}; "
            "raise size or resolution"
        )
    image = np.zeros((len(channels), size, size), dtype=np.float32)
    index = {name: i for i, name in enumerate(channels)}
    if "charge" in index:
        AllChem.ComputeGasteigerCharges(mol)
    if "bond_order" in index:
        for bond in mol.GetBonds():
            a, b = xy[bond.GetBeginAtomIdx()], xy[bond.GetEndAtomIdx()]
            n = max(2, int(np.ceil(np.hypot(*(b - a)) / resolution * 2)) + 1)  # (not BLAS: see _turn)
            pts = np.floor((a + np.linspace(0, 1, n)[:, None] * (b - a)) / resolution + size / 2).astype(int)
            image[index["bond_order"], pts[:, 1], pts[:, 0]] = bond.GetBondTypeAsDouble()
    for atom, (col, row) in zip(mol.GetAtoms(), pix):
        if "atomic_number" in index:
            image[index["atomic_number"], row, col] = atom.GetAtomicNum() / 10.0
        if "charge" in index:
            q = float(atom.GetProp("_GasteigerCharge"))
            image[index["charge"], row, col] = q if np.isfinite(q) else 0.0
        if "hybridization" in index:
            image[index["hybridization"], row, col] = _HYB.get(atom.GetHybridization(), 0) / 3.0
    return image


def rasterize_molecules(
    molecules: Sequence[str | Chem.Mol],
    size: int = 32,
    resolution: float = 0.5,
    rotation: float | Sequence[float] = 0.0,
    channels: Sequence[str] = RASTER_CHANNELS,
) -> np.ndarray:
    """Images of many molecules, shape ``(n, len(channels), size, size)``; ``rotation`` may be per molecule."""
    if isinstance(molecules, (str, Chem.Mol)):
        raise TypeError("molecules must be a sequence of SMILES or Mols; for one molecule use rasterize_molecule")
    molecules = list(molecules)
    rotations = np.broadcast_to(np.asarray(rotation, dtype=float), (len(molecules),))
    return np.stack([rasterize_molecule(m, size, resolution, float(r), channels) for m, r in zip(molecules, rotations)]) \
        if molecules else np.zeros((0, len(channels), size, size), dtype=np.float32)
