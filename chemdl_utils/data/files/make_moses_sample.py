"""Make ``moses_sample.csv.gz``: a fixed-seed sample of 30,000 SMILES of the MOSES training set.

Provenance
----------
MOSES (Molecular Sets; Polykovskiy et al., Front. Pharmacol. 2020) ships its training set
(1,584,663 drug-like molecules filtered from ZINC Clean Leads) as
``moses/dataset/data/train.csv.gz`` inside the ``molsets`` wheel on PyPI (MIT license,
Copyright 2018 Insilico Medicine; see ``moses_LICENSE.txt`` next to this script). The wheel is
fetched at install time only, never by the course at run time, and ``molsets`` is not a
dependency of the course::

    pip download --no-deps molsets==0.3.1 -d /tmp/molsets
    python chemdl_utils/data/files/make_moses_sample.py /tmp/molsets/molsets-0.3.1-py3-none-any.whl

What it does: reads the training SMILES from the wheel (checksums of the wheel and of
``train.csv.gz`` are checked), draws 30,000 row indices without replacement with
``numpy.random.default_rng(13)``, keeps them in the file's order, and writes a gzip file (mtime 0,
so the bytes, and the SHA-256 recorded in ``chemdl_utils/data/registry.py``, are reproducible)
with one column, ``smiles``. The SMILES are copied verbatim (MOSES stores them as RDKit canonical
SMILES without stereochemistry).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL_SHA256 = "7f4450e3ebecebe79c3a2a55950c93daddee071120daf64a163d03481e811d34"  # molsets-0.3.1
TRAIN_MEMBER = "moses/dataset/data/train.csv.gz"
TRAIN_SHA256 = "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c"
N_TRAIN = 1_584_663
N_SAMPLE = 30_000
SEED = 13
OUT = Path(__file__).with_name("moses_sample.csv.gz")


def sample_lines(wheel: Path) -> list[str]:
    """The sampled SMILES (file order) from the molsets wheel at ``wheel``."""
    raw = wheel.read_bytes()
    if hashlib.sha256(raw).hexdigest() != WHEEL_SHA256:
        raise SystemExit(f"{wheel} is not molsets-0.3.1-py3-none-any.whl (sha256 differs)")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        train_gz = archive.read(TRAIN_MEMBER)
    if hashlib.sha256(train_gz).hexdigest() != TRAIN_SHA256:
        raise SystemExit(f"{TRAIN_MEMBER} in {wheel} has an unexpected checksum")
    lines = gzip.decompress(train_gz).decode("ascii").splitlines()
    if lines[0] != "SMILES" or len(lines) - 1 != N_TRAIN:
        raise SystemExit(f"unexpected header {lines[0]!r} or row count {len(lines) - 1}")
    rows = np.sort(np.random.default_rng(SEED).choice(N_TRAIN, size=N_SAMPLE, replace=False))
    return [lines[1 + int(i)] for i in rows]


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    smiles = sample_lines(Path(argv[1]))
    text = ("smiles\n" + "\n".join(smiles) + "\n").encode("ascii")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(text)
    OUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUT} ({len(buffer.getvalue())} bytes, {len(smiles)} SMILES)")
    print(f"sha256 (gzip file)        {hashlib.sha256(buffer.getvalue()).hexdigest()}")
    print(f"sha256 (uncompressed csv) {hashlib.sha256(text).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv)
