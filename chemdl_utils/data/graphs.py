"""A dataset of molecular graphs (PyG ``InMemoryDataset``), featurized once and cached on disk.

The cache file's name records everything the graphs depend on: the featurization version
(``chemdl_utils.chem.FEATURIZATION_VERSION``), the checksum of the source file(s) and the feature
names of the featurizer. Change any of them and the next construction featurizes again; otherwise
it just loads the file (fast).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch_geometric.data import InMemoryDataset

from .. import chem as _chem
from ..chem.batch import FeaturizationFailure, featurize_many
from ..chem.features import Featurizer
from .cache import cache_dir
from .loaders import load_dataset
from .registry import DatasetInfo, get_spec
from .sources import read_verified, sha256_bytes

__all__ = ["MoleculeGraphDataset"]


def _featurizer_key(featurizer: Featurizer | None) -> str:
    """``lecture`` for the default features, else a short hash of the feature names."""
    f = featurizer or Featurizer()
    names = f.atom_feature_names + ["|"] + f.bond_feature_names
    if names == Featurizer().atom_feature_names + ["|"] + Featurizer().bond_feature_names:
        return "lecture"
    return "f" + hashlib.sha256(",".join(names).encode()).hexdigest()[:10]


class MoleculeGraphDataset(InMemoryDataset):
    """Graphs of every molecule of dataset ``name`` with the lecture's atom and bond features.

    Each item is a ``torch_geometric.data.Data`` from :func:`~chemdl_utils.chem.smiles_to_graph`
    with ``x``, ``edge_index``, ``edge_attr``, ``smiles``, ``row`` (its row in
    ``load_dataset(name)``) and, for labelled datasets, ``y`` of shape ``(1, 1)`` float32 in
    ``info.units``. Index it with the arrays from :func:`random_split` / :func:`scaffold_split`::

        ds = MoleculeGraphDataset("freesolv")
        train, val, test = scaffold_split(ds.smiles)
        loader = DataLoader(ds[train], batch_size=64, shuffle=True)

    Graphs are cached under ``root`` (default ``$CHEMDL_CACHE_DIR/graphs/<name>``, i.e.
    ``~/.cache/chemdl/graphs/<name>``) and rebuilt when the featurization version, the source
    checksum or the featurizer's feature names change (or with ``force_reload=True``). Molecules
    that cannot be featurized are left out with a warning and listed in ``ds.failures``; with
    none left out, position ``i`` of the dataset is row ``i`` of ``load_dataset(name)``.
    The cache key uses the featurizer's feature *names*: give custom features distinct names.
    """

    def __init__(
        self,
        name: str,
        root: str | os.PathLike[str] | None = None,
        featurizer: Featurizer | None = None,
        *,
        transform: Callable | None = None,
        force_reload: bool = False,
        n_jobs: int = 1,
        verify: bool = True,
    ) -> None:
        spec = get_spec(name)
        if featurizer is not None and not isinstance(featurizer, Featurizer):
            kind = type(featurizer).__name__
            raise TypeError(f"featurizer must be a chemdl_utils.chem.Featurizer or None, got {kind}")
        self.info: DatasetInfo = spec.info
        self.name = spec.info.name
        self.featurizer = featurizer
        self.n_jobs = n_jobs
        self.verify = verify
        self.failures: list[FeaturizationFailure] = []
        contents = [read_verified(f, verify=verify)[0] for f in spec.files]
        self.source_sha256 = sha256_bytes(b"".join(contents))
        self.featurization_version = int(_chem.FEATURIZATION_VERSION)
        self._processed_name = (
            f"graphs_v{self.featurization_version}_{self.source_sha256[:12]}_{_featurizer_key(featurizer)}.pt"
        )
        root = Path(root) if root is not None else cache_dir() / "graphs" / self.name
        super().__init__(str(root), transform=transform, log=False, force_reload=force_reload)
        self.load(self.processed_paths[0])
        self.failures = self._read_report()
        if self.failures:
            warnings.warn(
                f"{self.name}: {len(self.failures)} molecules could not be featurized and were left "
                f"out (first: {self.failures[0].smiles!r}: {self.failures[0].reason}); see ds.failures.",
                stacklevel=2,
            )

    # --- PyG hooks -------------------------------------------------------------------------

    @property
    def raw_file_names(self) -> list[str]:
        """No raw copies: the source files are read from their package (see ``info.source``)."""
        return []

    @property
    def processed_file_names(self) -> list[str]:
        """One file per (featurization version, source checksum, featurizer)."""
        return [self._processed_name]

    def process(self) -> None:
        """Featurize every molecule of the dataset (with a progress bar) and save the graphs."""
        frame = load_dataset(self.name, verify=self.verify)
        result = featurize_many(frame["smiles"].tolist(), featurizer=self.featurizer, n_jobs=self.n_jobs)
        labelled = self.info.target is not None
        for graph, row in zip(result.graphs, result.indices):
            graph.row = int(row)
            if labelled:
                graph.y = torch.tensor([[float(frame["y"].iat[row])]], dtype=torch.float32)
        if not result.graphs:
            raise ValueError(f"{self.name}: no molecule could be featurized.\n{result.report()}")
        path = Path(self.processed_paths[0])
        report = {
            "dataset": self.name,
            "featurization_version": self.featurization_version,
            "source_sha256": self.source_sha256,
            "n_graphs": len(result.graphs),
            "failures": [
                {"index": f.index, "smiles": str(f.smiles), "reason": f.reason} for f in result.failures
            ],
        }
        _atomic_write(path.with_suffix(".json"), lambda p: p.write_text(json.dumps(report, indent=1)))
        _atomic_write(path, lambda p: self.save(result.graphs, str(p)))

    # --- helpers ---------------------------------------------------------------------------

    def _read_report(self) -> list[FeaturizationFailure]:
        report_path = Path(self.processed_paths[0]).with_suffix(".json")
        if not report_path.is_file():
            return []
        report = json.loads(report_path.read_text())
        failures = report.get("failures", [])
        return [FeaturizationFailure(f["index"], f["smiles"], f["reason"]) for f in failures]

    @property
    def cache_path(self) -> Path:
        """The processed file holding the graphs."""
        return Path(self.processed_paths[0])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name!r}, {len(self)} graphs)"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via a temporary file and rename, so a parallel reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
