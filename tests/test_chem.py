"""Lecture featurization: the caffeine tables cell by cell, graphs, batch, encodings, fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem

from chemdl_utils.chem import (
    ATOM_ONE_HOT_DIM,
    BOND_ONE_HOT_DIM,
    LECTURE_ATOM_FEATURES,
    LECTURE_BOND_FEATURES,
    Feature,
    Featurizer,
    InvalidSmilesError,
    atom_categories,
    atom_features,
    bond_categories,
    bond_features,
    feature_table,
    featurize_many,
    mol_from_smiles,
    mol_to_graph,
    morgan_fingerprints,
    one_hot_atoms,
    one_hot_bonds,
    rdkit_descriptors,
    smiles_to_graph,
)

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"

# The lecture's node-feature table for caffeine: symbol, then features 1-6.
LECTURE_ATOMS = [
    ("C", 6, 4, 3, 0, 12.011, 0),
    ("N", 7, 3, 0, 0, 14.007, 1),
    ("C", 6, 3, 1, 0, 12.011, 1),
    ("N", 7, 2, 0, 0, 14.007, 1),
    ("C", 6, 3, 0, 0, 12.011, 1),
    ("C", 6, 3, 0, 0, 12.011, 1),
    ("C", 6, 3, 0, 0, 12.011, 1),
    ("O", 8, 1, 0, 0, 15.999, 0),
    ("N", 7, 3, 0, 0, 14.007, 1),
    ("C", 6, 3, 0, 0, 12.011, 1),
    ("O", 8, 1, 0, 0, 15.999, 0),
    ("N", 7, 3, 0, 0, 14.007, 1),
    ("C", 6, 4, 3, 0, 12.011, 0),
    ("C", 6, 4, 3, 0, 12.011, 0),
]
# The lecture's edge-feature table: atom i, atom j, bond type, stereo.
LECTURE_BONDS = [
    (1, 2, 1, 0), (2, 3, 12, 0), (3, 4, 12, 0), (4, 5, 12, 0), (5, 6, 12, 0),
    (6, 7, 12, 0), (7, 8, 2, 0), (7, 9, 12, 0), (9, 10, 12, 0), (10, 11, 2, 0),
    (10, 12, 12, 0), (12, 13, 1, 0), (9, 14, 1, 0), (6, 2, 12, 0), (12, 5, 12, 0),
]


@pytest.fixture(scope="module")
def caffeine_tables():
    return feature_table(CAFFEINE)


@pytest.mark.parametrize("row", range(14))
def test_caffeine_atom_table_matches_lecture_cell_by_cell(caffeine_tables, row):
    atoms, _ = caffeine_tables
    got = atoms.loc[row + 1]
    expected = LECTURE_ATOMS[row]
    assert got["element"] == expected[0]
    names = ["atomic_number", "num_neighbors", "num_hydrogens", "formal_charge", "atomic_mass", "in_ring"]
    for name, value in zip(names, expected[1:]):
        assert got[name] == value, f"atom {row + 1} {name}: {got[name]} != lecture {value}"


@pytest.mark.parametrize("row", range(15))
def test_caffeine_bond_table_matches_lecture_cell_by_cell(caffeine_tables, row):
    _, bonds = caffeine_tables
    got = tuple(int(v) for v in bonds.loc[row + 1, ["atom_i", "atom_j", "bond_type", "stereo"]])
    assert got == LECTURE_BONDS[row]


def test_caffeine_table_shapes_and_numbering(caffeine_tables):
    atoms, bonds = caffeine_tables
    assert atoms.shape == (14, 7) and list(atoms.index) == list(range(1, 15))
    assert bonds.shape == (15, 4) and list(bonds.index) == list(range(1, 16))
    assert atoms["atomic_number"].dtype.kind == "i" and atoms["atomic_mass"].dtype.kind == "f"


def test_fast_path_equals_generic_feature_definitions():
    mol = mol_from_smiles("C[NH3+].[O-]C(=O)c1ccc(cc1)/C=C/Cl")
    generic_atoms = np.array([[f.compute(a) for f in LECTURE_ATOM_FEATURES] for a in mol.GetAtoms()], dtype=np.float32)
    generic_bonds = np.array([[f.compute(b) for f in LECTURE_BOND_FEATURES] for b in mol.GetBonds()], dtype=np.float32)
    np.testing.assert_array_equal(atom_features(mol), generic_atoms)
    np.testing.assert_array_equal(bond_features(mol), generic_bonds)
    assert atom_features(mol)[1, 3] == 1  # formal charge of the ammonium N
    assert 3 in bond_features(mol)[:, 1] or 5 in bond_features(mol)[:, 1]  # E / trans double bond


def test_bond_stereo_is_recorded():
    trans = bond_features(mol_from_smiles("F/C=C/F"))
    cis = bond_features(mol_from_smiles("F/C=C\\F"))
    assert trans[1, 0] == 2 and cis[1, 0] == 2
    assert trans[1, 1] != cis[1, 1] and trans[1, 1] != 0


def test_graph_structure_of_caffeine():
    g = smiles_to_graph(CAFFEINE)
    assert g.x.shape == (14, 6) and g.x.dtype == torch.float32
    assert g.edge_index.shape == (2, 30) and g.edge_index.dtype == torch.long
    assert g.edge_attr.shape == (30, 2)
    assert g.smiles == CAFFEINE and g.num_nodes == 14
    # every bond in both directions, with the same features on both
    for k, (i, j, bond_type, stereo) in enumerate(LECTURE_BONDS):
        assert g.edge_index[:, 2 * k].tolist() == [i - 1, j - 1]
        assert g.edge_index[:, 2 * k + 1].tolist() == [j - 1, i - 1]
        assert g.edge_attr[2 * k].tolist() == g.edge_attr[2 * k + 1].tolist() == [bond_type, stereo]
    from torch_geometric.utils import is_undirected

    assert is_undirected(g.edge_index)


def test_single_atom_molecule_has_empty_edges():
    g = smiles_to_graph("[Na+]")
    assert g.x.shape == (1, 6) and g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, 2)


@pytest.mark.parametrize("bad", ["C1CC", "not a smiles", "C(", "c1cccc1", ""])
def test_invalid_smiles_raise_value_error_naming_it(bad, capfd):
    with pytest.raises(ValueError) as info:
        smiles_to_graph(bad)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, InvalidSmilesError)
    captured = capfd.readouterr()
    assert "SMILES Parse Error" not in captured.err + captured.out  # RDKit's log is silenced


@pytest.mark.parametrize("bad", [None, 42, b"CCO"])
def test_non_string_smiles_raise_type_error(bad):
    with pytest.raises(TypeError, match="SMILES must be a str"):
        smiles_to_graph(bad)


def test_features_reject_non_molecules():
    with pytest.raises(TypeError, match="mol_from_smiles"):
        atom_features("CCO")
    with pytest.raises(TypeError):
        mol_to_graph(None)


def test_featurizer_extra_features_append_after_lecture_columns():
    f = Featurizer(
        extra_atom_features=(Feature("aromatic", lambda a: a.GetIsAromatic()),),
        extra_bond_features=(Feature("conjugated", lambda b: b.GetIsConjugated()),),
    )
    mol = mol_from_smiles("c1ccccc1O")
    x = f.atom_features(mol)
    assert x.shape == (7, 7)
    np.testing.assert_array_equal(x[:, :6], atom_features(mol))
    assert x[:6, 6].tolist() == [1.0] * 6 and x[6, 6] == 0.0
    assert f.atom_feature_names[-1] == "aromatic" and f.bond_feature_names[-1] == "conjugated"
    g = smiles_to_graph("c1ccccc1O", featurizer=f)
    assert g.x.shape == (7, 7) and g.edge_attr.shape == (14, 3)
    atoms, bonds = feature_table("c1ccccc1O", featurizer=f)
    assert "aromatic" in atoms.columns and "conjugated" in bonds.columns


def test_featurize_many_reports_failures_without_crashing():
    smiles = ["CCO", "C1CC", "c1ccccc1", None, "O=C=O"]
    result = featurize_many(smiles, show_progress=False)
    assert len(result) == 3 and result.indices == [0, 2, 4]
    assert [f.index for f in result.failures] == [1, 3]
    assert result.failures[0].smiles == "C1CC" and "C1CC" in result.failures[0].reason
    assert not result.ok
    report = result.report()
    assert "featurized 3 of 5" in report and "#1" in report and "#3" in report
    assert [g.smiles for g in result.graphs] == ["CCO", "c1ccccc1", "O=C=O"]


def test_featurize_many_parallel_equals_serial():
    smiles = ["CCO", "CCN", "bad(", "c1ccccc1", "CC(=O)O"] * 30
    serial = featurize_many(smiles, show_progress=False)
    parallel = featurize_many(smiles, n_jobs=2, chunk_size=16, show_progress=False)
    assert serial.indices == parallel.indices
    assert [f.index for f in serial.failures] == [f.index for f in parallel.failures]
    for a, b in zip(serial.graphs, parallel.graphs):
        assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)


def test_featurize_many_edge_cases():
    assert len(featurize_many([], show_progress=False)) == 0
    with pytest.raises(ValueError, match="n_jobs"):
        featurize_many(["C"], n_jobs=0)
    with pytest.raises(ValueError, match="chunk_size"):
        featurize_many(["C"], chunk_size=0)


def test_one_hot_and_category_encodings():
    g = smiles_to_graph(CAFFEINE)
    cats = atom_categories(g.x)
    assert cats.shape == (14, 5) and cats.dtype == torch.long
    oh = one_hot_atoms(g.x)
    assert oh.shape == (14, ATOM_ONE_HOT_DIM)
    # five categorical blocks each have exactly one 1, and the last column is mass / 100
    assert torch.allclose(oh[:, :-1].sum(1), torch.full((14,), 5.0))
    assert torch.allclose(oh[:, -1], g.x[:, 4] / 100)
    ob = one_hot_bonds(g.edge_attr)
    assert ob.shape == (30, BOND_ONE_HOT_DIM) and torch.all(ob.sum(1) == 2)
    # unseen values go to the "other" bucket instead of failing
    exotic = smiles_to_graph("[U]").x
    assert atom_categories(exotic)[0, 0].item() == 14
    assert bond_categories(torch.tensor([[7.0, 0.0]]))[0, 0].item() == 4
    with pytest.raises(ValueError, match="shape"):
        one_hot_atoms(torch.zeros(3, 4))


def test_fingerprints_and_descriptors():
    fps = morgan_fingerprints(["CCO", "c1ccccc1"], n_bits=1024)
    assert fps.shape == (2, 1024) and fps.dtype == np.float32
    assert set(np.unique(fps)) <= {0.0, 1.0} and fps.sum() > 0
    counts = morgan_fingerprints(["CCCCCC"], counts=True)
    assert counts.max() > 1
    desc = rdkit_descriptors(["CCO"], names=["MolWt", "HeavyAtomCount"])
    np.testing.assert_allclose(desc[0], [46.069, 3], atol=1e-3)
    with pytest.raises(ValueError, match="C1CC"):
        morgan_fingerprints(["CCO", "C1CC"])
    with pytest.raises(TypeError, match="list of SMILES"):
        morgan_fingerprints("CCO")
    with pytest.raises(ValueError, match="unknown RDKit descriptor"):
        rdkit_descriptors(["CCO"], names=["NotADescriptor"])
    assert isinstance(mol_from_smiles("CCO"), Chem.Mol)


def test_quiet_rdkit_restores_the_log_as_it_found_it():
    from rdkit import RDLogger, rdBase

    from chemdl_utils._rdkit import quiet_rdkit

    RDLogger.DisableLog("rdApp.*")
    try:
        with quiet_rdkit():
            pass
        assert "rdApp.error:disabled" in rdBase.LogStatus()  # a caller's silence is kept
    finally:
        RDLogger.EnableLog("rdApp.error")
        RDLogger.EnableLog("rdApp.warning")
    with quiet_rdkit():
        assert "rdApp.error:disabled" in rdBase.LogStatus()
    assert "rdApp.error:enabled" in rdBase.LogStatus() and "rdApp.warning:enabled" in rdBase.LogStatus()
