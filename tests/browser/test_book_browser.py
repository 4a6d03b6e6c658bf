"""The published book as a reader sees it, offline: headless chromium against the built site.

Every page is loaded once (``visits`` in conftest) with all non-localhost requests blocked; the
tests below check what each load recorded, then exercise plotly figures (hover, zoom, slider),
the copy buttons and the search page. Screenshots land in ``_build/screenshots/``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("book")]


def _fail_if(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what}:\n  " + "\n  ".join(problems), pytrace=False)


def test_every_page_loads_without_errors(visits):
    problems = []
    for path, v in visits.items():
        if v.error:
            problems.append(f"{path}: did not load: {v.error}")
        problems += [f"{path}: console error: {e}" for e in v.console_errors]
        problems += [f"{path}: failed request: {f}" for f in v.failed]
    _fail_if(problems, "pages with errors")


def test_no_request_leaves_localhost(visits, offline_context):
    problems = []
    for path, v in visits.items():
        for url in v.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                problems.append(f"{path}: {url}")
    problems += [f"(blocked) {url}" for url in offline_context.blocked]
    _fail_if(problems, "requests to other hosts")


def test_math_is_typeset(visits):
    problems = []
    for path, v in visits.items():
        f = v.facts
        if not f:
            continue
        if f["math"] != f["math_typeset"]:
            problems.append(f"{path}: {f['math'] - f['math_typeset']} of {f['math']} formulas not typeset by MathJax")
        if f["raw_tex"]:
            problems.append(f"{path}: {f['raw_tex']} raw TeX delimiters ($$, \\[, \\(, \\begin) left in the prose")
    _fail_if(problems, "math not rendered")
    assert any(v.facts.get("mjx") for v in visits.values()), "no page has any MathJax output"


def test_plotly_figures_draw(visits):
    problems = [
        f"{path}: {v.facts['plotly_drawn']} of {v.facts['plotly_data']} plotly figures drawn"
        for path, v in visits.items()
        if v.facts and v.facts["plotly_drawn"] != v.facts["plotly_data"]
    ]
    _fail_if(problems, "plotly figures not drawn")


def test_saved_widgets_render(visits):
    problems = []
    for path, v in visits.items():
        f = v.facts
        if f and f["widget_views"] and f["widgets"] < f["widget_views"]:
            problems.append(f"{path}: {f['widgets']} of {f['widget_views']} saved widget views rendered")
        if f and f["widget_errors"]:
            problems.append(f"{path}: {f['widget_errors']} 'Error displaying widget' messages")
    _fail_if(problems, "widgets not rendered")


def test_code_cells_have_copy_buttons(visits):
    problems = [
        f"{path}: {v.facts['code_blocks'] - v.facts['copy_buttons']} of {v.facts['code_blocks']} code blocks lack a copy button"
        for path, v in visits.items()
        if v.facts and v.facts["copy_buttons"] < v.facts["code_blocks"]
    ]
    _fail_if(problems, "copy buttons missing")


def test_screenshot_of_every_page(visits):
    missing = [p for p, v in visits.items() if not (v.screenshot and v.screenshot.stat().st_size > 5000)]
    _fail_if(missing, "pages without a screenshot")
    print("screenshots:", *sorted(str(v.screenshot) for v in visits.values()), sep="\n  ")


# ---------------------------------------------------------------------------------------------
# interactions

FIGURE_STATE_JS = """(gd) => JSON.stringify({
  visible: gd._fullData.map(t => t.visible),
  y: gd._fullData.map(t => (t.y && t.y.length) ? [t.y[0], t.y[t.y.length - 1]] : null),
  z: gd._fullData.map(t => (t.z && t.z.length) ? JSON.stringify(t.z[0]).slice(0, 60) : null),
  title: gd._fullLayout.title && gd._fullLayout.title.text,
})"""

# a pixel (relative to the figure's div) over a data point of the first visible cartesian trace
POINT_JS = """(gd) => {
  const fl = gd._fullLayout;
  for (let k = 0; k < gd.calcdata.length; k++) {
    const trace = gd._fullData[k];
    if (trace.visible !== true || !trace.xaxis || trace.hoverinfo === 'skip' || trace.hoverinfo === 'none') continue;
    const xa = fl[trace.xaxis.replace('x', 'xaxis')], ya = fl[trace.yaxis.replace('y', 'yaxis')];
    const cd = gd.calcdata[k].filter(p => p && Number.isFinite(xa.c2p(p.x)) && Number.isFinite(ya.c2p(p.y)));
    if (!cd.length) continue;
    const p = cd[Math.floor(cd.length / 2)];
    return {x: xa._offset + xa.c2p(p.x), y: ya._offset + ya.c2p(p.y)};
  }
  return {x: fl._size.l + fl._size.w / 2, y: fl._size.t + fl._size.h / 2};
}"""


@pytest.fixture(scope="module")
def figure_pages(visits):
    return [p for p, v in visits.items() if v.facts and v.facts["plotly_data"]]


def _open(offline_context, book_url, path):
    page = offline_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.goto(book_url + path, wait_until="load")
    page.wait_for_function(
        "() => document.querySelectorAll('.chemdl-plotly-figure.js-plotly-plot .main-svg').length"
        " >= document.querySelectorAll('script.chemdl-plotly-data').length",
        timeout=30_000,
    )
    return page, errors


def test_plotly_figures_respond_to_hover_zoom_and_sliders(offline_context, book_url, figure_pages):
    if not figure_pages:
        pytest.skip("no page of this build has a plotly figure")
    problems: list[str] = []
    checked = {"hover": 0, "zoom": 0, "slider": 0}
    for path in figure_pages:
        page, errors = _open(offline_context, book_url, path)
        figures = page.locator(".chemdl-plotly-figure.js-plotly-plot")
        for i in range(figures.count()):
            fig = figures.nth(i)
            name = f"{path} figure {i + 1}"
            if not fig.is_visible():
                continue  # e.g. inside a collapsed "hide-output" toggle: drawn, not on screen
            fig.scroll_into_view_if_needed()
            box = fig.bounding_box()
            handle = fig.element_handle()
            cartesian = page.evaluate("(gd) => !!gd._fullLayout.xaxis && gd._fullLayout._has('cartesian')", handle)
            # hover: the mouse over a data point shows a hover label
            pt = page.evaluate(POINT_JS, handle)
            page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
            try:
                page.wait_for_function(
                    "(gd) => (gd._hoverdata && gd._hoverdata.length) || gd.querySelector('.hoverlayer .hovertext')",
                    arg=handle,
                    timeout=3_000,
                )
                checked["hover"] += 1
            except Exception:
                problems.append(f"{name}: no hover label at a data point")
            page.mouse.move(box["x"] + 2, box["y"] + 2)
            # zoom (first figure of each page): dragging a box changes the x range
            if i == 0 and cartesian and page.evaluate("(gd) => gd._fullLayout.dragmode === 'zoom'", handle):
                before = page.evaluate("(gd) => JSON.stringify(gd._fullLayout.xaxis.range)", handle)
                size = page.evaluate("(gd) => gd._fullLayout._size", handle)
                x0, y0 = box["x"] + size["l"] + size["w"] * 0.3, box["y"] + size["t"] + size["h"] * 0.3
                page.mouse.move(x0, y0)
                page.mouse.down()
                page.mouse.move(x0 + size["w"] * 0.3, y0 + size["h"] * 0.3, steps=5)
                page.mouse.up()
                page.wait_for_timeout(300)
                after = page.evaluate("(gd) => JSON.stringify(gd._fullLayout.xaxis.range)", handle)
                if after == before:
                    problems.append(f"{name}: box zoom did not change the x range ({before})")
                else:
                    checked["zoom"] += 1
            # slider: clicking another step changes what the figure shows
            n_steps = page.evaluate(
                "(gd) => (gd._fullLayout.sliders || []).map(s => s.steps.length)[0] || 0", handle
            )
            if n_steps > 1:
                before = page.evaluate(FIGURE_STATE_JS, handle)
                active = page.evaluate("(gd) => gd._fullLayout.sliders[0].active", handle)
                rail = fig.locator(".slider-container .slider-rail-touch-rect").first
                rbox = rail.bounding_box()
                # click the far end of the rail, or its start when the slider is already there
                x = rbox["x"] + (rbox["width"] - 4 if active < n_steps - 1 else 4)
                page.mouse.click(x, rbox["y"] + rbox["height"] / 2)
                try:
                    page.wait_for_function(
                        f"([gd, before]) => ({FIGURE_STATE_JS})(gd) !== before", arg=[handle, before], timeout=5_000
                    )
                    checked["slider"] += 1
                except Exception:
                    problems.append(f"{name}: clicking slider step did not change the figure")
        problems += [f"{path}: console error: {e}" for e in errors]
        page.close()
    _fail_if(problems, f"plotly interactions failed (passed: {checked})")
    print(f"plotly interactions checked: {checked}")


def test_saved_widget_state_is_shown(offline_context, book_url, visits):
    """A saved IntSlider shows its saved value and can be dragged (the widget model works)."""
    pages = [p for p, v in visits.items() if v.facts and v.facts["widget_views"]]
    if not pages:
        pytest.skip("no page of this build has a saved widget view")
    page = offline_context.new_page()
    page.goto(book_url + pages[0], wait_until="load")
    page.wait_for_selector(".jupyter-widgets", timeout=30_000)
    sliders = page.locator(".widget-slider")
    if sliders.count():
        readout = sliders.first.locator(".widget-readout")
        before = readout.inner_text() if readout.count() else None
        handle = sliders.first.locator(".noUi-handle").first
        if handle.count():
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(200)
            assert readout.inner_text() != before, "the slider did not move on ArrowRight"
    page.close()


def test_copy_button_copies_the_code(browser, book_url, visits):
    pages = [p for p, v in visits.items() if v.facts and v.facts["copy_buttons"]]
    if not pages:
        pytest.skip("no page has a code block")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.goto(book_url + pages[0], wait_until="load")
        block = page.locator("div.cell_input div.highlight, div.highlight").first
        block.hover()
        block.locator("button.copybtn").click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.strip() and copied.strip().splitlines()[0] in block.inner_text(), copied
    finally:
        context.close()


def test_search_finds_pages(offline_context, book_url, visits, screenshot_dir):
    titles = [v.facts["title"] for v in visits.values() if v.facts]
    word = next(
        (w for t in titles for w in t.split() if len(w) >= 6 and w.isalpha()),
        "chemistry",
    )
    page = offline_context.new_page()
    page.goto(f"{book_url}search.html?q={word}", wait_until="load")
    page.wait_for_selector("ul.search li", timeout=20_000)
    hits = page.locator("ul.search li").count()
    page.screenshot(path=str(screenshot_dir / "search-results.png"))
    page.close()
    assert hits >= 1, f"searching for {word!r} found nothing"
