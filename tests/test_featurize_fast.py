"""The fast featurization path gives bit-identical graphs to the plain one; parallel featurization
(NumPy arrays from the helper processes, Data built in the calling process) equals serial
featurization, also when a helper raises or dies."""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch, Data

from chemdl_utils.chem import Feature, Featurizer, featurize_many, quiet_rdkit, smiles_to_graph
from chemdl_utils.chem.batch import _Claims, _gaps
from chemdl_utils.chem.features import _fast_arrays, _fast_path_allowed, _plain_arrays, lecture_graph_arrays
from chemdl_utils.chem.graph import graph_from_arrays
from chemdl_utils.data import load_dataset

# molecules the fast path must get right or hand to the plain path: charges made by RDKit's
# clean-up (nitro, perchlorate), stereo double bonds (also in a ring), isotopes, explicit and lone
# hydrogens, dative and quadruple bonds, CXSMILES, dummy atoms, aromatic NH, metals, salts
EDGE_CASES = [
    "C[N+](=O)[O-]", "CN(=O)=O", "OCl(=O)(=O)=O", "F/C=C/F", "F/C=C\\F", "C1CCCCCCC/C=C/1",
    "[13CH4]", "[2H]C", "C[18F]", "[H][H]", "[H]", "[Na+].[Cl-]", "[NH4+]", "C->[Fe]", "[Fe]<-N",
    "C$C", "CC |$R;;$|", "*C", "[*]CC", "c1cc[nH]c1", "O", "C#N", "C[C@H](N)C(=O)O",
    "C[N+](C)(C)C.[Br-]", "[O-][n+]1ccccc1", "c1ccc2ccccc2c1", "CC(=O)Oc1ccccc1C(=O)O", "[U]", "[Og]",
]


