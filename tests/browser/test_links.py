"""Link check of the built site (no network, no browser): every link into the course's GitHub
repository, the launch buttons included, has the form that works once the site is published by
``.github/workflows/book.yml`` (internal links and anchors: ``tests/test_site.py``):

* **Colab** opens ``github/<owner>/<repo>/blob/<pages branch>/_sources/<page>.ipynb``: the executed
  notebook that the site serves as its download and that the workflow pushes to the pages branch
  (Colab cannot open the MyST ``.md`` pages);
* **Binder** builds ``<owner>/<repo>`` at the ``_config.yml`` branch and opens the page's source,
  a file that exists in the repository (and is tracked by git);
* **JupyterHub** (nbgitpuller) clones the same repository and branch into a folder named after
  the repository and opens the same file;
* the repository and issue buttons point at ``_config.yml``'s ``repository.url``.

Run both on a built site with ``CHEMDL_BOOK_HTML=_build/html pytest tests/browser/test_links.py
tests/test_site.py::test_internal_links_and_anchors_resolve`` (the book workflow does, before it
deploys).
"""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

SKIP_TOP = {"_static", "_sources", "_images", "_sphinx_design_static", "reports"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for attr in ("href", "src"):
            if a.get(attr) and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.links.append((tag, a[attr]))


@pytest.fixture(scope="module")
def site(built_book: Path) -> dict[str, _Page]:
    pages = {}
    for path in sorted(built_book.rglob("*.html")):
        rel = path.relative_to(built_book)
        if rel.parts[0] in SKIP_TOP:
            continue
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[rel.as_posix()] = parser
    assert pages, f"no pages in {built_book}"
    return pages


@pytest.fixture(scope="module")
def config(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tracked(repo_root: Path) -> set[str] | None:
    """Files tracked by git (None outside a git checkout: then existence on disk is checked)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=repo_root, capture_output=True, text=True, check=True,
                             timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return set(filter(None, out.split("\0")))


def _fail_if(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what} ({len(problems)}):\n  " + "\n  ".join(problems[:100]), pytrace=False)


def _repo(config: dict) -> tuple[str, str, str]:
    url = urlsplit(config["repository"]["url"])
    assert url.hostname == "github.com", f"repository.url is not a GitHub repository: {config['repository']['url']}"
    owner, name = url.path.strip("/").split("/")[:2]
    return owner, name, config["repository"].get("branch", "main")


def _source_of(repo_root: Path, docname: str) -> str | None:
    for suffix in (".md", ".ipynb"):
        if (repo_root / f"{docname}{suffix}").is_file():
            return f"{docname}{suffix}"
    return None


def test_launch_buttons_open_what_the_published_site_serves(built_book, site, config, repo_root, tracked):
    from chemdl_utils.site import PAGES_BRANCH_ENV

    owner, name, branch = _repo(config)
    pages_branch = os.environ.get(PAGES_BRANCH_ENV, "gh-pages")
    launch = config["launch_buttons"]
    binder = launch["binderhub_url"].rstrip("/")
    hub = launch["jupyterhub_url"].rstrip("/")
    colab = launch["colab_url"].rstrip("/")
    problems = []
    checked = {"Colab": 0, "Binder": 0, "JupyterHub": 0}
    notebook_pages = [rel for rel in site if (built_book / "_sources" / rel).with_suffix(".ipynb").is_file()]
    assert notebook_pages, "no page of the site is a notebook"
    for rel in notebook_pages:
        docname = rel.removesuffix(".html")
        source = _source_of(repo_root, docname)
        hrefs = [url for tag, url in site[rel].links if tag == "a"]
        if source is None:
            problems.append(f"{rel}: no source file {docname}.md/.ipynb in the repository")
            continue
        if tracked is not None and source not in tracked:
            problems.append(f"{rel}: its source {source} is not tracked by git, so launch buttons cannot open it")

        want_colab = f"{colab}/github/{owner}/{name}/blob/{pages_branch}/_sources/{docname}.ipynb"
        found = [h for h in hrefs if h.startswith(colab + "/")]
        if found != [want_colab]:
            problems.append(f"{rel}: Colab button {found} is not {want_colab}")
        else:
            checked["Colab"] += 1

        want_binder = f"{binder}/v2/gh/{owner}/{name}/{branch}?urlpath=lab/tree/{source}"
        found = [h for h in hrefs if h.startswith(binder + "/")]
        if found != [want_binder]:
            problems.append(f"{rel}: Binder button {found} is not {want_binder}")
        else:
            checked["Binder"] += 1

        found = [h for h in hrefs if h.startswith(hub + "/")]
        if len(found) != 1:
            problems.append(f"{rel}: {len(found)} JupyterHub buttons")
        else:
            url = urlsplit(found[0])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            want = {"repo": f"https://github.com/{owner}/{name}", "branch": branch,
                    "urlpath": f"lab/tree/{name}/{source}"}
            if url.path != "/hub/user-redirect/git-pull" or query != want:
                problems.append(f"{rel}: JupyterHub button {found[0]} does not pull {want}")
            else:
                checked["JupyterHub"] += 1
    print(f"launch buttons checked: {checked}")
    _fail_if(problems, "launch buttons that would not open the page's notebook")


_BLOB = re.compile(r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?:blob|tree|edit)/(?P<branch>[^/]+)/(?P<path>.+)$")


def test_links_into_the_repository_are_well_formed(site, config, repo_root, tracked):
    """Repository and issue buttons, and any link to a file of the repository, point at files that
    exist on the configured branch; every other external link is a well-formed http(s) URL."""
    from chemdl_utils.site import PAGES_BRANCH_ENV

    owner, name, branch = _repo(config)
    pages_branch = os.environ.get(PAGES_BRANCH_ENV, "gh-pages")
    repo_url = f"https://github.com/{owner}/{name}"
    problems = []
    for rel, page in site.items():
        for tag, url in page.links:
            parts = urlsplit(url)
            if not parts.scheme or parts.scheme in ("mailto", "data", "javascript"):
                continue
            if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
                problems.append(f"{rel}: <{tag}> malformed external URL {url!r}")
                continue
            if parts.hostname != "github.com" or not parts.path.lower().startswith(f"/{owner}/{name}".lower()):
                continue
            if url.rstrip("/") == repo_url or parts.path.rstrip("/") == f"/{owner}/{name}/issues/new":
                continue
            m = _BLOB.match(parts.path)
            if not m:
                problems.append(f"{rel}: link into the repository of an unchecked form: {url}")
                continue
            if m["branch"] == pages_branch:
                continue  # the pages branch holds the site's _sources (checked with the launch buttons)
            if m["branch"] != branch:
                problems.append(f"{rel}: {url} points at branch {m['branch']!r}, not {branch!r}")
            path = unquote(m["path"])
            if not (repo_root / path).exists() or (tracked is not None and (repo_root / path).is_file()
                                                   and path not in tracked):
                problems.append(f"{rel}: {url}: {path} is not in the repository")
    _fail_if(problems, "bad links into the repository")
