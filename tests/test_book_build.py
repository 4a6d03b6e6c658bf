"""The executed book: a strict cold build succeeds, every page of the toc is there, no cell
failed, and a warm rebuild re-executes nothing (the jupyter-cache is reused)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


def _toc_files(repo_root: Path) -> list[str]:
    toc = yaml.safe_load((repo_root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _is_notebook(repo_root: Path, page: str) -> bool:
    if (repo_root / f"{page}.ipynb").is_file():
        return True
    md = repo_root / f"{page}.md"
    return md.is_file() and "jupytext:" in md.read_text(encoding="utf-8").split("\n---", 1)[0]


def test_notebook_pages_have_code(repo_root: Path):
    """A page declared as a notebook (jupytext header) without a code cell starts a kernel for nothing,
    and all such pages share one jupyter-cache record (the cache is keyed by the code): prose-only
    pages are plain MyST Markdown."""
    empty = [p for p in _toc_files(repo_root) if _is_notebook(repo_root, p) and (repo_root / f"{p}.md").is_file()
             and "```{code-cell}" not in (repo_root / f"{p}.md").read_text(encoding="utf-8")]
    assert not empty, f"notebook pages without a code cell (drop their jupytext header): {empty}"


def test_every_toc_page_is_built(built_book: Path, repo_root: Path):
    assert (built_book / "index.html").is_file()
    for page in _toc_files(repo_root):
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} listed in _toc.yml but {html} was not built"


def test_no_page_shows_an_execution_error(built_book: Path):
    reports = built_book / "reports"
    assert not reports.exists() or not any(reports.iterdir()), f"execution failure reports: {list(reports.iterdir())}"
    for page in built_book.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        assert "Traceback (most recent call last)" not in text, f"{page} contains a traceback"
        assert 'class="output traceback' not in text


def test_warm_rebuild_reexecutes_nothing(built_book: Path, repo_root: Path):
    """Rebuilding every page (``--all``) over the same output reuses the cached executions."""
    from jupyter_cache import get_cache

    from chemdl_utils.book import build_book

    cache_dir = built_book.parent / ".jupyter_cache"
    before = {r.uri: r.created for r in get_cache(cache_dir).list_cache_records()}
    executable = [p for p in _toc_files(repo_root) if _is_notebook(repo_root, p)]
    assert len(before) == len(executable), f"cache holds {sorted(before)}; expected one record per notebook page"
    build_book(repo_root, built_book.parent.parent, strict=True, rebuild_all=True, quiet=True)
    after = {r.uri: r.created for r in get_cache(cache_dir).list_cache_records()}
    assert after == before, "a warm rebuild re-executed notebooks whose code did not change"


def test_book_tests_share_one_worker(request: pytest.FixtureRequest):
    """Under ``pytest -n 2 --dist loadgroup`` (``make test``) every test of the "book" group runs on
    one worker, so the whole book is built once per run, not once per worker."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not running on a pytest-xdist worker with --dist loadgroup")
    assert request.node.nodeid.endswith("@book"), (
        f"{request.node.nodeid}: pytest-xdist did not group this test (pytest {pytest.__version__}); "
        "the book would be built on every worker")
