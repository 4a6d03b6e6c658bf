"""Fixtures for the browser tests: Debian's chromium, driven by Playwright, against the built book
served by ``chemdl book serve`` on localhost, with every request to another host blocked and
recorded (the reader's offline case).

Each page of the book is visited once per session (``visits``); the tests then assert on what
was recorded, so the whole file costs one load per page plus a few interactions.
"""

from __future__ import annotations

import contextlib

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterator
from urllib.parse import urlsplit

import pytest
from page_scripts import SETTLE_JS

CHROMIUM = Path(os.environ.get("CHEMDL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SKIP_TOP = {"_static", "_sources", "_images", "_sphinx_design_static", "reports"}


def _chromium_missing() -> str | None:
    """Why the browser cannot be used, or None. The browser is installed by `make sysdeps`
    (scripts/system-deps.sh) before the tests start, never by a test worker."""
    if CHROMIUM.is_file():
        return None
    return f"{CHROMIUM} is missing: run `make sysdeps` as root (apt-get install -y chromium)"


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    why = _chromium_missing()
    if why:
        pytest.skip(f"UNAVAILABLE: browser tests not run: {why}")
    return CHROMIUM


@contextlib.contextmanager
def serve(html: Path) -> Iterator[str]:
    """``chemdl book serve`` of ``html`` on a free localhost port; yields its base URL."""
    cmd = [sys.executable, "-u", "-m", "chemdl_utils", "book", "serve", "--html", str(html), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"`chemdl book serve` did not report its address: {line!r} (exit {proc.poll()})"
        yield f"http://127.0.0.1:{match.group(1)}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def book_server() -> Callable[[Path], ContextManager[str]]:
    """:func:`serve`, for tests that serve a site of their own."""
    return serve


@pytest.fixture(scope="session")
def book_url(built_book: Path):
    """The built book, served on localhost; its base URL."""
    with serve(built_book) as url:
        yield url


@pytest.fixture(scope="session")
def screenshot_dir(repo_root: Path) -> Path:
    folder = Path(os.environ.get("CHEMDL_SCREENSHOTS", repo_root / "_build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the book pages: {folder}")
    return folder


def pytest_collection_modifyitems(config, items) -> None:
    """Playwright's sync API holds an event loop in the process that starts it, for the whole
    session: a second one (the hub test's) fails there, and worker processes forked from it (the
    book executor's) hang. So every test that uses the shared ``browser`` runs on the book's xdist
    worker: it must be marked ``xdist_group("book")``."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and \
                not any(m.args[:1] == ("book",) for m in item.iter_markers("xdist_group")):
            raise pytest.UsageError(f"{item.nodeid} uses the shared browser: mark it "
                                    "@pytest.mark.xdist_group(\"book\")")


@pytest.fixture(scope="session")
def browser(chromium_executable: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def offline_context(browser):
    """A browser context in which every request to a host other than localhost is aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def route(route, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            blocked.append(request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/*", route)
    context.blocked = blocked  # type: ignore[attr-defined]
    yield context
    context.close()


def book_pages(html: Path) -> list[str]:
    """Site-relative paths of the book's HTML pages (not the redirect stub, not _static)."""
    pages = []
    for page in sorted(html.rglob("*.html")):
        rel = page.relative_to(html)
        if rel.parts[0] in SKIP_TOP:
            continue
        if rel.as_posix() == "index.html" and "http-equiv=\"Refresh\"" in page.read_text(errors="replace"):
            continue  # jupyter-book's redirect to the root page
        pages.append(rel.as_posix())
    return pages


@dataclass
class Visit:
    """What loading one page recorded."""

    path: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    screenshot: Path | None = None
    error: str | None = None


FACTS_JS = """() => {
  const q = (s) => document.querySelectorAll(s);
  const maths = Array.from(q('div.math, span.math'));
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, mjx-container, .highlight').forEach(e => e.remove());
  const codeBlocks = Array.from(q('div.cell_input div.highlight, div.highlight-python div.highlight, div.highlight-ipython3 div.highlight, div.highlight-bash div.highlight'));
  return {
    title: document.title,
    math: maths.length,
    math_typeset: maths.filter(e => e.querySelector('mjx-container')).length,
    mjx: q('mjx-container').length,
    raw_tex: (clone.innerText.match(/\\$\\$|\\\\\\[|\\\\\\(|\\\\begin\\{/g) || []).length,
    plotly_data: q('script.chemdl-plotly-data').length,
    plotly_drawn: q('.chemdl-plotly-figure.js-plotly-plot .main-svg').length ? q('.chemdl-plotly-figure.js-plotly-plot').length : 0,
    widget_views: q('script[type="application/vnd.jupyter.widget-view+json"]').length,
    widgets: q('.jupyter-widgets').length,
    widget_errors: (document.body.innerText.match(/Error displaying widget|Failed to load model/g) || []).length,
    code_blocks: codeBlocks.length,
    copy_buttons: codeBlocks.filter(e => e.querySelector('button.copybtn')).length,
  };
}"""



def visit(context, base: str, path: str, screenshot_dir: Path) -> Visit:
    record = Visit(path)
    page = context.new_page()
    page.on("request", lambda r: record.requests.append(r.url))
    page.on("requestfailed", lambda r: record.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and record.failed.append(f"{r.url} (HTTP {r.status})"))
    page.on("console", lambda m: m.type == "error" and record.console_errors.append(m.text))
    page.on("pageerror", lambda e: record.console_errors.append(f"uncaught: {e}"))
    try:
        page.goto(base + path, wait_until="load", timeout=60_000)
        page.evaluate(SETTLE_JS)
        record.facts = page.evaluate(FACTS_JS)
        shot = screenshot_dir / (path.replace("/", "__").removesuffix(".html") + ".png")
        page.screenshot(path=str(shot), full_page=True)
        record.screenshot = shot
    except Exception as exc:  # recorded, asserted by test_every_page_loads
        record.error = f"{type(exc).__name__}: {exc}"
    finally:
        page.close()
    return record


@pytest.fixture(scope="session")
def page_paths(built_book: Path) -> list[str]:
    pages = book_pages(built_book)
    assert pages, f"no HTML pages found in {built_book}"
    return pages


@pytest.fixture(scope="session")
def visits(offline_context, book_url: str, page_paths: list[str], screenshot_dir: Path) -> dict[str, Visit]:
    return {path: visit(offline_context, book_url, path, screenshot_dir) for path in page_paths}
