"""SMILES to RDKit molecules (implemented in :mod:`chemdl_utils._rdkit`, which needs no torch)."""

from .._rdkit import InvalidSmilesError, mol_from_smiles, quiet_rdkit

__all__ = ["mol_from_smiles", "quiet_rdkit", "InvalidSmilesError"]