def _shipped_smiles() -> list[str]:
    out: list[str] = []
    for name in ("chembl_drugs", "freesolv", "solubility", "cdk2"):
        out += [s for s in load_dataset(name)["smiles"] if isinstance(s, str)]
    moses = list(load_dataset("moses")["smiles"])
    return out + moses[:: max(1, len(moses) // 500)]


def _same_arrays(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return all(u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes() for u, v in zip(a, b))


def test_fast_path_is_bit_identical_to_plain_path_on_shipped_molecules():
    smiles = _shipped_smiles() + EDGE_CASES
    assert len(smiles) > 4500
    used_fast = 0
    with quiet_rdkit():
        for smi in smiles:
            mol = Chem.MolFromSmiles(smi)
            if mol is None:
                continue
            plain = _plain_arrays(mol)
            assert _same_arrays(lecture_graph_arrays(mol, smi), plain), smi
            if _fast_path_allowed(smi):
                fast = _fast_arrays(mol, "/" in smi or "\\" in smi)
                used_fast += fast is not None
                assert fast is None or _same_arrays(fast, plain), smi
    assert used_fast > 0.95 * len(smiles)  # the fast path is the common case


@pytest.mark.parametrize(
    ("smi", "allowed"),
    [("CCO", True), ("[13CH4]", False), ("[NH4+]", True), ("C->[Fe]", False), ("CC |$R;;$|", False),
     ("C[2H]", False), ("[Cl-]", True)],
)
def test_fast_path_hands_isotopes_dative_bonds_and_cxsmiles_to_the_plain_path(smi, allowed):
    assert _fast_path_allowed(smi) is allowed


def test_charges_made_by_rdkit_cleanup_and_ring_stereo_come_out_right():
    nitro = smiles_to_graph("CN(=O)=O")  # RDKit makes it C[N+](=O)[O-]
    assert sorted(nitro.x[:, 3].tolist()) == [-1.0, 0.0, 0.0, 1.0]
    ring = smiles_to_graph("C1CCCCCCC/C=C/1")
    assert ring.edge_attr[:, 1].abs().sum() > 0  # the ring double bond's stereo is read
    assert bool(ring.x[:, 5].all())


def _graph_state(g: Data) -> tuple:
    return (type(g), sorted(g.__dict__), sorted(g._store.__dict__), list(g._store._mapping),
            g.smiles, g.num_nodes)


def test_fast_data_objects_equal_those_data_builds():
    g = smiles_to_graph("CC(=O)Oc1ccccc1C(=O)O")
    ref = Data(x=g.x.clone(), edge_index=g.edge_index.clone(), edge_attr=g.edge_attr.clone(),
               smiles=g.smiles, num_nodes=g.num_nodes)
    assert _graph_state(g) == _graph_state(ref)
    assert g._store._parent() is g  # the store points back at its own graph
    for key in ("x", "edge_index", "edge_attr"):
        assert torch.equal(g[key], ref[key]) and g[key].dtype == ref[key].dtype and g[key].is_contiguous()
    assert g.is_undirected() and g.num_edges == ref.num_edges
    other = smiles_to_graph("CCN")
    batch = Batch.from_data_list([g, other])
    ref_batch = Batch.from_data_list([ref, Data(x=other.x, edge_index=other.edge_index, edge_attr=other.edge_attr,
                                                smiles=other.smiles, num_nodes=other.num_nodes)])
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(batch[key], ref_batch[key])
    g.y = torch.tensor([1.0])  # still an ordinary, mutable Data
    assert "y" in g and "y" not in smiles_to_graph("CC(=O)Oc1ccccc1C(=O)O")
    x, ei, ea = lecture_graph_arrays(Chem.MolFromSmiles("CCO"), "CCO")
    assert graph_from_arrays(x, ei, ea, "CCO").num_nodes == 3


def test_parallel_featurize_many_equals_serial_with_failures_and_extras():
    smiles = _shipped_smiles()[:600] + ["bad(", None, "", "[13CH4]", "C->[Fe]"] + EDGE_CASES
    serial = featurize_many(smiles, show_progress=False)
    parallel = featurize_many(smiles, n_jobs=2, chunk_size=64, show_progress=False)
    assert serial.indices == parallel.indices
    assert [(f.index, f.smiles, f.reason) for f in serial.failures] == [
        (f.index, f.smiles, f.reason) for f in parallel.failures]
    for a, b in zip(serial.graphs, parallel.graphs):
        assert _graph_state(a) == _graph_state(b)
        for key in ("x", "edge_index", "edge_attr"):
            assert torch.equal(a[key], b[key]) and b[key].dtype == a[key].dtype and b[key].is_contiguous()
            assert b[key].untyped_storage().nbytes() == b[key].numel() * b[key].element_size()  # own memory
    extra = Featurizer(extra_atom_features=(Feature("degree", Chem.Atom.GetDegree),))
    s2 = featurize_many(smiles[:100], featurizer=extra, show_progress=False)
    p2 = featurize_many(smiles[:100], featurizer=extra, n_jobs=2, show_progress=False)
    assert s2.graphs[0].x.shape[1] == 7
    assert all(torch.equal(a.x, b.x) and torch.equal(a.edge_attr, b.edge_attr) for a, b in zip(s2.graphs, p2.graphs))


_TEST_PROCESS = os.getpid()


def _dies_in_a_helper(atom: Chem.Atom) -> float:
    if os.getpid() != _TEST_PROCESS:
        os._exit(3)  # a helper process dies without a word (as on a crash or the OOM killer)
    return float(atom.GetDegree())


def _bromine_is_an_error(atom: Chem.Atom) -> float:
    if atom.GetAtomicNum() == 35:
        raise RuntimeError("a feature that cannot handle bromine")
    return 0.0


def _no_helpers_left(before: set, timeout: float = 10.0) -> bool:
    """No child process started since ``before`` (a set of ``active_children()``) is still alive."""
    deadline = time.monotonic() + timeout
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    return not set(multiprocessing.active_children()) - before


def test_molecules_of_a_helper_that_dies_are_featurized_in_the_calling_process():
    before = set(multiprocessing.active_children())
    smiles = _shipped_smiles()[:400] + ["bad("]
    dying = Featurizer(extra_atom_features=(Feature("degree", _dies_in_a_helper),))
    serial = featurize_many(smiles, featurizer=dying, show_progress=False)
    parallel = featurize_many(smiles, featurizer=dying, n_jobs=3, chunk_size=32, show_progress=False)
    assert parallel.indices == serial.indices and len(parallel) == 400
    assert [f.index for f in parallel.failures] == [400]
    assert all(torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
               for a, b in zip(serial.graphs, parallel.graphs))
    assert _no_helpers_left(before)


def test_an_error_in_a_helper_is_raised_as_in_the_serial_path():
    before = set(multiprocessing.active_children())
    smiles = ["CBr"] + ["CCO", "c1ccccc1O"] * 200  # the bromine is in the first chunk, a helper's
    strict = Featurizer(extra_atom_features=(Feature("bromine", _bromine_is_an_error),))
    with pytest.raises(RuntimeError, match="bromine"):
        featurize_many(smiles, featurizer=strict, show_progress=False)
    with pytest.raises(RuntimeError, match="bromine"):
        featurize_many(smiles, featurizer=strict, n_jobs=2, chunk_size=16, show_progress=False)
    assert _no_helpers_left(before)


def test_claims_cover_every_molecule_once_in_shrinking_chunks():
    claims = _Claims(multiprocessing.get_context(), 1000, processes=2, largest=100)
    taken, sides = [], [claims.take_front, claims.take_back]
    k = 0
    while (claim := sides[k % 2]()) is not None:
        taken.append(claim)
        k += 1
    spans = sorted(taken)
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap
    sizes = [stop - start for start, stop in taken]
    assert max(sizes) == 100 and sizes[-1] <= 8 < sizes[0]  # large while much is left, small at the end
    assert _gaps([(0, 5), (9, 12)], 15) == [(5, 9), (12, 15)] and _gaps([], 3) == [(0, 3)]
