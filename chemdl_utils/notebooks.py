"""Runnable notebook copies of the book's chapters, for live readers (``chemdl notebooks [DIR]``).

Opening a chapter's MyST source (``book/**/*.md``) as a notebook shows raw MyST (labels,
``{cite}`` roles, ``{glue:text}`` roles without their numbers, build-only cells), and JupyterLab's
autosave then rewrites the chapter's source. :func:`export_notebooks` writes every chapter instead
as a plain ``.ipynb`` into a scratch folder (default ``./chemdl-notebooks``), mirroring ``book/``:

* citations become text, ``(Mobley and Guthrie 2014)``, from ``book/references.bib``, and each
  page's bibliography becomes a list of the works it cites;
* glued numbers are filled in from the last build: the executed notebooks in the book's
  jupyter-cache (``_build/.jupyter_cache``), used only when the cached run is of the page's current
  code; otherwise the text says ``(run the notebook to see this number)``;
* labels ``(name)=`` and cells tagged ``remove-cell`` (build-only) are dropped; cross-references
  become the title they point to; admonitions, dropdowns and figures become Markdown/HTML that
  JupyterLab renders (dropdowns stay collapsed, as ``<details>``);
* each chapter folder's other files (figures) are copied next to its notebooks, so relative paths
  work when the notebook runs from its own folder, as the book build runs it; nothing is written
  into ``book/``.

Example::

    from chemdl_utils.notebooks import export_notebooks
    written = export_notebooks("chemdl-notebooks")   # [Path('chemdl-notebooks/graphs/gnn.ipynb'), ...]
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

__all__ = ["export_notebooks", "convert_page", "read_bibliography", "cached_glue", "PLACEHOLDER"]

#: what a glued number becomes when no build of the page's current code is cached
PLACEHOLDER = "(run the notebook to see this number)"

_ROLE = re.compile(r"\{([A-Za-z][\w:.-]*)\}`([^`]*)`")
_LABEL_LINE = re.compile(r"^\s*\(([^()\s]+)\)=\s*$")
_DIRECTIVE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:.-]+)\}[ \t]*(.*)$")
_MATH_LABEL = re.compile(r"^(\s*)\$\$\s*\(([^()\s]+)\)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


# ------------------------------------------------------------------------------------ bibliography


_LATEX_ACCENT = re.compile(r"\\([`'^\"~=.vuHck])\s*\{?\s*(\\?[A-Za-z])\s*\}?")
_COMBINING = {"`": "\u0300", "'": "\u0301", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
              ".": "\u0307", "v": "\u030c", "u": "\u0306", "H": "\u030b", "c": "\u0327", "k": "\u0328"}


def _accent(m: re.Match[str]) -> str:
    import unicodedata

    letter = {"\\i": "i", "\\j": "j"}.get(m.group(2), m.group(2).lstrip("\\"))
    return unicodedata.normalize("NFC", letter + _COMBINING[m.group(1)])


def _bib_fields(body: str) -> dict[str, str]:
    """``name = {value}`` / ``name = "value"`` / ``name = 2014`` fields of one BibTeX entry (nested braces ok)."""
    out: dict[str, str] = {}
    i, n = 0, len(body)
    while i < n:
        m = re.compile(r"\s*,?\s*([A-Za-z][\w-]*)\s*=\s*").match(body, i)
        if not m:
            break
        name, i = m.group(1).lower(), m.end()
        if i < n and body[i] == "{":
            depth, j = 0, i
            while j < n:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                if depth == 0:
                    break
                j += 1
            value, i = body[i + 1:j], j + 1
        elif i < n and body[i] == '"':
            j = body.find('"', i + 1)
            j = n if j < 0 else j
            value, i = body[i + 1:j], j + 1
        else:
            m2 = re.compile(r"[^,\n]*").match(body, i)
            value, i = (m2.group(0) if m2 else ""), (m2.end() if m2 else n)
        value = _LATEX_ACCENT.sub(_accent, value).replace("\\&", "&").replace("---", "—").replace("--", "–")
        out[name] = re.sub(r"\s+", " ", value.replace("{", "").replace("}", "")).strip()
    return out


def read_bibliography(path: Path | str) -> dict[str, dict[str, str]]:
    """The entries of a BibTeX file, by key: ``{"mobley2014freesolv": {"author": ..., "year": ...}}``."""
    text = Path(path).read_text(encoding="utf-8")
    entries: dict[str, dict[str, str]] = {}
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        start, depth, j = m.end(), 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        fields = _bib_fields(text[start:j - 1])
        fields["type"] = m.group(1).lower()
        entries[m.group(2)] = fields
    return entries


def _surname(name: str) -> str:
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    if not parts:
        return name
    # "van Veen", "de Cao": keep lowercase particles with the surname
    k = len(parts) - 1
    while k > 0 and parts[k - 1][:1].islower():
        k -= 1
    return " ".join(parts[k:])


def _authors_text(entry: dict[str, str]) -> str:
    raw = entry.get("author") or entry.get("editor") or entry.get("organization") or entry.get("publisher") or ""
    names = [a for a in re.split(r"\s+and\s+", raw) if a.strip()]
    if not names:
        return entry.get("title", "?")
    if len(names) == 1:
        return _surname(names[0]) if "," in names[0] or len(names[0].split()) <= 3 else names[0]
    if len(names) == 2:
        return f"{_surname(names[0])} and {_surname(names[1])}"
    return f"{_surname(names[0])} et al."


def _cite_text(role: str, keys: str, bib: dict[str, dict[str, str]], cited: list[str]) -> str:
    parts = []
    textual = role in ("cite:t", "cite:ts", "citet")
    for key in (k.strip() for k in keys.split(",")):
        if not key:
            continue
        if key not in cited:
            cited.append(key)
        entry = bib.get(key)
        if entry is None:
            parts.append(f"[{key}]")
            continue
        who, year = _authors_text(entry), entry.get("year", "n.d.")
        parts.append(f"{who} ({year})" if textual else f"{who} {year}")
    return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"


def _reference_line(key: str, bib: dict[str, dict[str, str]]) -> str:
    entry = bib.get(key)
    if entry is None:
        return f"- [{key}]"
    raw = entry.get("author") or entry.get("organization") or ""
    names = [a.strip() for a in re.split(r"\s+and\s+", raw) if a.strip()]
    who = ", ".join(names) if names else _authors_text(entry)
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("publisher") or entry.get("howpublished") or ""
    link = entry.get("doi") and f"https://doi.org/{entry['doi']}" or entry.get("url", "")
    line = f"- {who} ({entry.get('year', 'n.d.')}). {entry.get('title', '')}."
    if venue:
        line += f" *{venue}*."
    if link:
        line += f" {link}"
    return line


# -------------------------------------------------------------------------------------------- glue


def cached_glue(cache_dir: Path | str | None, notebook: Any) -> dict[str, Any] | None:
    """Glued outputs (name -> output dict) of ``notebook``'s cached execution, or ``None``.

    The cache is jupyter-cache's (``_build/.jupyter_cache``); a record is used only if it was made
    from the same code as ``notebook`` (jupyter-cache's hash), so stale numbers are never shown.
    """
    if cache_dir is None or not Path(cache_dir).is_dir():
        return None
    try:
        from jupyter_cache import get_cache

        cache = get_cache(str(cache_dir))
        record = cache.match_cache_notebook(notebook)
        executed = cache.get_cache_bundle(record.pk).nb
    except Exception:  # noqa: BLE001 - no cache, other version, or no record of this code: no numbers
        return None
    glued: dict[str, Any] = {}
    for cell in executed.cells:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = output.get("metadata", {}) or {}
            scrap = meta.get("scrapbook")
            if not isinstance(scrap, dict) or "name" not in scrap:
                continue
            prefix = len(scrap.get("mime_prefix", "") or "")
            glued[str(scrap["name"])] = {k[prefix:]: v for k, v in (output.get("data") or {}).items()}
    return glued


def _glue_text(role: str, content: str, glued: dict[str, Any] | None) -> str:
    content = content.split("::", 1)[-1]  # 'other/doc::key' (glue from another page): by key
    if role == "glue:text":
        key, _, fmt = content.rpartition(":") if ":" in content else (content, "", "")
        if not key:
            key, fmt = content, ""
    else:
        key, fmt = content.split(":", 1)[0], ""
    data = (glued or {}).get(key.strip())
    if not data:
        return PLACEHOLDER
    if role in ("glue:md", "glue:markdown") and "text/markdown" in data:
        return str(data["text/markdown"]).strip()
    text = data.get("text/plain")
    if text is None:
        return PLACEHOLDER
    text = "".join(text) if isinstance(text, list) else str(text)
    if fmt:
        try:
            from myst_nb.core.variables import format_plain_text

            return format_plain_text(text, fmt)
        except Exception:  # noqa: BLE001 - not formattable: show it as stored
            return text.strip("'\"")
    return text.strip("'\"")


# -------------------------------------------------------------------------------------- conversion


@dataclass
class _Context:
    bib: dict[str, dict[str, str]]
    titles: dict[str, str]  # label or doc path -> title
    glued: dict[str, Any] | None
    page_dir: str  # the page's folder relative to the book root ('graphs')
    cited: list[str] = field(default_factory=list)
    bibliography_written: bool = False


def _roles(text: str, ctx: _Context) -> str:
    def sub(m: re.Match[str]) -> str:
        role, content = m.group(1), m.group(2)
        if role in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts", "cite:alp", "citep", "citet"):
            return _cite_text(role, content, ctx.bib, ctx.cited)
        if role.startswith("glue"):
            return _glue_text(role, content, ctx.glued)
        if role in ("ref", "numref", "doc", "any"):
            explicit = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", content, re.S)
            if explicit and explicit.group(1):
                return explicit.group(1)
            target = (explicit.group(2) if explicit else content).strip()
            if role == "doc":
                path = target if target.startswith("/") else f"{ctx.page_dir}/{target}".lstrip("/")
                key = re.sub(r"/+", "/", str(Path(path.lstrip("/"))))
                return ctx.titles.get(key, ctx.titles.get(target.lstrip("/"), target))
            return ctx.titles.get(target, target.replace("-", " "))
        if role == "eq":
            return f"({content.strip()})"
        if role == "math":
            return f"${content}$"
        if role in ("fa", "octicon", "icon"):
            return ""
        return content  # abbr, sub, sup, kbd, ...: the text itself

    return _ROLE.sub(sub, text)


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    k = 0
    while k < len(body) and re.match(r"^\s*:[\w-]+:", body[k]):
        m = re.match(r"^\s*:([\w-]+):\s*(.*)$", body[k])
        if m:
            options[m.group(1)] = m.group(2).strip()
        k += 1
    while k < len(body) and not body[k].strip():
        k += 1
    return options, body[k:]


def _directive(name: str, arg: str, body: list[str], indent: str, ctx: _Context) -> list[str]:
    options, content = _split_options(body)
    inner = _blocks(content, ctx)
    dedented = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in inner]
    if name in ("dropdown",) or (name == "admonition" and "dropdown" in options.get("class", "")):
        title = _roles(arg, ctx) or "Details"
        return [f"{indent}<details><summary>{title}</summary>", ""] + inner + ["", f"{indent}</details>"]
    if name == "figure":
        caption = " ".join(line.strip() for line in dedented if line.strip())
        alt = options.get("alt", caption.split(".")[0] if caption else "figure")
        return [f"{indent}![{alt}]({arg.strip()})", ""] + ([f"{indent}*{caption}*"] if caption else [])
    if name == "bibliography":  # the page's own heading (e.g. "## References") stays above it
        ctx.bibliography_written = True
        return [indent + _reference_line(k, ctx.bib) for k in ctx.cited]
    if name == "eval-rst":
        modules = re.findall(r"\.\.\s+auto(?:module|function|class)::\s*(\S+)", "\n".join(content))
        names = ", ".join(f"`help({m})`" for m in modules) or "the built book"
        return [f"{indent}*(API documentation: run {names} in a cell.)*"]
    if name in ("math",):
        return [f"{indent}$$"] + inner + [f"{indent}$$"]
    if name in ("code", "code-block", "sourcecode"):
        return [f"{indent}```{arg.strip()}"] + content + [f"{indent}```"]
    if name.startswith("glue"):
        return [f"{indent}{PLACEHOLDER}"]
    title = _roles(arg, ctx) if name == "admonition" else (name.capitalize() + (f": {_roles(arg, ctx)}" if arg else ""))
    quoted = [f"{indent}> **{title}**", f"{indent}>"] if title else []
    quoted += [f"{indent}> {line[len(indent):] if line.startswith(indent) else line}".rstrip() for line in inner]
    return quoted


def _blocks(lines: list[str], ctx: _Context) -> list[str]:
    """Markdown lines with MyST directives, labels and roles converted (recursive for nested directives)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _LABEL_LINE.match(line):
            i += 1
            continue
        mm = _MATH_LABEL.match(line)
        if mm:
            out += [f"{mm.group(1)}\\tag{{{mm.group(2)}}}", f"{mm.group(1)}$$"]
            i += 1
            continue
        m = _DIRECTIVE_OPEN.match(line)
        if m:
            indent, fence, name, arg = m.groups()
            close = re.compile(r"^\s*" + re.escape(fence) + r"\s*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            out += _directive(name, arg, lines[i + 1:j], indent, ctx)
            i = j + 1
            continue
        out.append(_roles(line, ctx))
        i += 1
    return out


def _page_titles(book_dir: Path) -> dict[str, str]:
    """label -> the heading that follows it, and page path ('graphs/gnn') -> its first heading."""
    titles: dict[str, str] = {}
    for page in sorted(book_dir.rglob("*.md")):
        rel = page.relative_to(book_dir).with_suffix("").as_posix()
        pending: str | None = None
        for line in page.read_text(encoding="utf-8").splitlines():
            label = _LABEL_LINE.match(line)
            if label:
                pending = label.group(1)
                continue
            heading = _HEADING.match(line)
            if heading:
                text = re.sub(r"\{[\w:.-]+\}`([^`]*)`", r"\1", heading.group(1))
                titles.setdefault(rel, text)
                titles.setdefault(f"book/{rel}", text)
                if pending:
                    titles.setdefault(pending, text)
            if line.strip():
                pending = None
    return titles


def convert_page(page: Path | str, book_dir: Path | str, *, cache_dir: Path | str | None = None,
                 bib: dict[str, dict[str, str]] | None = None, titles: dict[str, str] | None = None) -> Any:
    """One MyST Markdown page of the book as a runnable ``nbformat`` notebook (see the module docstring)."""
    import jupytext
    import nbformat

    page, book_dir = Path(page), Path(book_dir)
    source = jupytext.read(page)
    bib = bib if bib is not None else (read_bibliography(book_dir / "references.bib")
                                       if (book_dir / "references.bib").is_file() else {})
    titles = titles if titles is not None else _page_titles(book_dir)
    ctx = _Context(bib=bib, titles=titles, glued=cached_glue(cache_dir, source),
                   page_dir=page.parent.relative_to(book_dir).as_posix().strip("."))
    nb = nbformat.v4.new_notebook()
    nb.metadata = {k: v for k, v in source.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    for cell in source.cells:
        tags = list(cell.get("metadata", {}).get("tags", []) or [])
        if "remove-cell" in tags:
            continue
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
            if tags:
                new.metadata["tags"] = tags
        elif cell.cell_type == "markdown":
            text = "\n".join(_blocks(cell.source.split("\n"), ctx)).strip("\n")
            text = re.sub(r"\n{3,}", "\n\n", text)
            if not text.strip():
                continue
            new = nbformat.v4.new_markdown_cell(text)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        nb.cells.append(new)
    # bibliographies are converted in order; a page citing after its bibliography still lists all
    if ctx.cited and not ctx.bibliography_written:
        nb.cells.append(nbformat.v4.new_markdown_cell(
            "\n".join(["## References", ""] + [_reference_line(k, bib) for k in ctx.cited])))
    note = ("*A runnable copy of this page, written by `chemdl notebooks` from "
            f"`book/{page.relative_to(book_dir).as_posix()}`. Edit and run freely: the book's "
            "source is not touched. Numbers quoted in the text come from the last build of the book; "
            "your run may differ slightly.*")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
    return nb


def _pages(book_dir: Path) -> list[Path]:
    """The book's pages in table-of-contents order (every ``.md`` under book/ if there is no _toc.yml)."""
    toc = book_dir.parent / "_toc.yml"
    if toc.is_file():
        import yaml

        files: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key in ("root", "file"):
                    if isinstance(node.get(key), str):
                        files.append(node[key])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
        pages = [book_dir.parent / (f if f.endswith(".md") else f + ".md") for f in files]
        found = [p.resolve() for p in pages if p.is_file() and p.resolve().is_relative_to(book_dir.resolve())]
        if found:
            return list(dict.fromkeys(found))
    return sorted(p for p in book_dir.rglob("*.md") if not any(part.startswith((".", "_")) for part in
                                                                 p.relative_to(book_dir).parts))


def export_notebooks(dest: Path | str = "chemdl-notebooks", root: Path | str | None = None, *,
                     pages: Iterable[Path | str] | None = None, overwrite: bool = True,
                     cache_dir: Path | str | None = None) -> list[Path]:
    """Write every chapter page of the book as an ``.ipynb`` under ``dest`` (mirroring ``book/``).

    ``root`` is the course repository (found from the current folder by default). Glue values come
    from ``cache_dir`` (default ``<root>/_build/.jupyter_cache``, where ``chemdl book build`` caches
    its runs) when it holds a run of the page's current code. ``pages`` limits the export to some
    pages (paths of ``.md`` files under ``book/``). Returns the notebooks written.
    """
    from .book import find_book_root

    import nbformat

    root = find_book_root(root)
    book_dir = root / "book"
    dest = Path(dest).resolve()
    if dest == book_dir.resolve() or book_dir.resolve() in dest.parents:
        raise ValueError(f"the notebooks must go outside book/ (got {dest}); choose e.g. ./chemdl-notebooks")
    cache_dir = Path(cache_dir) if cache_dir is not None else root / "_build" / ".jupyter_cache"
    bib = read_bibliography(book_dir / "references.bib") if (book_dir / "references.bib").is_file() else {}
    titles = _page_titles(book_dir)
    selected = [Path(p).resolve() for p in pages] if pages is not None else _pages(book_dir)
    written: list[Path] = []
    copied: set[Path] = set()
    for page in selected:
        if page.suffix != ".md" or book_dir.resolve() not in page.parents:
            raise ValueError(f"{page} is not a Markdown page under {book_dir}")
        rel = page.relative_to(book_dir.resolve())
        target = dest / rel.with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = page.parent
        if folder not in copied:  # figures and other files the page's cells and Markdown refer to
            copied.add(folder)
            for item in folder.iterdir():
                if item.suffix == ".md" or item.name.startswith((".", "_")):
                    continue
                out = target.parent / item.name
                if item.is_dir():
                    if folder != book_dir.resolve():  # chapter folders themselves are exported page by page
                        shutil.copytree(item, out, dirs_exist_ok=True)
                else:
                    shutil.copy2(item, out)
        if target.exists() and not overwrite:
            continue
        nb = convert_page(page, book_dir, cache_dir=cache_dir, bib=bib, titles=titles)
        nbformat.write(nb, target)
        written.append(target)
    return written
