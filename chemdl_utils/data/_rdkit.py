"""RDKit helpers that do not import ``chemdl_utils.chem`` (which pulls in torch / PyG).

Keeps ``import chemdl_utils.data`` and ``load_dataset`` light; the behaviour matches
:func:`chemdl_utils.chem.mol_from_smiles` (sanitized molecule or a ``ValueError`` naming the input).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rdkit import Chem, RDLogger


@contextmanager
def quiet() -> Iterator[None]:
    """Silence RDKit's C++ log inside the block."""
    logger = RDLogger.logger()
    logger.setLevel(RDLogger.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(RDLogger.WARNING)


def parse(molecule: object) -> Chem.Mol:
    """A SMILES string or an RDKit ``Mol`` as a ``Mol``; ``ValueError``/``TypeError`` naming it otherwise."""
    if isinstance(molecule, Chem.Mol):
        return molecule
    if not isinstance(molecule, str):
        kind = type(molecule).__name__
        raise TypeError(f"expected a SMILES string or an RDKit Mol, got {kind}: {molecule!r}")
    if not molecule.strip():
        raise ValueError(f"Invalid SMILES {molecule!r}: the string is empty")
    with quiet():
        mol = Chem.MolFromSmiles(molecule.strip())
    if mol is None:
        raise ValueError(f"Invalid SMILES {molecule!r}: RDKit could not parse it")
    return mol
