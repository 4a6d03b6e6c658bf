"""Build and serve the Jupyter Book (the executed course pages)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["find_book_root", "build_book", "serve_book", "site_extension_configured"]


def find_book_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``_config.yml`` and ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(
        f"no _config.yml + _toc.yml found at or above {here}; run this inside the course repository "
        "or pass --root"
    )


def build_book(
    root: Path | str | None = None,
    output: Path | str | None = None,
    strict: bool = True,
    rebuild_all: bool = False,
    quiet: bool = False,
    jobs: int | None = None,
) -> Path:
    """Execute and build the book with jupyter-book; return the ``html`` folder.

    ``output`` is the folder that receives ``_build`` (default: the book root, so the result is
    ``<root>/_build/html`` and the execution cache ``<root>/_build/.jupyter_cache`` is reused by
    the next build). ``strict`` turns every Sphinx warning and every cell error into a failure.
    ``jobs`` is how many stale notebook pages execute at once (default: the number of CPUs, at
    most the number of stale pages; :mod:`chemdl_utils.book_exec`). The site is made
    self-contained by the Sphinx extension :mod:`chemdl_utils.site.sphinx_ext` during the build
    (so plain ``jupyter-book build .`` gives the same site); for a book whose ``_config.yml``
    does not list it, the same step runs here after the build.
    Raises ``RuntimeError`` with jupyter-book's exit status if the build fails.
    """
    root = find_book_root(root)
    output_dir = Path(output).resolve() if output else root
    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if exe is None:
        raise RuntimeError("jupyter-book is not installed; run `make book` or `pip install -e .`")
    cmd = [exe, "build", str(root), "--path-output", str(output_dir), "--builder", "html"]
    if strict:
        cmd += ["-W", "--keep-going"]
    if rebuild_all:
        cmd.append("--all")
    if quiet:
        cmd.append("-q")
    env = {**os.environ, "CHEMDL_PROGRESS": os.environ.get("CHEMDL_PROGRESS", "0")}
    if jobs is not None:
        from .book_exec import JOBS_ENV

        if int(jobs) < 1:
            raise ValueError(f"jobs must be a positive integer (notebook pages executed at once), got {jobs}")
        env[JOBS_ENV] = str(int(jobs))
    done = subprocess.run(cmd, cwd=root, env=env)
    if done.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed (exit {done.returncode}); the log above names the page and "
            "cell; executed-notebook reports are under _build/html/reports/"
        )
    html = output_dir / "_build" / "html"
    if not site_extension_configured(root):
        _run_post_build_steps(root, html)
    return html


def site_extension_configured(root: Path | str) -> bool:
    """Whether the book's ``_config.yml`` lists :mod:`chemdl_utils.site.sphinx_ext`, which makes
    every html build self-contained (then ``build_book`` does not repeat that step)."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    extensions = (config.get("sphinx") or {}).get("extra_extensions") or []
    return "chemdl_utils.site.sphinx_ext" in extensions


def _run_post_build_steps(root: Path, html: Path) -> None:
    """Steps applied to the built site after Sphinx, for a book whose ``_config.yml`` does not list
    the extension (see ``chemdl_utils.site``, if present)."""
    try:
        from . import site
    except ImportError:
        return
    site.post_build(root, html)


def serve_book(html: Path | str | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the built site on ``http://host:port/`` until interrupted (localhost only by default)."""
    folder = Path(html) if html else find_book_root() / "_build" / "html"
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"{folder}/index.html not found: build the book first (`chemdl book build`)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"Serving {folder} at http://{host}:{server.server_address[1]}/ (Ctrl+C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
