"""TeX in feedback pages, typeset as MathML when the page is written: no script, no network.

A feedback page shows the assignment's text and the student's answers, both with TeX in them
(``$\\sigma(x)$``, ``$$\\sum_i w_i x_i$$``). Jupyter typesets it with MathJax in the browser; a
feedback page cannot rely on that: it is opened from disk, often offline, and inside JupyterLab's
HTML viewer, which runs no script. So :func:`typeset` replaces each formula in the page's text by
MathML (`latex2mathml`_), which every current browser draws natively.

Delimiters are those of Jupyter's Markdown: ``$...$`` and ``\\(...\\)`` inline, ``$$...$$``,
``\\[...\\]`` and ``\\begin{equation}...\\end{equation}`` (also ``align``, ``gather``, ``multline``
and their starred forms) as display. ``\\$`` is a literal dollar. Text inside ``<code>``, ``<pre>``,
``<kbd>``, ``<samp>``, ``<script>``, ``<style>`` and ``<textarea>`` is left alone, and so is a
formula the converter cannot read (it stays as its TeX source).

The converter's output is not safe by itself (``\\text{<b>x</b>}`` comes out as markup, ``\\href``
as an ``href`` attribute), so :func:`typeset` runs *before* the allow-list sanitizer, which keeps
only the presentation MathML elements and attributes in :data:`MATHML_TAGS` and
:data:`MATHML_ATTRIBUTES`.

.. _latex2mathml: https://github.com/roniemartinez/latex2mathml
"""

from __future__ import annotations

import html
import re

__all__ = ["typeset", "MATHML_TAGS", "MATHML_ATTRIBUTES"]

#: presentation MathML the sanitizer lets through (no ``maction``, ``semantics``/``annotation``)
MATHML_TAGS = frozenset({
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "mstyle",
    "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup", "munder", "mover",
    "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd",
})
#: their attributes: layout only (no ``href``, ``style``, ``src`` or event handlers)
MATHML_ATTRIBUTES = frozenset({
    "display", "displaystyle", "mathvariant", "scriptlevel", "stretchy", "fence", "separator",
    "symmetric", "largeop", "movablelimits", "accent", "accentunder", "lspace", "rspace", "minsize",
    "maxsize", "linethickness", "width", "height", "depth", "voffset", "notation", "columnalign",
    "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "columnspan",
    "rowspan", "align",
})

_LEAVE_ALONE = frozenset({"code", "pre", "kbd", "samp", "script", "style", "textarea"})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_ENVIRONMENTS = r"(?:equation|align|gather|multline)\*?"
_FORMULA = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<bracket>.+?)\\\]"
    rf"|(?P<env>\\begin\{{(?P<name>{_ENVIRONMENTS})\}}.+?\\end\{{(?P=name)\}})"
    r"|(?<!\\)\$(?P<d>[^$]+?)(?<!\\)\$"
    r"|\\\((?P<paren>.+?)\\\)",
    re.S,
)


def _mathml(tex: str, display: bool) -> str | None:
    from latex2mathml.converter import convert

    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any formula the converter cannot read stays as TeX
        return None


def _typeset_text(text: str) -> str:
    """One text node of the page (HTML-escaped) with its formulas as MathML."""
    if "$" not in text and "\\" not in text:
        return text
    out: list[str] = []
    position = 0
    for match in _FORMULA.finditer(text):
        tex = match.group("dd") or match.group("bracket") or match.group("env") or match.group("d") \
            or match.group("paren")
        display = match.group("d") is None and match.group("paren") is None
        mathml = _mathml(html.unescape(tex).strip(), display) if tex and tex.strip() else None
        out.append(text[position:match.start()].replace("\\$", "$"))
        out.append(mathml if mathml is not None else match.group(0))
        position = match.end()
    out.append(text[position:].replace("\\$", "$"))
    return "".join(out)


def typeset(page: str) -> str:
    """``page`` (HTML) with the TeX in its text typeset as MathML (see the module docstring)."""
    if "$" not in page and "\\" not in page:
        return page
    out: list[str] = []
    inside: list[str] = []  # open elements whose text is left alone
    position = 0
    for tag in _TAG.finditer(page):
        text = page[position:tag.start()]
        out.append(text if inside else _typeset_text(text))
        out.append(tag.group(0))
        name = tag.group(2).lower()
        if name in _LEAVE_ALONE and not tag.group(3):
            if tag.group(1):
                if name in inside:
                    del inside[len(inside) - 1 - inside[::-1].index(name):]
            else:
                inside.append(name)
        position = tag.end()
    text = page[position:]
    out.append(text if inside else _typeset_text(text))
    return "".join(out)
