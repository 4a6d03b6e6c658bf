"""SMILES to RDKit molecules, with one clear error and no RDKit log noise.

Depends on RDKit only, so ``chemdl_utils.data`` can parse molecules without importing torch;
``chemdl_utils.chem`` re-exports the public names.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rdkit import Chem, RDLogger
from rdkit.rdBase import BlockLogs as _BLOCK_LOGS  # cheap per-call silencing (C++ side)

__all__ = ["mol_from_smiles", "as_mol", "quiet_rdkit", "InvalidSmilesError"]


class InvalidSmilesError(ValueError):
    """A SMILES string RDKit could not parse or sanitize. ``.smiles`` holds the string."""

    def __init__(self, smiles: object, reason: str = "RDKit could not parse it") -> None:
        self.smiles = smiles
        self.reason = reason
        super().__init__(
            f"Invalid SMILES {smiles!r}: {reason}. Check brackets, ring-closure digits, "
            "valences and aromatic lowercase atoms (try drawing it in a molecule editor)."
        )


def _log_channels() -> dict[str, bool]:
    """RDKit's log channels and whether each is enabled (``rdApp.error: True``, ...)."""
    from rdkit import rdBase

    status = {}
    for line in rdBase.LogStatus().splitlines():
        name, _, state = line.partition(":")
        if name.strip():
            status[name.strip()] = state.strip() == "enabled"
    return status


@contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Silence RDKit's C++ log (parse errors, valence warnings) inside the block, then put every
    channel back as it was (a caller that had disabled the log keeps it disabled)."""
    before = _log_channels()
    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        for name, enabled in before.items():
            (RDLogger.EnableLog if enabled else RDLogger.DisableLog)(name)


def mol_from_smiles(smiles: str) -> Chem.Mol:
    """Parse ``smiles`` into a sanitized RDKit molecule (hydrogens implicit, as in the lecture).

    Raises :class:`InvalidSmilesError` (a ``ValueError``) naming the SMILES if it is not a
    non-empty string or RDKit cannot parse it; RDKit's own messages are kept out of the output.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"SMILES must be a str, got {type(smiles).__name__}: {smiles!r}")
    if not smiles.strip():
        raise InvalidSmilesError(smiles, "the string is empty")
    with _BLOCK_LOGS():
        mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None:
        raise InvalidSmilesError(smiles)
    if mol.GetNumAtoms() == 0:
        raise InvalidSmilesError(smiles, "it contains no atoms")
    return mol


def as_mol(molecule: object) -> Chem.Mol:
    """``molecule`` itself if it is an RDKit ``Mol``, else :func:`mol_from_smiles` of it."""
    if isinstance(molecule, Chem.Mol):
        return molecule
    if not isinstance(molecule, str):
        raise TypeError(f"expected a SMILES string or an RDKit Mol, got {type(molecule).__name__}: {molecule!r}")
    return mol_from_smiles(molecule)
