"""Accessibility of the built book: what a screen-reader or keyboard user meets.

* axe-core (npm ``axe-core``, pinned in package.json / package-lock.json, installed by ``npm ci``)
  runs once on every page, after MathJax, plotly figures and saved widgets have rendered; any
  *serious* or *critical* violation fails, listed with page, rule, target and help URL.
* every ``<img>`` of the site has alt text that says something (not empty, not a file name);
* the interactive figures can be used with the keyboard: a plotly figure with a slider or a menu
  (e.g. the activation explorer) gets native controls (``chemdl_utils/site/assets/plotly-loader.js``)
  that take focus and move with the arrow keys, and the figure follows them.

Pages are served by ``chemdl book serve`` with every request to another host blocked
(``offline_context``). Set ``CHEMDL_BOOK_HTML`` to a built site to iterate without a book build.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from page_scripts import SETTLE_JS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("book")]

#: impacts that fail the test (axe's scale: minor < moderate < serious < critical)
FAILING_IMPACTS = ("serious", "critical")

AXE_RUN_JS = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  const unnamed = Array.from(document.querySelectorAll('.chemdl-plotly-figure'))
    .filter(e => !(e.getAttribute('aria-label') || '').trim()).length;
  const found = r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), impact: n.impact, html: n.html.slice(0, 160)})),
  }));
  if (unnamed) found.push({id: 'chemdl-plotly-figure-name', impact: 'serious', help: 'Interactive plotly figures must have an accessible name (plotly-loader.js sets aria-label from the title)',
                           helpUrl: '', nodes: [{target: '.chemdl-plotly-figure', impact: 'serious', html: unnamed + ' figure(s) without aria-label'}]});
  return found;
}"""


def _fail_if(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what}:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def axe_source(repo_root: Path) -> Path:
    path = repo_root / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file():
        pytest.skip(f"UNAVAILABLE: {path} is missing: run `npm ci` at the repository root (axe-core is pinned "
                    "in package.json / package-lock.json)")
    return path


@pytest.fixture(scope="module")
def axe_results(offline_context, book_url: str, page_paths: list[str], axe_source: Path) -> dict[str, list[dict]]:
    """axe-core's violations on every page (one load and one axe run per page)."""
    results: dict[str, list[dict]] = {}
    start = time.perf_counter()
    for path in page_paths:
        page = offline_context.new_page()
        try:
            page.goto(book_url + path, wait_until="load", timeout=60_000)
            page.evaluate(SETTLE_JS)
            page.add_script_tag(path=str(axe_source))
            results[path] = page.evaluate(AXE_RUN_JS)
        except Exception as exc:  # reported by the test, with the page
            results[path] = [{"id": "(axe did not run)", "impact": "critical", "help": f"{type(exc).__name__}: {exc}",
                              "helpUrl": "", "nodes": [{"target": "", "impact": "critical", "html": ""}]}]
        finally:
            page.close()
    elapsed = time.perf_counter() - start
    print(f"\naxe-core on {len(page_paths)} pages: {elapsed:.1f} s")
    return results


def test_axe_finds_no_serious_or_critical_violation(axe_results):
    problems = []
    counts: dict[str, dict[str, int]] = {}
    for path, violations in axe_results.items():
        for v in violations:
            counts.setdefault(v["impact"] or "?", {}).setdefault(v["id"], 0)
            counts[v["impact"] or "?"][v["id"]] += len(v["nodes"])
            if v["impact"] not in FAILING_IMPACTS:
                continue
            for node in v["nodes"][:5]:
                problems.append(f"{path}: [{v['impact']}] {v['id']}: {v['help']} at {node['target']!r} "
                                f"({node['html']}) -- {v['helpUrl']}")
            if len(v["nodes"]) > 5:
                problems.append(f"{path}: [{v['impact']}] {v['id']}: ... and {len(v['nodes']) - 5} more elements")
    print("axe violations by impact and rule (elements):", counts)
    _fail_if(problems, "axe-core: serious or critical accessibility violations")


def test_axe_ran_on_every_page(axe_results, page_paths):
    assert sorted(axe_results) == sorted(page_paths)


# ---------------------------------------------------------------------------------------------
# alt text

