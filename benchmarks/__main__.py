"""Run every benchmark in benchmarks/ and print each ratio with its anchor.

    .venv/bin/python -m benchmarks                 # everything (the book is built cold and warm: long)
    .venv/bin/python -m benchmarks --quick         # short: fewer molecules/epochs, 2 submissions, no book build
    .venv/bin/python -m benchmarks --skip book --skip autograde
    .venv/bin/python -m benchmarks --only featurize

Benchmarks: ``featurize`` (vs PyG, vs RDKit's floor, 2-worker scaling), ``train`` (CPU vs CUDA,
device-resident vs plain batches), ``autograde`` (chemdl vs nbgrader), ``book`` (cold and warm
``chemdl book build``; with ``--quick`` the per-page times of the last build are read from
``_build/execution-times.json`` instead, when it exists). ``--tiny`` shrinks every input to a few
molecules (the smoke test's mode: it checks the rows, not the figures). A skipped or failed
benchmark still prints its rows, saying why. Exit status 1 if a benchmark failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

Row = tuple[str, str, str]
NAMES = ("featurize", "train", "autograde", "book")

#: the rows each benchmark prints, also when skipped (the smoke test checks all are there)
EXPECTED_ROWS = {
    "featurize": ["featurization vs PyG", "featurization vs RDKit floor", "featurize_many 2 processes vs 1 process"],
    "train": ["train MolGNN (hidden 128", "train MolGNN FULL_TRAINING", "train MLP", "train GRU Seq2Seq",
              "train SmilesTransformer"],
    "autograde": ["autograde chemdl grade autograde"],
    "book": ["book build"],
}


def _machine() -> str:
    import torch

    from chemdl_utils.device import device_summary

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cuda = device_summary(torch.device("cuda")) if torch.cuda.is_available() else "no CUDA device"
    return (f"{platform.node()}: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"load average {load[0]:.1f}; {cuda}; torch {torch.__version__}, Python {platform.python_version()}")


def _featurize(args: argparse.Namespace) -> list[Row]:
    from benchmarks import featurize

    if args.tiny:
        return featurize.run(quick=True, limit=40, repeats=1, scaling_molecules=60)
    return featurize.run(quick=args.quick)


def _train(args: argparse.Namespace) -> list[Row]:
    from benchmarks import train

    if args.tiny:
        return train.run(quick=True, epochs=1, threads=1, n=24)
    return train.run(quick=args.quick)


def _autograde(args: argparse.Namespace) -> list[Row]:
    from benchmarks import autograde

    argv = ["--quick", "-n", "1"] if args.tiny else (["--quick"] if args.quick else ["-n", "8"])
    code = autograde.main(argv)
    if code != 0:
        raise RuntimeError(f"benchmarks/autograde.py exited {code} (grades differ or nbgrader failed)")
    return list(autograde.LAST_ROWS)


def _book(args: argparse.Namespace) -> list[Row]:
    from benchmarks import book

    if args.quick or args.tiny:
        path = book.timings_file()
        if path.exists():
            return book.from_timings(path)
        return [("book build", "not measured (--quick builds nothing and no _build/execution-times.json exists)",
                 "run `python -m benchmarks --only book` or `make book` first")]
    return book.run(jobs=args.book_jobs)


RUNNERS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "featurize": _featurize, "train": _train, "autograde": _autograde, "book": _book,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (minutes), no book build")
    parser.add_argument("--tiny", action="store_true", help="tiny inputs: checks the command, not the figures")
    parser.add_argument("--skip", action="append", default=[], choices=NAMES, help="skip a benchmark (repeatable)")
    parser.add_argument("--only", action="append", default=[], choices=NAMES, help="run only these (repeatable)")
    parser.add_argument("--book-jobs", type=int, default=None, help="pages executed at once in the book build")
    args = parser.parse_args(argv)
    os.environ.setdefault("CHEMDL_PROGRESS", "0")
    repo = Path(__file__).resolve().parents[1]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))

    print(f"machine: {_machine()}")
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    print(f"mode: {mode}; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    selected = [n for n in NAMES if (not args.only or n in args.only) and n not in args.skip]
    summary: list[tuple[str, list[Row]]] = []
    failed = False
    for name in NAMES:
        if name not in selected:
            summary.append((name, [(row, "skipped (--skip/--only)", "-") for row in EXPECTED_ROWS[name]]))
            continue
        print(f"== {name} ==")
        start, cpu = time.perf_counter(), time.process_time()
        try:
            rows = RUNNERS[name](args)
        except Exception as exc:  # report and go on: one broken benchmark must not hide the others
            traceback.print_exc()
            failed = True
            rows = [(row, f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", "-")
                    for row in EXPECTED_ROWS[name]]
        print(f"({name}: {time.perf_counter() - start:.1f} s wall, {time.process_time() - cpu:.1f} s CPU in this process)\n")
        summary.append((name, rows))

    print("== summary: ratio (anchor) ==")
    for name, rows in summary:
        for row, figure, anchor in rows:
            print(f"[{name}] {row}: {figure}" + (f"  (anchor: {anchor})" if anchor != "-" else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
