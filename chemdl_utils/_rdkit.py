"""SMILES to RDKit molecules, with one clear error and no RDKit log noise.

Depends on RDKit only, so ``chemdl_utils.data`` can parse molecules without importing torch;
``chemdl_utils.chem`` re-exports the public names.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import re

from rdkit import Chem, RDLogger, rdBase
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


_LOG_TIME = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*")


def _rdkit_reason(messages: str) -> str:
    """RDKit's own reason for rejecting a SMILES, from its captured error log, in one line.

    ``"[12:00:00] Explicit valence for atom # 0 C, 5, is greater than permitted"`` becomes
    ``"RDKit: Explicit valence for atom # 0 C, 5, is greater than permitted"``; a syntax error keeps
    the position RDKit points at. Empty if the log said nothing.
    """
    lines = [_LOG_TIME.sub("", line).strip() for line in str(messages).splitlines()]
    lines = [line.replace("SMILES Parse Error: ", "").rstrip(".").strip() for line in lines if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    position = next((line for line in lines[1:] if line.startswith("check for mistakes around position")), "")
    reason = f"{first} ({position.rstrip(':')})" if position else first
    return "RDKit: " + re.sub(r"\s+", " ", reason)


def mol_from_smiles(smiles: str) -> Chem.Mol:
    """Parse ``smiles`` into a sanitized RDKit molecule (hydrogens implicit, as in the lecture).

    Raises :class:`InvalidSmilesError` (a ``ValueError``) naming the SMILES if it is not a
    non-empty string or RDKit cannot parse it; the error passes on RDKit's own reason (e.g. a valence
    error names the atom), and RDKit's log is kept out of the output.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"SMILES must be a str, got {type(smiles).__name__}: {smiles!r}")
    if not smiles.strip():
        raise InvalidSmilesError(smiles, "the string is empty")
    capture = getattr(rdBase, "CaptureErrorLog", None)  # RDKit >= 2025.09: the parse's own error log
    with _BLOCK_LOGS():
        if capture is None:
            mol, messages = Chem.MolFromSmiles(smiles.strip()), ""
        else:
            with capture() as log:
                mol = Chem.MolFromSmiles(smiles.strip())
            messages = log.messages
    if mol is None:
        reason = _rdkit_reason(messages)
        raise InvalidSmilesError(smiles, reason) if reason else InvalidSmilesError(smiles)
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
