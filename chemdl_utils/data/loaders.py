"""Read a dataset into a pandas DataFrame (or 3D molecules), checking everything that was read.

Every load checks, in this order: the file's SHA-256 checksum, the expected columns, the number of
records, that RDKit can parse every molecule, and (for labelled sets) that every label is a finite
number in the expected range. A molecule RDKit cannot parse is never dropped silently: by default
it is dropped *with a warning* and listed in ``df.attrs["invalid"]``; ``on_invalid="raise"`` makes
it an error and ``on_invalid="keep"`` keeps it with ``valid == False``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import warnings
from typing import Callable, Literal

import numpy as np
import pandas as pd
from rdkit import Chem

from .._rdkit import quiet_rdkit
from .registry import DatasetError, DatasetSpec, get_spec, list_datasets
from .sources import read_verified

__all__ = ["load_dataset", "load_conformers"]

OnInvalid = Literal["warn", "raise", "keep"]


# --- readers: raw bytes -> DataFrame with the file's own columns (+ "smiles") -----------------


def _read_csv(contents: list[bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(contents[0]))


def _read_csv_gz(contents: list[bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(gzip.decompress(contents[0])))


def _read_parquet(contents: list[bytes]) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(contents[0]))
    except ImportError as exc:  # pandas needs pyarrow (or fastparquet) for parquet
        raise ImportError(
            f"Reading this dataset needs a parquet engine: `pip install pyarrow`. ({exc})"
        ) from exc


def _sdf_records(content: bytes, remove_hs: bool = True) -> list[Chem.Mol | None]:
    supplier = Chem.SDMolSupplier()
    supplier.SetData(content.decode("utf-8"), removeHs=remove_hs)
    with quiet_rdkit():
        return [supplier[i] for i in range(len(supplier))]


def _sdf_frame(content: bytes, fields: tuple[str, ...]) -> pd.DataFrame:
    """One row per SDF record: canonical SMILES of the structure (None if unreadable) + ``fields``.

    The SMILES are written by RDKit from molecules it has just read and sanitized, so they are
    valid by construction; the frame says so in ``attrs["parsed"]`` and is not parsed again.
    """
    rows = []
    for mol in _sdf_records(content):
        row: dict[str, object] = {"smiles": Chem.MolToSmiles(mol) if mol is not None else None}
        props = mol.GetPropsAsDict() if mol is not None else {}
        row.update({f: props.get(f) for f in fields})
        row["smiles_in_file"] = props.get("smiles", props.get("SMILES"))
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["parsed"] = True
    return frame


def _read_solubility(contents: list[bytes]) -> pd.DataFrame:
    fields = ("ID", "NAME", "SOL", "SOL_classification")
    parts = []
    for content, split in zip(contents, ("train", "test")):
        part = _sdf_frame(content, fields)
        part["split"] = split
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)[["smiles", *fields, "split", "smiles_in_file"]]
    frame.attrs["parsed"] = True
    return frame


def _read_cdk2(contents: list[bytes]) -> pd.DataFrame:
    frame = _sdf_frame(contents[0], ("id", "Cluster")).drop(columns="smiles_in_file")
    frame.attrs["parsed"] = True
    return frame


_READERS: dict[str, Callable[[list[bytes]], pd.DataFrame]] = {
    "read_freesolv": _read_csv,
    "read_smiles_csv": _read_csv,
    "read_smiles_csv_gz": _read_csv_gz,
    "read_chembl_drugs": _read_parquet,
    "read_solubility": _read_solubility,
    "read_cdk2": _read_cdk2,
}


# --- checks ------------------------------------------------------------------------------------


def _check_columns(spec: DatasetSpec, frame: pd.DataFrame, where: str) -> None:
    missing = [c for c in spec.raw_columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{where}: expected columns {list(spec.raw_columns)}, but {missing} are missing "
            f"(found {list(frame.columns)}). The file is not the one the course expects."
        )


def _check_count(spec: DatasetSpec, frame: pd.DataFrame, where: str) -> None:
    if len(frame) != spec.info.n_molecules:
        raise DatasetError(
            f"{where}: expected {spec.info.n_molecules} molecules for {spec.info.name!r}, read {len(frame)}."
        )


def _invalid_rows(smiles: pd.Series, parsed: bool = False) -> list[dict[str, object]]:
    """Rows whose SMILES is missing or RDKit cannot parse, with the reason.

    ``parsed=True``: the SMILES were written by RDKit from sanitized molecules (SDF readers), so
    only missing ones are reported.
    """
    bad = []
    with quiet_rdkit():
        for row, smi in enumerate(smiles):
            if not isinstance(smi, str) or not smi.strip():
                reason = "no structure (unreadable record or empty SMILES)"
                bad.append({"row": row, "smiles": smi, "reason": reason})
            elif not parsed and Chem.MolFromSmiles(smi) is None:
                bad.append({"row": row, "smiles": smi, "reason": "RDKit could not parse the SMILES"})
    return bad


def _check_labels(spec: DatasetSpec, frame: pd.DataFrame, where: str) -> pd.Series:
    info = spec.info
    y = pd.to_numeric(frame[info.target], errors="coerce").astype("float64")
    bad = np.flatnonzero(~np.isfinite(y.to_numpy()))
    if len(bad):
        raise DatasetError(
            f"{where}: {len(bad)} labels in column {info.target!r} are not finite numbers "
            f"(rows {bad[:10].tolist()})."
        )
    if info.y_range is not None:
        lo, hi = info.y_range
        out = np.flatnonzero((y < lo) | (y > hi))
        if len(out):
            raise DatasetError(
                f"{where}: {len(out)} labels in column {info.target!r} lie outside the expected "
                f"range [{lo}, {hi}] {info.units} (rows {out[:10].tolist()})."
            )
    return y


def _handle_invalid(
    frame: pd.DataFrame, invalid: list[dict[str, object]], name: str, on_invalid: OnInvalid
) -> pd.DataFrame:
    if invalid and on_invalid == "raise":
        listing = "; ".join(f"row {b['row']}: {b['smiles']!r} ({b['reason']})" for b in invalid[:10])
        raise ValueError(
            f"{name}: {len(invalid)} of {len(frame)} molecules are invalid: {listing}. "
            "Use on_invalid='warn' to drop them with a warning or 'keep' to keep them."
        )
    if on_invalid == "keep":
        bad_rows = {int(b["row"]) for b in invalid}  # type: ignore[call-overload]
        frame["valid"] = [i not in bad_rows for i in range(len(frame))]
    elif invalid:
        warnings.warn(
            f"{name}: dropped {len(invalid)} of {len(frame)} molecules RDKit could not parse "
            f"(first: row {invalid[0]['row']} {invalid[0]['smiles']!r}); see df.attrs['invalid'].",
            stacklevel=3,
        )
        rows = [int(b["row"]) for b in invalid]  # type: ignore[call-overload]
        frame = frame.drop(index=rows).reset_index(drop=True)
    frame.attrs["invalid"] = invalid
    return frame


# --- public API --------------------------------------------------------------------------------


def load_dataset(name: str, *, on_invalid: OnInvalid = "warn", verify: bool = True) -> pd.DataFrame:
    """Load dataset ``name`` (see :func:`list_datasets`) as a DataFrame, in the file's row order.

    Columns: ``"smiles"``, then for labelled sets ``"y"`` (float64, the target in
    ``dataset_info(name).units``), then the file's own columns. ``df.attrs`` holds ``"dataset"``
    and ``"invalid"`` (rows RDKit could not parse: dropped with a warning by default; see the
    module docstring for ``on_invalid``). ``verify=False`` skips the checksum check.

    Missing file or package, or a file that differs from the tested one, raise
    :class:`DatasetError`; an unknown name raises ``ValueError`` listing the known names.

    >>> df = load_dataset("freesolv")
    >>> len(df), df["y"].dtype
    (642, dtype('float64'))
    """
    if on_invalid not in ("warn", "raise", "keep"):
        raise ValueError(f"on_invalid must be 'warn', 'raise' or 'keep', got {on_invalid!r}")
    spec = get_spec(name)
    contents, wheres = [], []
    for file in spec.files:
        content, where = read_verified(file, verify=verify)
        contents.append(content)
        wheres.append(where)
    key = (spec.info.name, hashlib.sha256(b"".join(contents)).hexdigest())
    if key not in _PARSED:
        if len(_PARSED) >= 8:  # a handful of small tables; bound it anyway
            _PARSED.clear()
        _PARSED[key] = _parse(spec, contents, " + ".join(wheres))
    frame, invalid = _PARSED[key]
    frame = _handle_invalid(frame.copy(), list(invalid), spec.info.name, on_invalid)
    frame.attrs["dataset"] = spec.info.name
    return frame


# (dataset name, sha256 of its content) -> (checked frame, invalid rows); parsing is the slow part
_PARSED: dict[tuple[str, str], tuple[pd.DataFrame, list[dict[str, object]]]] = {}


def _parse(
    spec: DatasetSpec, contents: list[bytes], where: str
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Read and check the raw content: columns, count, labels; find invalid molecules."""
    frame = _READERS[spec.reader](contents)
    parsed = bool(frame.attrs.get("parsed", False))
    _check_columns(spec, frame, where)
    _check_count(spec, frame, where)
    info = spec.info
    rest = [c for c in frame.columns if c != "smiles"]
    if info.target is not None:
        y = _check_labels(spec, frame, where)
        frame = pd.concat([frame[["smiles"]], y.rename("y"), frame[rest]], axis=1)
    else:
        frame = frame[["smiles", *rest]]
    frame.attrs = {}
    return frame, _invalid_rows(frame["smiles"], parsed=parsed)


