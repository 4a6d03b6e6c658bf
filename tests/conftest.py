"""Shared fixtures. The executed book is built once per test session and shared by every test
that needs it (book-build, link-check and browser tests are grouped on one xdist worker)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("CHEMDL_PROGRESS", "0")

# A check that cannot run because the machine lacks something (a browser, bubblewrap, PostgreSQL)
# skips with a reason that starts with UNAVAILABLE_PREFIX. Under CI=true such a skip is a failure:
# a green CI run that did not run the security or browser tests is not green.
UNAVAILABLE_PREFIX = "UNAVAILABLE:"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get("CI") != "true":
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if UNAVAILABLE_PREFIX in reason:
        report.outcome = "failed"
        report.longrepr = f"{reason}\n(CI=true: a check that cannot run fails; run `make sysdeps` as root first)"
os.environ.setdefault("CHEMDL_CACHE_DIR", str(REPO / "_build" / "test-cache"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds _config.yml, _toc.yml, book/, exercises/, solutions/)."""
    return REPO


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of ``_build/html`` of a strict, cold build of the whole book into a temporary folder.

    Set ``CHEMDL_BOOK_HTML`` to an existing build to reuse it while iterating on browser tests.
    """
    reuse = os.environ.get("CHEMDL_BOOK_HTML")
    if reuse:
        html = Path(reuse)
        assert (html / "index.html").is_file(), f"CHEMDL_BOOK_HTML={reuse} has no index.html"
        return html
    from chemdl_utils.book import build_book

    out = tmp_path_factory.mktemp("book")
    return build_book(REPO, out, strict=True, rebuild_all=True, quiet=True)
