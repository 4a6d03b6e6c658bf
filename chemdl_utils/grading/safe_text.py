"""Text from students, made safe for the instructor's terminal, spreadsheets and browser.

Everything the grading pipeline shows an instructor may carry text a student chose: file names
in a download, notebook outputs, error messages that quote them. Three filters:

* :func:`printable` for anything printed to a terminal or written to a log: removes ANSI/VT
  escape sequences (CSI ``ESC [``, OSC ``ESC ]`` such as window titles and hyperlinks, DCS/APC/PM,
  two-byte ``ESC x``), every other C0/C1 control character except newline and tab, DEL, and the
  Unicode bidirectional overrides that make a name display in a different order than it is stored.
* :func:`csv_cell` for text cells of a CSV an instructor opens in a spreadsheet: :func:`printable`,
  and a leading ``'`` on text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``).
* :func:`sanitize_html` for HTML pages (feedback): an allow-list sanitizer (`nh3`_, the Rust
  ``ammonia`` library) keeps text, headings, lists, tables, code, presentation MathML, links (http,
  https, mailto, in-page ``#``) and images given as ``data:image/png`` or ``data:image/jpeg``; it
  drops every script, event handler (``onerror=``), ``javascript:`` URL,
  ``<style>``/``<iframe>``/``<svg>``/``<form>`` and their content; ``id``/``name`` values and in-page
  links get the prefix ``user-content-`` (so page content cannot clobber a global of the page). The
  document's own ``<head>`` (the template's title and CSS, never student content) is kept, its
  scripts are not. TeX in the page is typeset as MathML before sanitizing
  (:mod:`~chemdl_utils.grading.tex_math`), so the page needs no script at all, and its
  Content-Security-Policy allows none and loads nothing from the network.

.. _nh3: https://nh3.readthedocs.io
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from .tex_math import MATHML_ATTRIBUTES, MATHML_TAGS, typeset

__all__ = ["printable", "csv_cell", "sanitize_html", "sanitize_fragment", "ID_PREFIX"]

# ESC-introduced sequences: CSI (ESC [ ... final byte), OSC / DCS / SOS / PM / APC strings (ended by BEL
# or ST = ESC \), and two-character escapes (ESC + one byte); the 8-bit C1 forms (0x9b CSI, 0x9d OSC,
# 0x90 DCS, 0x98 SOS, 0x9e PM, 0x9f APC) likewise. Unterminated strings run to the end of the text.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x7e]?"
)
# what is left after the sequences: C0 except \t \n, DEL, C1, and the bidi embedding/override/isolate
# characters (U+202A-U+202E, U+2066-U+2069); the LRM/RLM/ALM marks stay (they reorder nothing)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: Any) -> str:
    """``text`` (``str()`` of it) without terminal escape sequences or control characters.

    Newlines and tabs are kept; a carriage return is removed (it would let text overwrite the line
    it is on). Letters of every script are kept.
    """
    s = text if isinstance(text, str) else str(text)
    if not s.isprintable() or "\x1b" in s:
        s = _CONTROLS.sub("", _ESCAPES.sub("", s))
    return s


def csv_cell(value: Any) -> Any:
    """A CSV cell value safe to open in a spreadsheet: text is :func:`printable` and text that starts
    like a formula (``=``, ``+``, ``-``, ``@``) gets a leading ``'``; numbers and ``None`` pass as they are."""
    if not isinstance(value, str):
        return value
    s = printable(value).replace("\t", " ")
    if s[:1] in ("=", "+", "-", "@"):
        s = "'" + s
    return s


# ------------------------------------------------------------------------------------- HTML

#: the page runs no script and loads nothing: styles and images are inline in the page itself
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-src 'none'; object-src 'none'")

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span",
    "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u",
    "ul", "var", "wbr",
} | MATHML_TAGS
_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type"},
    "details": {"open"},
    **{tag: set(MATHML_ATTRIBUTES) for tag in MATHML_TAGS},
}
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=\s]*\Z", re.I)
_SAFE_HREF = re.compile(r"(?:https?:|mailto:|#)", re.I)
_ID = re.compile(r"[\w\-.:]{1,200}\Z")


#: prefix of every ``id``/``name`` (and in-page ``#`` link): page content cannot clobber globals
#: of the page (an element ``id="config"`` would become ``window.config``)
ID_PREFIX = "user-content-"
#: ids the notebook templates' CSS styles (``div#notebook-container``); kept as they are
_TEMPLATE_IDS = frozenset({"notebook", "notebook-container", "toc", "site", "header", "maintoolbar"})


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if _DATA_IMAGE.match(value.strip()) else None
    if attr == "href":
        value = value.strip()
        if value.startswith("#") and len(value) > 1 and not value.startswith("#" + ID_PREFIX):
            value = "#" + ID_PREFIX + value[1:]
        return value if _SAFE_HREF.match(value) else None
    if attr in ("id", "name"):
        if not _ID.match(value):
            return None
        return value if value.startswith(ID_PREFIX) or value in _TEMPLATE_IDS else ID_PREFIX + value
    return value


def sanitize_fragment(fragment: str) -> str:
    """An HTML fragment with only the allow-listed tags, attributes and URLs (see the module docstring)."""
    import nh3

    return nh3.clean(
        printable(fragment),
        tags=_TAGS,
        clean_content_tags={"script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
                            "textarea", "select", "title", "xmp", "noembed", "noframes"},
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BODY = re.compile(r"<body\b[^>]*>", re.I)
_BODY_END = re.compile(r"</body\s*>(?![\s\S]*</body\s*>)", re.I)
_STYLE = re.compile(r"<style\b[^>]*>([\s\S]*?)</style\s*>", re.I)
_TITLE = re.compile(r"<title\b[^>]*>([\s\S]*?)</title\s*>", re.I)


def sanitize_html(document: str) -> str:
    """A whole HTML page (or a fragment) rebuilt from safe parts.

    The part before ``<body>`` is the page template's: its ``<title>`` text and ``<style>`` blocks
    are kept (anything else there, scripts included, is dropped). The body goes through
    :func:`~chemdl_utils.grading.tex_math.typeset` (TeX as MathML), then :func:`sanitize_fragment`.
    The result is a complete page with a Content-Security-Policy that allows no script and no
    request; a fragment without ``<body>`` is all body.
    """
    document = printable(document)
    m = _BODY.search(document)
    head, body = (document[: m.start()], document[m.end():]) if m else ("", document)
    end = _BODY_END.search(body)
    if end:
        body = body[: end.start()]
    title = _TITLE.search(head)
    title_text = _html.escape(_html.unescape(re.sub(r"<[^>]*>", "", title.group(1))).strip()) if title else ""
    styles = "\n".join(f"<style>{css}</style>" for css in _STYLE.findall(head))
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\" />\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\" />\n"
        f"<title>{title_text}</title>\n{styles}\n"
        "</head>\n<body>\n"
        f"{sanitize_fragment(typeset(body))}\n"
        "</body>\n</html>\n"
    )