#: a file name or path as alt text (what Sphinx writes when a figure has none): one "word" that ends
#: in an image extension, contains a slash, or is a long hex hash (myst-nb's output file names)
_FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|gif|svg|webp|pdf)$|^\S*[/\\]\S*$|^[0-9a-f]{16,}", re.I)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def alt_problem(img: dict[str, str | None]) -> str | None:
    """Why this ``<img>``'s alt text does not describe it, or None."""
    alt = img.get("alt")
    role = (img.get("role") or "").lower()
    if role in ("presentation", "none") and alt == "":
        return None  # decorative, declared as such
    if alt is None:
        return "no alt attribute"
    alt = alt.strip()
    if not alt:
        return "empty alt on an image that is not marked decorative"
    if _FILE_NAME.search(alt):
        return f"alt is a file name or path: {alt!r}"
    if len(alt.split()) < 2:
        return f"alt is a single word: {alt!r}"
    return None


def test_alt_text_check_rejects_file_names_and_empty_text():
    assert alt_problem({"src": "a.png"}) == "no alt attribute"
    assert alt_problem({"src": "a.png", "alt": " "}).startswith("empty alt")
    assert "file name" in alt_problem({"src": "x.png", "alt": "../../_images/9f2c01ab.png"})
    assert "file name" in alt_problem({"alt": "figure.svg"})
    assert alt_problem({"alt": "", "role": "presentation"}) is None
    assert "file name" in alt_problem({"alt": "41ab13bba0019d55ab7c309286425e9dbc956a30f800490e3b8f2ff0d9dcc28f.png"})
    assert alt_problem({"alt": "Training and validation loss against epoch"}) is None
    assert alt_problem({"alt": "Histograms of molecular weight for random C/N/O chains"}) is None


def test_every_image_has_alt_text_that_describes_it(built_book: Path, page_paths: list[str]):
    problems = []
    n_images = 0
    for rel in page_paths:
        parser = _Images()
        parser.feed((built_book / rel).read_text(encoding="utf-8", errors="replace"))
        for img in parser.images:
            n_images += 1
            why = alt_problem(img)
            if why:
                problems.append(f"{rel}: <img src={img.get('src')!r}>: {why}")
    print(f"{n_images} images checked")
    _fail_if(problems, "images without a description (give each figure `:alt:` / mystnb image alt)")


# ---------------------------------------------------------------------------------------------
# keyboard

FIG_STATE_JS = """(gd) => JSON.stringify({
  visible: gd._fullData.map(t => t.visible),
  y: gd._fullData.map(t => (t.y && t.y.length) ? [t.y[0], t.y[t.y.length - 1]] : null),
  sliders: (gd._fullLayout.sliders || []).map(s => s.active),
  menus: (gd._fullLayout.updatemenus || []).map(m => m.active),
})"""


@pytest.fixture(scope="module")
def control_pages(built_book: Path, page_paths: list[str]) -> list[str]:
    """Pages with a plotly figure that has a slider or a menu (from the figures' JSON)."""
    found = []
    for path in page_paths:
        text = (built_book / path).read_text(encoding="utf-8", errors="replace")
        if 'class="chemdl-plotly-data"' in text and re.search(r'"(sliders|updatemenus)":\[\{', text):
            found.append(path)
    return found


