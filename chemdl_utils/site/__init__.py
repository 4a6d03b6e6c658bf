"""Post-build steps that make the built book self-contained (it works offline, behind firewalls).

A default Jupyter Book 1.x page loads MathJax from ``cdn.jsdelivr.net``, require.js from
``cdnjs.cloudflare.com`` and the Jupyter widgets manager from ``cdn.jsdelivr.net``, and drops
plotly figures altogether (myst-nb has no renderer for plotly's mime type). The course instead:

* points Sphinx at local copies (``_config.yml``: ``mathjax_path``, ``nb_ipywidgets_js``,
  ``html_js_files`` under ``_static/chemdl/``);
* renders plotly figures with :mod:`chemdl_utils.site.plotly_mime` (a myst-nb mime renderer);
* and here, after Sphinx, copies those files from installed packages into ``_static/chemdl/``:

  ===============================  ==================================================
  ``_static/chemdl/``              comes from
  ===============================  ==================================================
  ``plotly.min.js``                the ``plotly`` Python package (``package_data``)
  ``mathjax/`` (MathJax 3, es5)    npm ``mathjax`` (``node_modules``, ``npm ci``)
  ``html-manager/embed-amd.js``    npm ``@jupyter-widgets/html-manager`` (+ its fonts)
  ``require.js``                   npm ``requirejs``
  ``rdkit/RDKit_minimal.*``        npm ``@rdkit/rdkit`` (RDKit.js: ``.js`` and ``.wasm``)
  ``plotly-loader.js``,            this package (``site/assets``)
  ``widgets-setup.js``,
  ``molecule-box.{js,css}``
  ===============================  ==================================================

  The npm versions are pinned in ``package.json`` / ``package-lock.json`` at the repository root.
  ``CHEMDL_NODE_MODULES`` overrides where ``node_modules`` is looked for.

Then it puts executed outputs into the downloadable ``_sources/*.ipynb`` (myst-nb writes them
without outputs when a page comes from the execution cache), fixes each page (the Colab button
opens the executed ``.ipynb`` the site publishes, as Colab cannot open MyST ``.md``; the widgets
manager's third-party module "CDN" points into the site; two console errors of the default
output go), checks that no plotly figure was dropped, and finally that no page references
another host for anything the browser fetches by itself (scripts, styles, images, frames,
fonts). Plain ``<a href>`` links (citations, launch buttons, the repository) are allowed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from .a11y import accessibility_fixes

__all__ = [
    "VENDOR_DIR",
    "ExternalReference",
    "post_build",
    "vendor_assets",
    "find_node_modules",
    "rewrite_pages",
    "fill_notebook_downloads",
    "external_references",
    "check_self_contained",
    "check_plotly_outputs",
]

#: where the vendored assets go inside the built site (``_config.yml`` points here)
VENDOR_DIR = Path("_static") / "chemdl"
ASSETS = Path(__file__).with_name("assets")
NPM_PACKAGES = ("mathjax", "@jupyter-widgets/html-manager", "requirejs", "@rdkit/rdkit")
#: branch that holds the published site (ghp-import's default); Colab opens notebooks from it
PAGES_BRANCH_ENV = "CHEMDL_PAGES_BRANCH"
#: the widgets manager asks this folder (inside the site) for widget modules it does not bundle
WIDGETS_CDN_PLACEHOLDER = "_static/chemdl/jupyter-widgets/"


def post_build(root: Path, html: Path, cache_dir: Path | None = None) -> None:
    """Vendor the JavaScript assets, fix launch links and verify the site is self-contained.

    Runs at the end of every HTML build of the book as the Sphinx extension
    :mod:`chemdl_utils.site.sphinx_ext` (listed in ``_config.yml``), so ``jupyter-book build .``
    gives the same site as ``chemdl book build``. ``cache_dir`` is the execution cache (default:
    ``.jupyter_cache`` next to ``html``).
    """
    root, html = Path(root), Path(html)
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"{html}/index.html not found: post_build needs a built site")
    vendor_assets(root, html)
    fill_notebook_downloads(html, cache_dir)
    rewrite_pages(html)
    check_plotly_outputs(html)
    check_self_contained(html)


# --------------------------------------------------------------------------------------------
# vendoring


def find_node_modules(root: Path) -> Path:
    """The ``node_modules`` folder holding the pinned npm assets (``npm ci`` at the repo root)."""
    env = os.environ.get("CHEMDL_NODE_MODULES")
    folder = Path(env) if env else Path(root) / "node_modules"
    missing = [name for name in NPM_PACKAGES if not (folder / name / "package.json").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks the npm package(s) {', '.join(missing)} that the book vendors so it "
            f"works offline; run `npm ci` in {root} (versions pinned in package-lock.json) or set "
            "CHEMDL_NODE_MODULES to a node_modules folder that has them"
        )
    return folder


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the installed plotly package ships no plotly.min.js")
    return path


def _skip_maps(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".map")]


def _copy(src: Path, dest: Path, ignore: Callable[[str, list[str]], list[str]] | None = None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)


def vendor_assets(root: Path, html: Path) -> Path:
    """Copy MathJax, plotly.js, require.js, the widgets manager and our loader into the site."""
    modules = find_node_modules(root)
    out = Path(html) / VENDOR_DIR
    out.mkdir(parents=True, exist_ok=True)
    _copy(_plotly_js(), out / "plotly.min.js")
    for asset in sorted([*ASSETS.glob("*.js"), *ASSETS.glob("*.css")]):
        _copy(asset, out / asset.name)
    _copy(modules / "requirejs" / "require.js", out / "require.js")
    for name in ("RDKit_minimal.js", "RDKit_minimal.wasm"):  # RDKit.js, for molecule-box.js
        _copy(modules / "@rdkit" / "rdkit" / "dist" / name, out / "rdkit" / name)
    _copy(modules / "mathjax" / "es5", out / "mathjax", ignore=_skip_maps)
    manager = modules / "@jupyter-widgets" / "html-manager" / "dist"

    def manager_files(folder: str, names: list[str]) -> list[str]:
        # embed-amd.js and the font files it references; not the non-AMD bundles or source maps
        return [n for n in names if n.endswith(".map") or n in ("embed.js", "libembed-amd.js")]

    _copy(manager, out / "html-manager", ignore=manager_files)
    versions = {name: json.loads((modules / name / "package.json").read_text())["version"] for name in NPM_PACKAGES}
    import plotly

    versions["plotly (python)"] = plotly.__version__
    (out / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    return out


# --------------------------------------------------------------------------------------------
# per-page fixes


def fill_notebook_downloads(html: Path, cache_dir: Path | None = None) -> list[Path]:
    """Put the executed outputs into the downloadable ``_sources/*.ipynb`` notebooks.

    sphinx-book-theme offers ``_sources/<page>.ipynb`` (copied from ``_build/jupyter_execute``) as
    the page's notebook download. When myst-nb takes a page from the execution cache it writes
    that notebook without outputs (it keeps the merged notebook only in its client), so an
    incremental build would publish unexecuted downloads. Outputs are merged back from the
    jupyter-cache next to the site (``_build/.jupyter_cache``); returns the notebooks changed.
    """
    html = Path(html)
    cache_dir = Path(cache_dir) if cache_dir else html.parent / ".jupyter_cache"
    sources = html / "_sources"
    if not cache_dir.is_dir() or not sources.is_dir():
        return []
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(cache_dir)
    changed = []
    for path in sorted(sources.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code or any(c.get("outputs") for c in code):
            continue
        try:
            _, merged = cache.merge_match_into_notebook(nb)
        except KeyError:
            continue  # not executed with the cache (e.g. execute_notebooks: off)
        nbformat.write(merged, path)
        changed.append(path)
    return changed


def _pages(html: Path) -> Iterator[Path]:
    for page in sorted(Path(html).rglob("*.html")):
        rel = page.relative_to(html)
        if rel.parts[0] in ("_static", "_sources", "_images", "_sphinx_design_static"):
            continue
        yield page


_COLAB = re.compile(r'href="(https://colab\.research\.google\.com/github/[^/"]+/[^/"]+/blob/)[^"]+?\.(md|rst)"')


_THEBE = re.compile(r'^\s*<script>const THEBE_JS_URL = [^\n]*</script>\n', re.M)
# pydata-sphinx-theme with sphinx-book-theme's empty default_mode logs "Got invalid theme mode: ."
_MODE_DEFAULT = 'document.documentElement.dataset.mode = localStorage.getItem("mode") || "";'
_MODE_FIXED = 'document.documentElement.dataset.mode = localStorage.getItem("mode") || "auto";'


def _dedupe_thebe(text: str) -> str:
    """Keep the first of sphinx-thebe's repeated ``const THEBE_JS_URL`` scripts (a re-declared
    ``const`` is an uncaught SyntaxError on every page of a default Jupyter Book build)."""
    found = list(_THEBE.finditer(text))
    for match in reversed(found[1:]):
        text = text[: match.start()] + text[match.end() :]
    return text


def rewrite_pages(html: Path) -> int:
    """Per-page fixes; returns how many pages changed.

    * Colab cannot open MyST Markdown: the Colab button opens the executed notebook that the site
      publishes under ``_sources/`` on the pages branch (``$CHEMDL_PAGES_BRANCH``, default
      ``gh-pages``, as ``ghp-import`` publishes it).
    * Two console errors of the default output go: sphinx-thebe's ``const THEBE_JS_URL`` script
      appears twice (SyntaxError), and the theme's empty default mode ("invalid theme mode").
    * The widgets manager's module "CDN" becomes the site's ``_static/chemdl/jupyter-widgets/``
      relative to the page, so a third-party widget never makes the page call another host.
    """
    html = Path(html)
    branch = os.environ.get(PAGES_BRANCH_ENV, "gh-pages")
    changed = 0
    for page in _pages(html):
        text = page.read_text(encoding="utf-8")
        rel = page.relative_to(html)
        up = "../" * (len(rel.parts) - 1)
        docname = rel.with_suffix("").as_posix()
        new = text
        if (html / "_sources" / f"{docname}.ipynb").is_file():
            new = _COLAB.sub(lambda m: f'href="{m.group(1)}{branch}/_sources/{docname}.ipynb"', new)
        new = _dedupe_thebe(new)
        new = accessibility_fixes(new)  # site/a11y.py: what axe-core finds in the theme's markup
        new = new.replace(_MODE_DEFAULT, _MODE_FIXED)
        new = new.replace(
            f'data-jupyter-widgets-cdn="{WIDGETS_CDN_PLACEHOLDER}"',
            f'data-jupyter-widgets-cdn="{up}{WIDGETS_CDN_PLACEHOLDER}"',
        )
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


# --------------------------------------------------------------------------------------------
# checks


@dataclass(frozen=True)
class ExternalReference:
    """A resource on another host that a page would make the browser fetch by itself."""

    page: str
    element: str
    url: str

    def __str__(self) -> str:
        return f"{self.page}: <{self.element}> {self.url}"


#: elements/attributes whose URL the browser fetches without a click
_FETCHED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
#: <link rel=...> values that do not fetch anything
_LINK_NOFETCH = {"canonical", "alternate", "author", "license", "help", "search", "next", "prev", "index", "me"}
_URL_IN_CSS = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)
_URL_IN_JS = re.compile(r"""['"`]((?:https?:)?//[^'"`\s]+)""")
#: inline-script URLs that are only fetched on an explicit reader action, never on page load
_JS_ALLOWED = (
    # sphinx-thebe's constant: thebe (live code on Binder) loads only when a reader starts it,
    # and needs the network anyway; the book does not enable a thebe button
    re.compile(r"^https://unpkg\.com/thebe@"),
)


def _is_external(url: str) -> bool:
    url = url.strip()
    if url.startswith("//"):
        return True
    parts = urlsplit(url)
    if parts.scheme in ("", "data", "blob", "about", "javascript", "mailto"):
        return False
    return parts.scheme in ("http", "https", "ws", "wss", "ftp") and parts.hostname not in (
        "localhost",
        "127.0.0.1",
    )


class _RefParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._script_type: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        for attr in _FETCHED.get(tag, ()):
            value = a.get(attr, "")
            urls = [u.strip().split(" ")[0] for u in value.split(",")] if attr == "srcset" else [value]
            self.found += [(f"{tag} {attr}", u) for u in urls if u and _is_external(u)]
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels and not rels <= _LINK_NOFETCH and _is_external(a.get("href", "")):
                self.found.append((f"link rel={a.get('rel')}", a["href"]))
        if _is_external(a.get("data-jupyter-widgets-cdn", "")):
            self.found.append((f"{tag} data-jupyter-widgets-cdn", a["data-jupyter-widgets-cdn"]))
        if "style" in a:
            self.found += [(f"{tag} style", u) for u in _URL_IN_CSS.findall(a["style"])]
        if tag == "script" and not a.get("src"):
            self._script_type = a.get("type", "text/javascript").lower()
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_type = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [("style", u) for u in _URL_IN_CSS.findall(data)]
        elif self._script_type in ("text/javascript", "application/javascript", "module", ""):
            for url in _URL_IN_JS.findall(data):
                if _is_external(url) and not any(p.match(url) for p in _JS_ALLOWED):
                    self.found.append(("script (inline)", url))


def external_references(html: Path) -> list[ExternalReference]:
    """Every URL on another host that a page or a stylesheet of the site would fetch by itself."""
    html = Path(html)
    refs: list[ExternalReference] = []
    for page in _pages(html):
        parser = _RefParser()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        rel = page.relative_to(html).as_posix()
        refs += [ExternalReference(rel, element, url) for element, url in parser.found]
    for css in sorted(Path(html).rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        refs += [ExternalReference(css.relative_to(html).as_posix(), "css url", u) for u in _URL_IN_CSS.findall(text)]
    return refs


def check_self_contained(html: Path) -> None:
    """Raise ``RuntimeError`` naming each page and URL if the site would load anything from another host."""
    refs = external_references(html)
    if refs:
        listing = "\n  ".join(str(r) for r in refs[:50])
        more = f"\n  ... and {len(refs) - 50} more" if len(refs) > 50 else ""
        raise RuntimeError(
            f"the built book at {html} is not self-contained: {len(refs)} reference(s) to other hosts "
            f"would be fetched when a page loads:\n  {listing}{more}\nVendor the asset into "
            f"{VENDOR_DIR} (chemdl_utils/site) and point _config.yml at it. A plotly figure shown "
            "with plotly's 'cdn' or 'notebook_connected' renderer loads plotly.js from cdn.plot.ly: "
            "show figures with the default renderer (fig.show() or the figure as a cell's last line)."
        )


def _plotly_outputs(notebook: dict) -> int:
    """Plotly figures a page should show: outputs of cells not tagged to remove them."""
    from .plotly_mime import PLOTLY_MIME

    count = 0
    for cell in notebook.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"remove-cell", "remove_cell", "remove-output", "remove_output"}:
            continue
        for output in cell.get("outputs", []):
            if PLOTLY_MIME in output.get("data", {}) and "scrapbook" not in output.get("metadata", {}):
                count += 1
    return count


def plotly_figure_counts(html: Path) -> Iterable[tuple[str, int, int]]:
    """(page, figures in the executed notebook, figure placeholders on the page) for each notebook page."""
    html = Path(html)
    for nb_path in sorted((html / "_sources").rglob("*.ipynb")):
        docname = nb_path.relative_to(html / "_sources").with_suffix("").as_posix()
        page = html / f"{docname}.html"
        if not page.is_file():
            continue
        expected = _plotly_outputs(json.loads(nb_path.read_text(encoding="utf-8")))
        shown = page.read_text(encoding="utf-8").count('class="chemdl-plotly-data"')
        yield f"{docname}.html", expected, shown


def check_plotly_outputs(html: Path) -> None:
    """Raise if a page dropped plotly figures its executed notebook has (renderer not registered)."""
    missing = [(page, exp, shown) for page, exp, shown in plotly_figure_counts(html) if shown < exp]
    if missing:
        listing = ", ".join(f"{p} ({s} of {e})" for p, e, s in missing)
        raise RuntimeError(
            f"plotly figures are missing from {listing}: myst-nb did not render the "
            "application/vnd.plotly.v1+json outputs. Register chemdl_utils.site.plotly_mime:"
            'PlotlyMimeRenderer under [project.entry-points."myst_nb.mime_renderers"] in '
            "pyproject.toml and reinstall the package (`pip install -e .`)."
        )