def load_conformers(name: str = "cdk2", *, remove_hs: bool = True, verify: bool = True) -> list[Chem.Mol]:
    """The molecules of ``name`` as RDKit ``Mol`` objects with their 3D conformer (from the SDF).

    Only datasets that ship 3D structures have conformers (``dataset_info(name).has_conformers``;
    today: ``cdk2``, 47 CDK2 inhibitors). ``remove_hs=False`` keeps the file's explicit hydrogens.
    Each molecule keeps the SDF fields as properties (``mol.GetProp("id")``).
    """
    spec = get_spec(name)
    if not spec.info.has_conformers:
        with_3d = [n for n in list_datasets() if get_spec(n).info.has_conformers]
        raise ValueError(
            f"Dataset {name!r} has no 3D conformers; datasets with conformers: {', '.join(with_3d)}. "
            "Use load_dataset() for SMILES, or generate conformers with RDKit's EmbedMolecule."
        )
    mols: list[Chem.Mol] = []
    for file in spec.files:
        content, where = read_verified(file, verify=verify)
        records = _sdf_records(content, remove_hs=remove_hs)
        bad = [
            i
            for i, m in enumerate(records)
            if m is None or m.GetNumConformers() == 0 or not m.GetConformer().Is3D()
        ]
        if bad:
            raise DatasetError(f"{where}: records {bad[:10]} have no readable 3D structure.")
        mols.extend(records)  # type: ignore[arg-type]
    if len(mols) != spec.info.n_molecules:
        raise DatasetError(f"{name}: expected {spec.info.n_molecules} molecules, read {len(mols)}.")
    return mols