def test_plotly_sliders_and_menus_work_with_the_keyboard(offline_context, book_url, control_pages):
    if not control_pages:
        pytest.skip("no page of this build has a plotly figure with a slider or a menu")
    problems: list[str] = []
    checked = {"slider": 0, "menu": 0}
    for path in control_pages:
        page = offline_context.new_page()
        page.goto(book_url + path, wait_until="load")
        page.evaluate(SETTLE_JS)
        page.wait_for_function("() => document.querySelectorAll('.chemdl-plotly-keys').length >= "
                               "document.querySelectorAll('.chemdl-plotly-figure.js-plotly-plot').length ? true : false",
                               timeout=10_000)
        figures = page.locator(".chemdl-plotly-figure.js-plotly-plot")
        for i in range(figures.count()):
            gd = figures.nth(i).element_handle()
            n_sliders = page.evaluate("(gd) => (gd._fullLayout.sliders || []).length", gd)
            n_menus = page.evaluate("(gd) => (gd._fullLayout.updatemenus || []).length", gd)
            if not (n_sliders or n_menus):
                continue
            name = f"{path} figure {i + 1}"
            ranges = page.locator(f".chemdl-plotly-keys [data-figure-index='{i}'][type='range']")
            menus = page.locator(f".chemdl-plotly-keys select[data-figure-index='{i}']")
            if ranges.count() != n_sliders or menus.count() != n_menus:
                problems.append(f"{name}: {ranges.count()} of {n_sliders} sliders and {menus.count()} of {n_menus} "
                                "menus have keyboard controls")
                continue
            for k in range(n_sliders):
                control = ranges.nth(k)
                label = page.evaluate("(e) => e.labels.length ? e.labels[0].innerText : e.getAttribute('aria-label')",
                                      control.element_handle())
                if not (label or "").strip():
                    problems.append(f"{name}: slider control {k + 1} has no label")
                control.focus()
                if not page.evaluate("(e) => document.activeElement === e && e.tabIndex >= 0", control.element_handle()):
                    problems.append(f"{name}: slider control {k + 1} cannot take focus")
                    continue
                before = page.evaluate(FIG_STATE_JS, gd)
                value = control.input_value()
                page.keyboard.press("ArrowLeft" if value == control.get_attribute("max") else "ArrowRight")
                try:
                    page.wait_for_function(f"([gd, before]) => ({FIG_STATE_JS})(gd) !== before",
                                           arg=[gd, before], timeout=5_000)
                    checked["slider"] += 1
                except Exception:
                    problems.append(f"{name}: the arrow key on slider control {k + 1} did not change the figure")
            for k in range(n_menus):
                control = menus.nth(k)
                control.focus()
                if not page.evaluate("(e) => document.activeElement === e", control.element_handle()):
                    problems.append(f"{name}: menu control {k + 1} cannot take focus")
                    continue
                n_options = control.locator("option").count()
                if n_options < 2:
                    continue
                before = page.evaluate(FIG_STATE_JS, gd)
                current = page.evaluate("(e) => e.selectedIndex", control.element_handle())
                page.keyboard.press("ArrowUp" if current == n_options - 1 else "ArrowDown")
                try:
                    page.wait_for_function(f"([gd, before]) => ({FIG_STATE_JS})(gd) !== before",
                                           arg=[gd, before], timeout=5_000)
                    checked["menu"] += 1
                except Exception:
                    problems.append(f"{name}: the arrow key on menu control {k + 1} did not change the figure")
        page.close()
    _fail_if(problems, f"plotly controls not usable with the keyboard (passed: {checked})")
    print(f"keyboard controls checked: {checked}")


def test_accessibility_fixes_of_the_theme_markup():
    """chemdl_utils.site.a11y rewrites exactly the markup axe-core flags, and is idempotent."""
    from chemdl_utils.site.a11y import MODINDEX_TOGGLE_ALT, NAV_TOGGLE_LABEL, accessibility_fixes

    page = (
        '<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
        'aria-label="Search" data-bs-placement="bottom"><span>Search</span><kbd>Ctrl</kbd>+<kbd>K</kbd></button>'
        '<button class="btn btn-sm pst-navbar-icon search-button search-button__button pst-js-only" title="Search" '
        'aria-label="Search"><i class="fa-solid fa-magnifying-glass"></i></button>'
        '<button class="btn btn-sm nav-link pst-navbar-icon theme-switch-button pst-js-only" aria-label="Color mode" '
        'data-bs-title="Color mode">\n  <i class="theme-switch fa-solid fa-sun" title="Light"></i></button>'
        '<li class="toctree-l1 has-children"><a href="x.html">Part</a><details><summary><span class="toctree-toggle" '
        'role="presentation"><i class="fa-solid fa-chevron-down"></i></span></summary></details></li>'
        '<details class="admonition hide above-input"><summary aria-label="Toggle hidden content">\n'
        '<p class="collapsed admonition-title">Show code cell source</p></summary></details>'
        '<div role="list" class="citation-list"><div class="citation" id="id3" role="doc-biblioentry"></div></div>'
        '<td><img src="_static/minus.png" class="toggler"\n              id="toggle-1" style="display: none" alt="-" /></td>'
    )
    fixed = accessibility_fixes(page)
    assert accessibility_fixes(fixed) == fixed
    # the search field with visible text loses its aria-label; the icon-only search button keeps it
    assert fixed.count('aria-label="Search"') == 1 and 'search-button-field search-button__button pst-js-only" title="Search" data' in fixed
    assert 'aria-label="Color mode"' not in fixed
    assert 'data-bs-title="Color mode"><span class="visually-hidden">Color mode:</span>' in fixed
    assert f'<summary aria-label="{NAV_TOGGLE_LABEL}"><span class="toctree-toggle"' in fixed
    assert "Toggle hidden content" not in fixed and "<summary>\n<p class=\"collapsed" in fixed
    assert 'role="doc-biblioentry"' not in fixed and 'role="listitem"' in fixed
    assert f'id="toggle-1" style="display: none" alt="{MODINDEX_TOGGLE_ALT}" />' in fixed and 'alt="-"' not in fixed
    assert alt_problem({"src": "_static/minus.png", "alt": MODINDEX_TOGGLE_ALT}) is None
