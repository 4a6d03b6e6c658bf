"""Molecules as graphs: ``torch_geometric.data.Data`` objects with the lecture's features."""

from __future__ import annotations

import weakref
from typing import Callable

import numpy as np
import torch
from rdkit import Chem
from rdkit.rdBase import BlockLogs as _BLOCK_LOGS
from torch_geometric.data import Data
from torch_geometric.data.storage import GlobalStorage

from .features import _DEFAULT, Featurizer, _check_mol, _edges, bonds_of, lecture_graph_arrays
from .mol import mol_from_smiles

__all__ = ["smiles_to_graph", "mol_to_graph", "graph_from_arrays"]


def _data_factory() -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor, str, int], Data]:
    """A function building ``Data(x=, edge_index=, edge_attr=, smiles=, num_nodes=)`` without
    ``Data.__init__``'s per-attribute dispatch (about 30 us, as long as featurizing a small
    molecule). It copies the internal layout of one ``Data`` built the normal way, and checks that
    layout is the one it knows; otherwise (another PyG version) it is ``Data`` itself.
    tests/test_chem.py checks the objects are equal to those ``Data(...)`` builds."""
    keys = ("x", "edge_index", "edge_attr", "smiles", "num_nodes")
    t = torch.zeros(1)
    template = Data(x=t, edge_index=t, edge_attr=t, smiles="", num_nodes=1)
    store = template.__dict__.get("_store")
    if (
        type(store) is not GlobalStorage
        or set(template.__dict__) != {"_store", "_edge_attr_cls", "_tensor_attr_cls"}
        or set(store.__dict__) != {"_mapping", "_parent"}
        or tuple(store._mapping) != keys
    ):
        return lambda x, ei, ea, smiles, n: Data(x=x, edge_index=ei, edge_attr=ea, smiles=smiles, num_nodes=n)
    shared = {k: v for k, v in template.__dict__.items() if k != "_store"}
    new_data, new_store, ref = Data.__new__, GlobalStorage.__new__, weakref.ref

    def make(x: torch.Tensor, ei: torch.Tensor, ea: torch.Tensor, smiles: str, n: int) -> Data:
        out = new_data(Data)
        st = new_store(GlobalStorage)
        st.__dict__["_mapping"] = {"x": x, "edge_index": ei, "edge_attr": ea, "smiles": smiles, "num_nodes": n}
        st.__dict__["_parent"] = ref(out)
        d = out.__dict__
        d.update(shared)
        d["_store"] = st
        return out

    return make


_make_data = _data_factory()


def graph_from_arrays(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, smiles: str) -> Data:
    """The ``Data`` graph :func:`mol_to_graph` returns, from its three arrays (no copies made)."""
    return _make_data(
        torch.from_numpy(x), torch.from_numpy(edge_index), torch.from_numpy(edge_attr), smiles, int(x.shape[0])
    )


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
    if featurizer is None or featurizer == _DEFAULT:
        x, edge_index, edge_attr = lecture_graph_arrays(mol, smiles)
    else:
        x = featurizer.atom_features(mol)
        bond_attr = featurizer.bond_features(mol)
        ends = np.array(
            [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds_of(mol)], dtype=np.int64
        ).reshape(-1, 2)
        edge_index, edge_attr = _edges(ends, bond_attr)
    return graph_from_arrays(x, edge_index, edge_attr, smiles if smiles is not None else Chem.MolToSmiles(mol))


def smiles_to_graph(smiles: str, featurizer: Featurizer | None = None) -> Data:
    """Parse ``smiles`` and return its graph (see :func:`mol_to_graph`).

    An invalid SMILES raises ``ValueError`` (:class:`~chemdl_utils.chem.InvalidSmilesError`)
    whose message names the SMILES.

    >>> g = smiles_to_graph("CCO")
    >>> g.x.shape, g.edge_index.shape, g.edge_attr.shape
    (torch.Size([3, 6]), torch.Size([2, 4]), torch.Size([4, 2]))
    """
    return mol_to_graph(parse_smiles(smiles), featurizer, smiles=smiles)


def parse_smiles(smiles: str) -> Chem.Mol:
    """:func:`~chemdl_utils.chem.mol_from_smiles` (same molecule, same errors), with the common
    case (a valid SMILES) parsed without its error bookkeeping."""
    if type(smiles) is str:
        with _BLOCK_LOGS():
            mol = Chem.MolFromSmiles(smiles.strip())
        if mol is not None and mol.GetNumAtoms() > 0:
            return mol
    return mol_from_smiles(smiles)  # raises the error that says what is wrong
