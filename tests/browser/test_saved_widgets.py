"""Saved widget views render in the built HTML with no kernel and no network.

No chapter stores widget state at the moment (live explorers are not executed at build time), so
this builds a one-page book with the course's own configuration and post-build step, whose page
displays an ``IntSlider``; the saved view must render from the site's vendored widget manager and
respond to the keyboard.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from myst_pages import notebook_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("book")]

PAGE = notebook_page("""
# Saved widgets

```{code-cell} ipython3
import ipywidgets as widgets

slider = widgets.IntSlider(value=3, min=0, max=10, description="atoms")
slider
```
""")


@pytest.fixture(scope="module")
def widget_book(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    from chemdl_utils.book import build_book

    root = tmp_path_factory.mktemp("widgetbook")
    shutil.copy(repo_root / "_config.yml", root / "_config.yml")
    (root / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (root / "page.md").write_text(PAGE)
    (root / "book").mkdir()
    shutil.copy(repo_root / "book" / "references.bib", root / "book" / "references.bib")
    for shared in ("node_modules", "chemdl_utils"):  # vendored npm assets; the favicon
        (root / shared).symlink_to(repo_root / shared)
    return build_book(root, root, strict=True, quiet=True)


@pytest.fixture(scope="module")
def widget_url(widget_book: Path, book_server):
    with book_server(widget_book) as url:
        yield url


def test_saved_int_slider_renders_offline_and_moves(offline_context, widget_url):
    errors: list[str] = []
    blocked_before = len(offline_context.blocked)
    page = offline_context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(widget_url + "page.html", wait_until="load")
    page.wait_for_selector(".widget-slider", timeout=30_000)
    readout = page.locator(".widget-slider .widget-readout").first
    assert readout.inner_text().strip() == "3", "the saved value of the slider is not shown"
    assert "atoms" in page.locator(".widget-slider").first.inner_text()
    page.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert readout.inner_text().strip() == "4", "the slider did not move on ArrowRight"
    page.close()
    assert offline_context.blocked[blocked_before:] == [], "the widget page asked another host"
    assert not errors, f"console errors: {errors}"
