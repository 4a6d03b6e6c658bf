"""Book build times: a cold ``chemdl book build`` (empty output folder: every page executes, in
parallel, :mod:`chemdl_utils.book_exec`) and a warm one (the same folder again: every page comes
from the execution cache), into a temporary output folder, with wall and CPU time (the build and
its kernels: ``os.times`` of the reaped child processes).

Without building (``--from-timings``), it reads ``_build/execution-times.json``, the per-page
execution times the last build wrote, and reports their sum.

    .venv/bin/python benchmarks/book.py [--jobs N] [--keep DIR] [--from-timings]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]


def _build(output: Path, jobs: int | None) -> tuple[float, float]:
    """One ``chemdl book build --output OUTPUT``: (wall seconds, CPU seconds of it and its children)."""
    cmd = [sys.executable, "-m", "chemdl_utils", "book", "build", "--output", str(output)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    before, start = os.times(), time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, os.times()
    if done.returncode != 0:
        raise RuntimeError(f"chemdl book build failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, after.children_user - before.children_user + after.children_system - before.children_system


def timings_file(root: Path = REPO) -> Path:
    from chemdl_utils.book_exec import TIMES_FILE

    return root / "_build" / TIMES_FILE


def from_timings(path: Path) -> list[tuple[str, str, str]]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    executed = [r for r in rows if r.get("status") == "executed"]
    total = sum(float(r["seconds"]) for r in rows)
    print(f"book: {len(rows)} pages in {path} ({len(executed)} executed in that build), "
          f"{total:.1f} s of page execution in total")
    return [("book build (last build's page execution)", f"{total:.1f} s over {len(rows)} pages",
             f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}")]


def run(jobs: int | None = None, keep: Path | None = None) -> list[tuple[str, str, str]]:
    """Build cold, then warm, into a temporary folder; print and return the rows."""
    tmp = Path(tempfile.mkdtemp(prefix="chemdl-book-bench-")) if keep is None else keep
    try:
        cold_wall, cold_cpu = _build(tmp, jobs)
        warm_wall, warm_cpu = _build(tmp, jobs)
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"book: cold build {cold_wall:.1f} s wall ({cold_cpu:.1f} s CPU incl. kernels); "
          f"warm build {warm_wall:.1f} s wall ({warm_cpu:.1f} s CPU)")
    return [
        ("book build cold", f"{cold_wall:.1f} s wall, {cold_cpu:.1f} s CPU", f"chemdl book build into an empty folder, jobs={jobs or 'CPUs'}"),
        ("book build warm vs cold", f"{cold_wall / warm_wall:.1f}x ({warm_wall:.1f} s wall, {warm_cpu:.1f} s CPU)",
         "the cold build above; warm = same folder, every page cached"),
    ]


def main(argv: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="pages executed at once (default: CPUs)")
    parser.add_argument("--keep", type=Path, default=None, help="build into DIR and keep it")
    parser.add_argument("--from-timings", nargs="?", const=str(timings_file()), default=None, metavar="FILE",
                        help="no build: report the per-page times the last build wrote")
    args = parser.parse_args(argv)
    rows = from_timings(Path(args.from_timings)) if args.from_timings else run(args.jobs, args.keep)
    for name, figure, anchor in rows:
        print(f"{name}: {figure}  (anchor: {anchor})")
    return rows


if __name__ == "__main__":
    main()
