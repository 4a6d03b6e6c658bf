"""plotly's toolbar on a book page works from the keyboard: its buttons are named, in the Tab
order, shown while focused, and pressed with Enter or Space (``site/assets/plotly-loader.js``).

The page is made here from the same pieces the book uses (``figure_html``, the loader, the
vendored plotly.js), so the test needs no book build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chemdl_utils.site import _plotly_js
from chemdl_utils.site.plotly_mime import figure_html

ASSETS = Path(__file__).resolve().parents[2] / "chemdl_utils" / "site" / "assets"
FIGURE = {"data": [{"type": "scatter", "x": [0, 1, 2, 3], "y": [1, 3, 2, 4], "name": "loss"}],
          "layout": {"title": {"text": "A learning curve"}, "width": 600, "height": 400}}


@pytest.mark.browser
@pytest.mark.xdist_group("book")  # the shared Playwright browser lives on the book's worker
def test_plotly_toolbar_is_reachable_and_usable_with_the_keyboard(browser, tmp_path: Path):
    shutil.copy(ASSETS / "plotly-loader.js", tmp_path / "plotly-loader.js")
    shutil.copy(_plotly_js(), tmp_path / "plotly.min.js")
    (tmp_path / "page.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>figure</title></head><body>"
        "<a href='#top' id='before'>a link before the figure</a>"
        f"{figure_html(FIGURE)}<script src='plotly-loader.js'></script></body></html>", encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto((tmp_path / "page.html").as_uri())
        page.wait_for_selector(".js-plotly-plot .modebar-btn[data-chemdl-keys]", state="attached", timeout=20_000)
        buttons = page.evaluate("""() => [...document.querySelectorAll('.modebar-btn')].map((b) => ({
            title: b.getAttribute('data-title'), tabindex: b.getAttribute('tabindex'),
            role: b.getAttribute('role'), label: b.getAttribute('aria-label')}))""")
        assert len(buttons) >= 5 and all(b["tabindex"] == "0" and b["role"] == "button" and b["label"] == b["title"]
                                         for b in buttons), buttons
        # zoom in, then reach "Autoscale" with Tab alone, and press it with Enter
        page.evaluate("() => Plotly.relayout(document.querySelector('.js-plotly-plot'), {'xaxis.range': [0.5, 1]})")
        page.focus("#before")
        for _ in range(len(buttons) + 2):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.getAttribute('data-title')") == "Autoscale":
                break
        else:
            pytest.fail("Tab never reached the toolbar's Autoscale button")
        shown = page.evaluate("() => getComputedStyle(document.activeElement.closest('.modebar')).opacity")
        assert shown == "1"  # the toolbar shows while a button has focus (plotly shows it on hover only)
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range[0] < 0.1",
                               timeout=5_000)
        # Space presses too: "Zoom in" halves the x range around its centre
        page.focus(".modebar-btn[data-title='Zoom in']")
        width = page.evaluate("() => { const r = document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range;"
                              " return r[1] - r[0]; }")
        page.keyboard.press(" ")
        page.wait_for_function("(w) => { const r = document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range;"
                               " return r[1] - r[0] < 0.75 * w; }", arg=width, timeout=5_000)
    finally:
        page.close()
