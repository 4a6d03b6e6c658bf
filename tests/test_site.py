"""The built site is self-contained and its links resolve (no browser needed).

The first half tests ``chemdl_utils.site`` on tiny hand-written sites (fast); the second half
checks the real built book (``built_book``: one build per session, shared with the browser tests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from html.parser import HTMLParser
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from chemdl_utils import site
from chemdl_utils.site.plotly_mime import PLOTLY_MIME, PlotlyMimeRenderer, figure_html

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------
# unit tests on small sites


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_external_references_flags_what_the_browser_would_fetch(tmp_path):
    _write(
        tmp_path / "book" / "page.html",
        """<html><head>
        <script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
        <script src="../_static/local.js"></script>
        <link rel="stylesheet" href="//fonts.example.org/css">
        <link rel="canonical" href="https://book.example.org/page.html">
        <script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js";</script>
        <script>requirejs.config({paths: {plotly: ['https://cdn.plot.ly/plotly-3.0.1.min']}});</script>
        <script type="application/vnd.jupyter.widget-state+json">{"url": "https://example.org/x"}</script>
        <style>@import "https://fonts.example.org/x.css";</style>
        </head><body>
        <a href="https://doi.org/10.1000/xyz">a citation</a>
        <img src="https://example.org/logo.png"><img src="data:image/png;base64,AAAA">
        <iframe src="https://www.youtube.com/embed/x"></iframe>
        <div style="background: url('https://example.org/bg.png')"></div>
        <script data-jupyter-widgets-cdn="https://cdn.jsdelivr.net/npm/" src="embed-amd.js"></script>
        </body></html>""",
    )
    _write(tmp_path / "_static" / "x.css", "a{background:url(../img/ok.png)} b{src:url(https://fonts.gstatic.com/f.woff2)}")
    _write(tmp_path / "index.html", "<html></html>")
    found = {(r.page, r.url) for r in site.external_references(tmp_path)}
    assert found == {
        ("book/page.html", "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"),
        ("book/page.html", "//fonts.example.org/css"),
        ("book/page.html", "https://cdn.plot.ly/plotly-3.0.1.min"),
        ("book/page.html", "https://fonts.example.org/x.css"),
        ("book/page.html", "https://example.org/logo.png"),
        ("book/page.html", "https://www.youtube.com/embed/x"),
        ("book/page.html", "https://example.org/bg.png"),
        ("book/page.html", "https://cdn.jsdelivr.net/npm/"),
        ("_static/x.css", "https://fonts.gstatic.com/f.woff2"),
    }
    with pytest.raises(RuntimeError, match="not self-contained: 9 reference"):
        site.check_self_contained(tmp_path)


def test_rewrite_pages_fixes_colab_thebe_theme_mode_and_widget_cdn(tmp_path, monkeypatch):
    thebe = '    <script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const x = 1</script>\n'
    page = _write(
        tmp_path / "book" / "ch" / "demo.html",
        "<html><head>\n"
        '    <script>document.documentElement.dataset.mode = localStorage.getItem("mode") || "";</script>\n'
        + thebe
        + '    <script async="async" src="../../_static/sphinx-thebe.js"></script>\n'
        + thebe
        + '    <script data-jupyter-widgets-cdn="_static/chemdl/jupyter-widgets/" src="x.js"></script>\n'
        '</head><body><a href="https://colab.research.google.com/github/org/repo/blob/main/book/ch/demo.md">'
        "Colab</a></body></html>",
    )
    _write(tmp_path / "_sources" / "book" / "ch" / "demo.ipynb", "{}")
    monkeypatch.setenv("CHEMDL_PAGES_BRANCH", "pages")
    assert site.rewrite_pages(tmp_path) == 1
    text = page.read_text()
    assert text.count("THEBE_JS_URL") == 1
    assert 'getItem("mode") || "auto"' in text
    assert 'data-jupyter-widgets-cdn="../../_static/chemdl/jupyter-widgets/"' in text
    assert "https://colab.research.google.com/github/org/repo/blob/pages/_sources/book/ch/demo.ipynb" in text
    assert site.rewrite_pages(tmp_path) == 0  # idempotent


def test_figure_html_keeps_the_json_inside_its_script():
    html = figure_html({"data": [{"type": "scatter", "name": "</script><script>alert(1)"}], "layout": {}})
    assert html.count("</script>") == 1
    assert json.loads(re.search(r">(\{.*\})<", html).group(1).replace("<\\/", "</"))["data"][0]["type"] == "scatter"
    with pytest.raises(ValueError, match="'data' key"):
        figure_html({"layout": {}})


def test_plotly_renderer_handles_only_plotly_block_outputs():
    class Data:
        def __init__(self, mime_type, content):
            self.mime_type, self.content = mime_type, content

    fig = {"data": [{"y": [1.0, float("nan"), 3.0]}], "layout": {}}
    nodes = PlotlyMimeRenderer.handle_mime(None, Data(PLOTLY_MIME, fig), False)
    assert nodes and nodes[0]["format"] == "html" and '"y":[1.0,null,3.0]' in nodes[0].astext()
    assert PlotlyMimeRenderer.handle_mime(None, Data("text/html", "<b>x</b>"), False) is None
    assert PlotlyMimeRenderer.handle_mime(None, Data(PLOTLY_MIME, fig), True) is None
    # chosen before text/html (myst-nb priority 30), after widget views (10)
    assert ("html", PLOTLY_MIME, 25) in PlotlyMimeRenderer.mime_priority_overrides


def test_plotly_renderer_is_registered_with_myst_nb():
    """Without the entry point myst-nb drops every plotly figure from the book."""
    registered = {ep.value for ep in entry_points(group="myst_nb.mime_renderers")}
    assert "chemdl_utils.site.plotly_mime:PlotlyMimeRenderer" in registered, (
        'add to pyproject.toml:  [project.entry-points."myst_nb.mime_renderers"]  '
        'chemdl_plotly = "chemdl_utils.site.plotly_mime:PlotlyMimeRenderer"  and reinstall (pip install -e .)'
    )


def test_missing_node_modules_says_to_run_npm_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("CHEMDL_NODE_MODULES", raising=False)
    with pytest.raises(FileNotFoundError, match="npm ci"):
        site.find_node_modules(tmp_path)


def test_vendor_assets_copies_everything_the_pages_load(tmp_path):
    try:
        site.find_node_modules(REPO)
    except FileNotFoundError as exc:
        pytest.skip(f"npm assets not installed: {exc}")
    out = site.vendor_assets(REPO, tmp_path)
    for rel in (
        "plotly.min.js",
        "plotly-loader.js",
        "widgets-setup.js",
        "require.js",
        "mathjax/tex-mml-chtml.js",
        "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
        "html-manager/embed-amd.js",
        "VERSIONS.json",
    ):
        assert (out / rel).is_file(), rel
    assert not list(out.rglob("*.map"))
    versions = json.loads((out / "VERSIONS.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())["packages"]
    for name in site.NPM_PACKAGES:
        assert versions[name] == lock[f"node_modules/{name}"]["version"], name


# ------------------------------------------------------------------------------------------------
# the built book


def _pages(html: Path) -> list[Path]:
    return [p for p in sorted(html.rglob("*.html")) if p.relative_to(html).parts[0] not in
            ("_static", "_sources", "_images", "_sphinx_design_static")]


class _Links(HTMLParser):
    """ids of a page and the URLs it references (element, attribute, url)."""

    ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        attr = self.ATTRS.get(tag)
        if attr and a.get(attr):
            self.refs.append((tag, a[attr]))


@pytest.fixture(scope="module")
def parsed(built_book: Path) -> dict[Path, _Links]:
    result = {}
    for page in _pages(built_book):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        result[page.resolve()] = parser
    return result


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_built_book_is_self_contained(built_book):
    refs = site.external_references(built_book)
    assert not refs, "pages would fetch from other hosts:\n  " + "\n  ".join(map(str, refs))


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_built_book_serves_its_vendored_assets(built_book):
    vendor = built_book / site.VENDOR_DIR
    for rel in ("plotly.min.js", "plotly-loader.js", "widgets-setup.js", "require.js",
                "mathjax/tex-mml-chtml.js", "html-manager/embed-amd.js"):
        assert (vendor / rel).is_file(), f"{rel} missing from {vendor}"
    pages = {p.relative_to(built_book).as_posix(): p.read_text(encoding="utf-8") for p in _pages(built_book)}
    with_math = [p for p, t in pages.items() if 'class="math' in t]
    assert all("_static/chemdl/mathjax/tex-mml-chtml.js" in pages[p] for p in with_math), with_math


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_internal_links_and_anchors_resolve(built_book, parsed):
    broken = []
    for page, links in parsed.items():
        rel_page = page.relative_to(built_book.resolve()).as_posix()
        for tag, url in links.refs:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                if tag != "a" and parts.scheme not in ("data", "javascript", "mailto"):
                    broken.append(f"{rel_page}: <{tag}> on another host: {url}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{rel_page}: <{tag}> {url}: no such file")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and target in parsed and fragment not in parsed[target].ids:
                broken.append(f"{rel_page}: {url}: no id {fragment!r} in {target.name}")
    for css in sorted((built_book / "_static").rglob("*.css")):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8", errors="replace")):
            if url.startswith(("data:", "#", "http:", "https:", "//")):
                continue
            if not (css.parent / unquote(urlsplit(url).path)).is_file():
                broken.append(f"{css.relative_to(built_book)}: url({url}): no such file")
    assert not broken, f"{len(broken)} broken links:\n  " + "\n  ".join(broken[:100])


def _config() -> dict:
    import yaml

    return yaml.safe_load((REPO / "_config.yml").read_text())


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_every_chapter_has_launch_buttons_and_a_notebook_download(built_book):
    launch = _config()["launch_buttons"]
    hosts = {
        "Binder": urlsplit(launch["binderhub_url"]).hostname,
        "JupyterHub": urlsplit(launch["jupyterhub_url"]).hostname,
        "Colab": urlsplit(launch["colab_url"]).hostname,
    }
    notebooks = sorted((built_book / "_sources").rglob("*.ipynb"))
    assert notebooks, "no page of the book is a notebook"
    problems = []
    for nb_path in notebooks:
        docname = nb_path.relative_to(built_book / "_sources").with_suffix("").as_posix()
        page = built_book / f"{docname}.html"
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        hrefs = re.findall(r'href="([^"]+)"', text)
        for name, host in hosts.items():
            if not any(urlsplit(h).hostname == host for h in hrefs):
                problems.append(f"{docname}: no {name} launch button ({host})")
        colab = [h for h in hrefs if urlsplit(h).hostname == hosts["Colab"]]
        if colab and not all(h.endswith(".ipynb") for h in colab):
            problems.append(f"{docname}: Colab button does not open a notebook: {colab}")
        if not any(h.endswith(f"_sources/{docname}.ipynb") for h in hrefs):
            problems.append(f"{docname}: no .ipynb download")
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        if nb.get("nbformat") != 4 or (code and not any(c.get("outputs") for c in code)):
            problems.append(f"{docname}: the downloadable notebook is not an executed nbformat-4 notebook")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_plotly_figures_of_the_notebooks_are_on_the_pages(built_book):
    missing = [(p, e, s) for p, e, s in site.plotly_figure_counts(built_book) if s < e]
    assert not missing, f"(page, figures in notebook, figures on page): {missing}"


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_chemdl_book_serve_serves_the_site(built_book):
    cmd = [sys.executable, "-u", "-m", "chemdl_utils", "book", "serve", "--html", str(built_book), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "index.html", timeout=10) as r:
            assert r.status == 200
        with urllib.request.urlopen(match.group(1) + "_static/chemdl/mathjax/tex-mml-chtml.js", timeout=10) as r:
            assert r.status == 200 and "javascript" in r.headers["Content-Type"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
