"""The parallel notebook executor of the book build (chemdl_utils.book_exec), on tiny pages in tmp.

Each test starts a few kernels (a few seconds each); none builds the course book.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from myst_pages import notebook_page

from chemdl_utils.book_exec import (
    NotebookExecutionFailed,
    PageResult,
    execute_pages,
    format_table,
    read_page,
    resolve_jobs,
)



def page(*cells: str, extra: str = "", prose: str = "# A page\n\nSome text.\n") -> str:
    body = "".join(f"\n```{{code-cell}} ipython3\n{c}\n```\n" for c in cells)
    return notebook_page("\n" + prose + body, extra)


def _records(cache_dir: Path) -> dict[str, object]:
    from jupyter_cache import get_cache

    return {r.uri: r.created for r in get_cache(cache_dir).list_cache_records()}


def test_resolve_jobs(monkeypatch):
    monkeypatch.delenv("CHEMDL_BOOK_JOBS", raising=False)
    assert resolve_jobs(4, 2) == 2  # never more workers than stale pages
    assert resolve_jobs(1, 5) == 1
    monkeypatch.setenv("CHEMDL_BOOK_JOBS", "3")
    assert resolve_jobs(None, 10) == 3
    with pytest.raises(ValueError, match="positive integer"):
        resolve_jobs(-1, 3)
    with pytest.raises(ValueError, match="positive integer"):
        resolve_jobs("many", 3)


def test_plain_markdown_is_not_a_notebook(tmp_path: Path):
    (tmp_path / "prose.md").write_text("# Only prose\n\n```python\nprint(1)\n```\n")
    (tmp_path / "nb.md").write_text(page("x = 1"))
    assert read_page(tmp_path / "prose.md") is None
    job = read_page(tmp_path / "nb.md")
    assert job is not None and [c.source for c in job.notebook.cells if c.cell_type == "code"] == ["x = 1"]


def test_pages_run_in_parallel_in_their_folder_then_come_from_the_cache(tmp_path: Path):
    """Two pages run at the same time (their execution intervals overlap and the wall time is
    below the sum of their times), each in its own folder; a second run executes nothing."""
    cells = (
        "import json, pathlib, time\nstart = time.time()\nsecret = pathlib.Path('data.txt').read_text()",
        "time.sleep(4)",
        "pathlib.Path('interval.json').write_text(json.dumps([start, time.time(), secret]))",
    )
    paths = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "data.txt").write_text(f"data of {name}")  # read relative to the page's folder
        # distinct code: jupyter-cache keys records by the code, so identical pages would share one
        (folder / f"{name}.md").write_text(page(f"# page {name}", *cells))
        paths.append(folder / f"{name}.md")
    (tmp_path / "prose.md").write_text("# No code\n")  # plain Markdown: skipped
    cache = tmp_path / "cache"

    start = time.perf_counter()
    results = execute_pages([*paths, tmp_path / "prose.md"], cache, jobs=2)
    wall = time.perf_counter() - start

    assert [r.status for r in results] == ["executed", "executed"], results
    (a0, a1, a_data), (b0, b1, b_data) = (json.loads((p.parent / "interval.json").read_text()) for p in paths)
    assert (a_data, b_data) == ("data of a", "data of b")
    assert a0 < b1 and b0 < a1, f"pages ran one after the other: a {a0:.1f}-{a1:.1f}, b {b0:.1f}-{b1:.1f}"
    assert wall < sum(r.seconds for r in results), (wall, results)
    before = _records(cache)
    assert sorted(before) == sorted(str(p.resolve()) for p in paths)

    again = execute_pages(paths, cache, jobs=2)
    assert [r.status for r in again] == ["cached", "cached"]
    assert [round(r.seconds, 3) for r in again] == [round(r.seconds, 3) for r in results]  # recorded times
    assert _records(cache) == before, "the second run re-executed a page"
    table = format_table(again)
    assert "a" in table and "cached" in table and "total" in table


def test_failing_cell_names_page_and_cell_and_other_pages_are_cached(tmp_path: Path):
    good = tmp_path / "good.md"
    good.write_text(page("x = 1", "x + 1"))
    bad = tmp_path / "bad.md"
    bad.write_text(page("y = 2", "raise ValueError('negative bond length')", "print('never')"))
    slow = tmp_path / "slow.md"  # the page's own metadata sets a 2 s cell timeout
    slow.write_text(page("import time", "time.sleep(30)", extra="execution:\n  timeout: 2\n"))
    cache = tmp_path / "cache"

    with pytest.raises(NotebookExecutionFailed) as info:
        execute_pages([good, bad, slow], cache, jobs=2)
    failures = {Path(r.page).name: r for r in info.value.failures}
    message = str(info.value)
    assert set(failures) == {"bad", "slow"}, message
    b = failures["bad"]
    # cell 1 is the Markdown heading; the failing code cell is the page's 3rd cell
    assert (b.cell, b.error) == (3, "ValueError: negative bond length"), b
    assert b.line is not None and bad.read_text().splitlines()[b.line - 1].startswith("```{code-cell}")
    assert "raise ValueError" in bad.read_text().splitlines()[b.line]
    assert f"{b.page}: cell 3 (line {b.line}): ValueError: negative bond length" in message
    s = failures["slow"]
    assert s.cell == 3 and "Timeout" in s.error, s
    assert "time.sleep(30)" in slow.read_text().splitlines()[s.line]
    # the good page was cached; the failing ones were not
    assert list(_records(cache)) == [str(good.resolve())]
    again = execute_pages([good], cache)
    assert [r.status for r in again] == ["cached"]


BOOK_CONFIG = """title: tiny
only_build_toc_files: true
execute:
  execute_notebooks: cache
  timeout: 60
  allow_errors: false
  run_in_temp: false
