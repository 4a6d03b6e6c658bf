"""The ``chemdl`` command: build and serve the book, show the set-up, grade assignments."""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
from pathlib import Path
from typing import Sequence

from ._version import __version__

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommands ``info``, ``book``, and ``grade`` where installed)."""
    parser = argparse.ArgumentParser(
        prog="chemdl",
        description="Deep Learning in Chemistry: course tools for readers, students and instructors.",
    )
    parser.add_argument("--version", action="version", version=f"chemdl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="versions, device and data files found")
    info.set_defaults(func=_cmd_info)

    book = sub.add_parser("book", help="build or serve the executed book")
    book_sub = book.add_subparsers(dest="book_command", metavar="ACTION")
    build = book_sub.add_parser("build", help="execute the chapters and build _build/html")
    build.add_argument("--root", type=Path, default=None, help="book root (default: found from cwd)")
    build.add_argument("--output", type=Path, default=None, help="folder to hold _build (default: root)")
    build.add_argument("--all", action="store_true", help="rebuild every page, not just changed ones")
    build.add_argument("--no-strict", action="store_true", help="do not fail on Sphinx warnings")
    build.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="notebook pages executed at once (default: number of CPUs, at most the stale pages)")
    build.set_defaults(func=_cmd_book_build)
    serve = book_sub.add_parser("serve", help="serve the built book on localhost")
    serve.add_argument("--html", type=Path, default=None, help="built site (default: _build/html)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=_cmd_book_serve)
    book.set_defaults(func=lambda args: _missing_action(book))

    notebooks = sub.add_parser(
        "notebooks", help="write every chapter as a runnable .ipynb into a scratch folder (live reading)",
        description="Write every chapter of the book as a plain .ipynb (citations as text, numbers from the "
                    "last build, build-only cells dropped) into DIR, mirroring book/. Open and run those; "
                    "the book's sources are never touched.")
    notebooks.add_argument("dir", nargs="?", type=Path, default=Path("chemdl-notebooks"),
                           help="output folder (default: ./chemdl-notebooks)")
    notebooks.add_argument("--root", type=Path, default=None, help="course repository (default: found from cwd)")
    notebooks.add_argument("--cache", type=Path, default=None,
                           help="jupyter-cache of a build (default: <root>/_build/.jupyter_cache)")
    notebooks.add_argument("--keep", action="store_true", help="do not overwrite notebooks that exist already")
    notebooks.set_defaults(func=_cmd_notebooks)

    if importlib.util.find_spec("chemdl_utils.grading.cli") is not None:
        from .grading.cli import register

        register(sub)
    return parser


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _cmd_info(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from .device import device_summary

    print(f"chemdl_utils {__version__} on Python {platform.python_version()} ({platform.platform()})")
    for dist in ("torch", "torch-geometric", "rdkit", "datamol", "nbgrader", "jupyter-book", "ipywidgets", "plotly"):
        try:
            print(f"  {dist:16s} {version(dist)}")
        except PackageNotFoundError:
            print(f"  {dist:16s} not installed")
    print(f"device: {device_summary()}")
    if importlib.util.find_spec("chemdl_utils.data") is not None:
        from . import data

        lister = getattr(data, "dataset_status", None)
        if lister is not None:
            print("datasets:")
            for line in lister():
                print(f"  {line}")
    from .health import run_checks

    print("this machine:")
    for check in run_checks():
        print(f"  {check.line()}")
    return 0


def _cmd_book_build(args: argparse.Namespace) -> int:
    from .book import build_book

    html = build_book(args.root, args.output, strict=not args.no_strict, rebuild_all=args.all, jobs=args.jobs)
    print(f"Built {html / 'index.html'}")
    return 0


def _cmd_notebooks(args: argparse.Namespace) -> int:
    from .notebooks import PLACEHOLDER, export_notebooks

    written = export_notebooks(args.dir, args.root, overwrite=not args.keep, cache_dir=args.cache)
    missing = sum(path.read_text(encoding="utf-8").count(PLACEHOLDER) for path in written)
    print(f"Wrote {len(written)} notebook(s) to {Path(args.dir).resolve()}"
          + (f"; {missing} number(s) say '{PLACEHOLDER}' (no build of that code cached: "
             "`chemdl book build` first to fill them)" if missing else ""))
    return 0


def _cmd_book_serve(args: argparse.Namespace) -> int:
    from .book import serve_book

    serve_book(args.html, host=args.host, port=args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``chemdl``; returns the exit status. User errors print one line, exit 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        from .grading.safe_text import printable  # messages may quote a student's file name

        print(f"chemdl: error: {printable(str(exc))}", file=sys.stderr)
        return 1
