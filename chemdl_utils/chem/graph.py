"""Molecules as graphs: ``torch_geometric.data.Data`` objects with the lecture's features."""

from __future__ import annotations

import numpy as np
import torch
from rdkit import Chem
from torch_geometric.data import Data

from .features import Featurizer, _DEFAULT, _check_mol, bonds_of
from .mol import mol_from_smiles

__all__ = ["smiles_to_graph", "mol_to_graph"]


def mol_to_graph(mol: Chem.Mol, featurizer: Featurizer | None = None, smiles: str | None = None) -> Data:
    """Convert an RDKit molecule into a PyG ``Data`` graph.

    * ``x``: ``(n_atoms, 6)`` float, the lecture's atom features (plus any extras);
    * ``edge_index``: ``(2, 2 * n_bonds)`` long, each bond in both directions, as PyG expects
      (bond ``k`` gives columns ``2k`` (begin -> end) and ``2k + 1`` (end -> begin));
    * ``edge_attr``: ``(2 * n_bonds, 2)`` float, the bond's two lecture features on both of its
      directed edges;
    * ``smiles``: the SMILES it came from (canonical if none was given).
    """
    _check_mol(mol)
    featurizer = featurizer or _DEFAULT
    x = featurizer.atom_features(mol)
    bond_attr = featurizer.bond_features(mol)
    ends = np.array(
        [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds_of(mol)], dtype=np.int64
    ).reshape(-1, 2)
    # interleave both directions: (i, j), (j, i) for every bond
    edge_index = np.stack([ends, ends[:, ::-1]], axis=1).reshape(-1, 2).T
    edge_attr = np.repeat(bond_attr, 2, axis=0)
    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(np.ascontiguousarray(edge_index)),
        edge_attr=torch.from_numpy(edge_attr),
        smiles=smiles if smiles is not None else Chem.MolToSmiles(mol),
        num_nodes=x.shape[0],
    )


def smiles_to_graph(smiles: str, featurizer: Featurizer | None = None) -> Data:
    """Parse ``smiles`` and return its graph (see :func:`mol_to_graph`).

    An invalid SMILES raises ``ValueError`` (:class:`~chemdl_utils.chem.InvalidSmilesError`)
    whose message names the SMILES.

    >>> g = smiles_to_graph("CCO")
    >>> g.x.shape, g.edge_index.shape, g.edge_attr.shape
    (torch.Size([3, 6]), torch.Size([2, 4]), torch.Size([4, 2]))
    """
    return mol_to_graph(mol_from_smiles(smiles), featurizer, smiles=smiles)