parse:
  myst_enable_extensions: [colon_fence, dollarmath, amsmath]
sphinx:
  extra_extensions: [chemdl_utils.book_exec]
  config:
    nb_execution_raise_on_error: true
"""


@pytest.mark.skipif(shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None,
                    reason="jupyter-book is not installed in this environment")
def test_sphinx_takes_every_page_from_the_cache(tmp_path: Path):
    """In a jupyter-book build, the extension executes the pages first; MyST-NB then reports
    "Using cached notebook" for each (the cache keys match MyST-NB's, colon fences and math
    included) and executes none; the table of execution times is printed and saved."""
    (tmp_path / "_config.yml").write_text(BOOK_CONFIG)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: one\n  - file: two\n")
    (tmp_path / "index.md").write_text("# Tiny book\n\nNo code here.\n")
    fence = ":::{note}\nA colon fence with $x^2$ math.\n:::\n"
    (tmp_path / "one.md").write_text(page("print('one')", prose="# One\n\n" + fence))
    (tmp_path / "two.md").write_text(page("import os\nprint(len(os.listdir('.')))", "1 + 1",
                                          prose="# Two\n\n$$E = mc^2$$\n"))
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    done = subprocess.run([jb, "build", str(tmp_path), "--path-output", str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert log.count("Using cached notebook") == 2, log[-3000:]
    assert "Executing notebook" not in log, log[-3000:]
    times = json.loads((tmp_path / "_build" / "execution-times.json").read_text())
    assert sorted((r["page"], r["status"]) for r in times) == [("one", "executed"), ("two", "executed")]
    assert "notebook execution times:" in log
    assert len(_records(tmp_path / "_build" / ".jupyter_cache")) == 2


def test_page_result_table_sorts_longest_first():
    table = format_table([PageResult("short", 1.0, "cached"), PageResult("long", 12.5, "executed")])
    lines = table.splitlines()
    assert lines[2].startswith("long") and "12.5" in lines[2] and lines[3].startswith("short")
    assert "13.5" in lines[-1] and "12.5 s executed" in lines[-1]


def test_site_extension_acts_only_after_a_successful_html_build(monkeypatch, tmp_path: Path):
    """chemdl_utils.site.sphinx_ext runs post_build once per successful html build, never otherwise."""
    from types import SimpleNamespace

    from chemdl_utils import site
    from chemdl_utils.site import sphinx_ext

    calls = []
    monkeypatch.setattr(site, "post_build", lambda root, html, cache_dir=None: calls.append((root, html, cache_dir)))

    def app(builder: str) -> SimpleNamespace:
        config = SimpleNamespace(execution_cache_path=str(tmp_path / "cache"))
        return SimpleNamespace(builder=SimpleNamespace(name=builder), srcdir=str(tmp_path),
                               outdir=str(tmp_path / "_build" / "html"), env=SimpleNamespace(mystnb_config=config))

    sphinx_ext._post_build(app("html"), RuntimeError("a cell failed"))
    for builder in ("latex", "linkcheck", "dirhtml", "singlehtml"):
        sphinx_ext._post_build(app(builder), None)
    assert calls == []
    sphinx_ext._post_build(app("html"), None)
    assert calls == [(tmp_path, tmp_path / "_build" / "html", tmp_path / "cache")]


def test_course_config_lists_both_extensions_and_build_book_checks_jobs(repo_root: Path):
    import yaml

    from chemdl_utils.book import build_book, site_extension_configured
    from chemdl_utils.cli import build_parser

    extensions = yaml.safe_load((repo_root / "_config.yml").read_text())["sphinx"]["extra_extensions"]
    assert "chemdl_utils.book_exec" in extensions and "chemdl_utils.site.sphinx_ext" in extensions
    assert site_extension_configured(repo_root)  # so `chemdl book build` does not post-build twice
    assert build_parser().parse_args(["book", "build", "--jobs", "3"]).jobs == 3
    with pytest.raises(ValueError, match="positive integer"):
        build_book(repo_root, jobs=0)
