"""``chemdl notebooks``: runnable .ipynb copies of the chapters that leave book/ untouched."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from myst_pages import notebook_page

from chemdl_utils.notebooks import PLACEHOLDER, convert_page, export_notebooks, read_bibliography

REPO = Path(__file__).resolve().parents[1]

PAGE = notebook_page("\n" + textwrap.dedent('''\
    (ch-page)=
    # A small page

    Water is polar {cite}`doe2020water`; ice was studied by {cite:t}`roe2021ice`. The answer is
    {glue:text}`answer:.2f`, and {glue:text}`never_glued` is unknown. Back to {ref}`ch-page`.

    ```{code-cell} ipython3
    :tags: [remove-cell]
    import build_only_module_that_does_not_exist
    ```

    ```{code-cell} ipython3
    from pathlib import Path
    from myst_nb import glue
    data = Path("figures/data.txt").read_text()
    Path("scratch.txt").write_text(data.upper())
    glue("answer", 3.14159)
    ```

    :::{dropdown} Worked answer
    It is {glue:text}`answer:.1f`.
    :::

    ```{figure} figures/plot.svg
    :name: fig-plot

    A plot of nothing.
    ```

    ## References

    ```{bibliography}
    :filter: docname in docnames
    ```
    '''))

BIB = textwrap.dedent('''\
    @article{doe2020water,
      author = {Doe, Jane and Roe, Richard},
      title = {Why water is polar},
      journal = {J. Water},
      year = {2020},
    }
    @book{roe2021ice,
      author = {Roe, Richard and Veli{\\v{c}}kovi{\\'c}, Petar and Smith, Ann},
      title = {{Ice}},
      year = 2021,
    }
    ''')


def _course(root: Path) -> Path:
    (root / "book" / "ch" / "figures").mkdir(parents=True)
    (root / "_config.yml").write_text("title: test\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/ch/page\n")
    (root / "book" / "intro.md").write_text("# Intro\n\nNothing here.\n")
    (root / "book" / "references.bib").write_text(BIB)
    (root / "book" / "ch" / "page.md").write_text(PAGE)
    (root / "book" / "ch" / "figures" / "data.txt").write_text("relative paths work\n")
    (root / "book" / "ch" / "figures" / "plot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    return root


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _cache_run(root: Path, value: str) -> None:
    """Store an 'executed' copy of the page in a jupyter-cache, as ``jupyter-book build`` does."""
    import jupytext
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    page = root / "book" / "ch" / "page.md"
    nb = jupytext.read(page)
    code = [c for c in nb.cells if c.cell_type == "code" and "glue(" in c.source][0]
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": value},
                                           metadata={"scrapbook": {"name": "answer", "mime_prefix": ""}})]
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(page)), check_validity=False, overwrite=True)


def test_bibliography_reader_handles_braces_and_accents(tmp_path: Path) -> None:
    (tmp_path / "refs.bib").write_text(BIB)
    bib = read_bibliography(tmp_path / "refs.bib")
    assert bib["roe2021ice"]["author"] == "Roe, Richard and Veličković, Petar and Smith, Ann"
    assert bib["roe2021ice"]["year"] == "2021" and bib["roe2021ice"]["title"] == "Ice"
    assert bib["doe2020water"]["journal"] == "J. Water"


def test_conversions_of_a_synthetic_page_without_a_build(tmp_path: Path) -> None:
    root = _course(tmp_path / "course")
    written = export_notebooks(tmp_path / "out", root)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == ["intro.ipynb", "ch/page.ipynb"]
    nb = nbformat.read(tmp_path / "out" / "ch" / "page.ipynb", as_version=4)
    text = _markdown(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "(Doe and Roe 2020)" in text
    assert "Roe et al. (2021)" in text
    assert text.count(PLACEHOLDER) == 3  # answer twice, never_glued once: no build cached
    assert "Back to A small page." in text
    assert "(ch-page)=" not in text and "{cite" not in text and "{glue" not in text and "{ref}" not in text
    assert "<details><summary>Worked answer</summary>" in text and "</details>" in text
    assert "![A plot of nothing](figures/plot.svg)" in text
    assert "- Doe, Jane, Roe, Richard (2020). Why water is polar. *J. Water*." in text
    assert "build_only_module_that_does_not_exist" not in code and "glue(\"answer\"" in code
    assert "jupytext" not in nb.metadata  # not paired with a Markdown file: saving it writes only the .ipynb
    assert (tmp_path / "out" / "ch" / "figures" / "data.txt").is_file()


def test_glue_values_come_from_the_cached_build_of_the_current_code(tmp_path: Path) -> None:
    root = _course(tmp_path / "course")
    _cache_run(root, "3.14159")
    page = root / "book" / "ch" / "page.md"
    text = _markdown(convert_page(page, root / "book", cache_dir=root / "_build" / ".jupyter_cache"))
    assert "The answer is\n3.14," in text and "It is 3.1." in text
    assert text.count(PLACEHOLDER) == 1  # never_glued
    # the page's code changed since that build: its numbers are not shown
    page.write_text(PAGE.replace('glue("answer", 3.14159)', 'glue("answer", 2.71828)'))
    text = _markdown(convert_page(page, root / "book", cache_dir=root / "_build" / ".jupyter_cache"))
    assert "3.14" not in text and text.count(PLACEHOLDER) == 3


def test_running_the_generated_notebook_leaves_book_untouched(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    root = _course(tmp_path / "course")
    before = _tree_hash(root / "book")
    export_notebooks(tmp_path / "out", root)
    target = tmp_path / "out" / "ch" / "page.ipynb"
    nb = nbformat.read(target, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(target.parent)}}).execute()
    nbformat.write(nb, target)  # what a reader's save does
    assert (target.parent / "scratch.txt").read_text() == "RELATIVE PATHS WORK\n"
    assert _tree_hash(root / "book") == before
    assert not (root / "book" / "ch" / "scratch.txt").exists()


def test_export_refuses_to_write_into_book(tmp_path: Path) -> None:
    root = _course(tmp_path / "course")
    with pytest.raises(ValueError, match="outside book/"):
        export_notebooks(root / "book" / "copies", root)


def test_every_page_of_the_book_converts_without_raw_myst(tmp_path: Path) -> None:
    written = export_notebooks(tmp_path / "out", REPO, cache_dir=tmp_path / "no-cache")
    assert len(written) >= 10
    leftovers = re.compile(r"\{(cite|glue|ref|doc|eq|numref)[\w:]*\}`|^\s*\([\w-]+\)=\s*$|^\s*(```|:::)\{", re.M)
    for path in written:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                match = leftovers.search(cell.source)
                assert match is None, f"{path.name}: raw MyST left: {match.group(0)!r}"
            tags = cell.get("metadata", {}).get("tags", [])
            assert "remove-cell" not in tags, path.name


def test_chemdl_notebooks_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chemdl_utils.cli import main

    root = _course(tmp_path / "course")
    assert main(["notebooks", str(tmp_path / "nb"), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Wrote 2 notebook(s)" in out and "3 number(s)" in out
    assert (tmp_path / "nb" / "ch" / "page.ipynb").is_file()
