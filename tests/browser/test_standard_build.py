"""The field's own command, ``jupyter-book build``, gives the same self-contained site as
``chemdl book build`` (the vendoring and checks run as the Sphinx extension
``chemdl_utils.site.sphinx_ext`` listed in ``_config.yml``).

No second cold build: ``jupyter-book build <repo> --path-output <tmp>`` starts from a copy of the
execution cache of the ``built_book`` build, so it executes nothing (checked with jupyter-cache and
MyST-NB's log) and only renders. Then a few pages of that site are loaded in chromium with every
request to another host blocked: nothing leaves localhost, math is typeset, plotly figures draw,
saved widget views are not blank. (A saved widget view through the extension is also covered by
``test_saved_widgets.py``, whose one-page book uses the course's ``_config.yml``.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from chemdl_utils import site

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("book")]

_spec = importlib.util.spec_from_file_location("chemdl_browser_helpers", Path(__file__).with_name("conftest.py"))
helpers = sys.modules.setdefault("chemdl_browser_helpers", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(helpers)  # the browser tests' visit(), book_pages() (a dataclass needs sys.modules)


def _records(cache: Path) -> dict[str, tuple]:
    from jupyter_cache import get_cache

    return {r.uri: (r.hashkey, r.created) for r in get_cache(cache).list_cache_records()}


@pytest.fixture(scope="module")
def standard_build(built_book: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    out = tmp_path_factory.mktemp("jupyter-book-build")
    cache = out / "_build" / ".jupyter_cache"
    shutil.copytree(built_book.parent / ".jupyter_cache", cache)
    before = _records(cache)
    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert exe, "jupyter-book is not installed next to this Python"
    start = time.perf_counter()
    done = subprocess.run([exe, "build", str(repo_root), "--path-output", str(out)], cwd=repo_root,
                          capture_output=True, text=True, env={**os.environ, "CHEMDL_PROGRESS": "0"})
    seconds = time.perf_counter() - start
    print(f"\n`jupyter-book build` of the whole book from the execution cache: {seconds:.0f} s wall")
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"jupyter-book build failed (exit {done.returncode}):\n{log[-5000:]}"
    return SimpleNamespace(html=out / "_build" / "html", cache=cache, log=log, before=before,
                           after=_records(cache), seconds=seconds)


def test_standard_build_executes_nothing(standard_build: SimpleNamespace):
    assert standard_build.after == standard_build.before, "jupyter-book build re-executed notebooks"
    assert "Executing notebook" not in standard_build.log
    times = json.loads((standard_build.html.parent / "execution-times.json").read_text())
    assert times and {r["status"] for r in times} == {"cached"}, times
    assert standard_build.log.count("Using cached notebook") == len(times)


def test_standard_build_is_the_same_site(standard_build: SimpleNamespace, built_book: Path):
    """Same vendored assets, same pages (byte for byte), nothing fetched from another host."""
    html = standard_build.html
    vendored = html / site.VENDOR_DIR
    assert (vendored / "VERSIONS.json").is_file(), "jupyter-book build did not vendor the JavaScript assets"

    def listing(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    assert listing(vendored) == listing(built_book / site.VENDOR_DIR)
    assert (vendored / "VERSIONS.json").read_text() == (built_book / site.VENDOR_DIR / "VERSIONS.json").read_text()
    assert site.external_references(html) == []
    pages = helpers.book_pages(html)
    assert pages == helpers.book_pages(built_book)
    differ = [p for p in pages if (html / p).read_bytes() != (built_book / p).read_bytes()]
    assert not differ, f"pages that differ from the `chemdl book build` site: {differ}"


def _pick(html: Path, pages: list[str]) -> list[str]:
    """The root page, the first pages with math, a plotly figure and a saved widget view."""
    chosen = [pages[0]]
    for marker in ('class="math', 'class="chemdl-plotly-data"', "application/vnd.jupyter.widget-view+json"):
        hit = next((p for p in pages if p not in chosen and marker in (html / p).read_text(errors="replace")), None)
        if hit:
            chosen.append(hit)
    return chosen


def test_standard_build_works_offline(standard_build: SimpleNamespace, offline_context, book_server, tmp_path: Path):
    html = standard_build.html
    pages = _pick(html, helpers.book_pages(html))
    blocked_before = len(offline_context.blocked)
    with book_server(html) as url:
        visits = [helpers.visit(offline_context, url, p, tmp_path) for p in pages]
    problems = []
    for v in visits:
        f = v.facts
        if v.error:
            problems.append(f"{v.path}: did not load: {v.error}")
            continue
        problems += [f"{v.path}: request to another host: {u}" for u in v.requests
                     if u.split(":", 1)[0] in ("http", "https") and not u.startswith(url)]
        problems += [f"{v.path}: failed request: {r}" for r in v.failed]
        problems += [f"{v.path}: console error: {e}" for e in v.console_errors]
        if f["math"] != f["math_typeset"] or f["raw_tex"]:
            problems.append(f"{v.path}: {f['math_typeset']} of {f['math']} formulas typeset, {f['raw_tex']} raw TeX")
        if f["plotly_drawn"] != f["plotly_data"]:
            problems.append(f"{v.path}: {f['plotly_drawn']} of {f['plotly_data']} plotly figures drawn")
        if f["widgets"] < f["widget_views"] or f["widget_errors"]:
            problems.append(f"{v.path}: {f['widgets']} of {f['widget_views']} saved widget views rendered")
    problems += [f"(blocked) {u}" for u in offline_context.blocked[blocked_before:]]
    assert not problems, "\n".join(problems)
    assert any(v.facts["mjx"] for v in visits), f"none of {pages} has typeset math"
    print(f"checked offline: {', '.join(pages)}")
