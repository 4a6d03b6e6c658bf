"""Make sure nothing of the instructor's leaks into what a student gets back.

The graded copy and the feedback HTML may contain the student's own cells and outputs, the
released (visible) tests and the grader's verdicts. They must never contain hidden-test code,
solution code, instructor paths or the grader's secrets. ``grader.grade_notebook`` already
never puts them there; these functions are the last filter before anything is written where a
student can read it:

* :func:`sanitize_notebook` for the graded notebook (call it on ``autograded/`` copies too);
* :func:`sanitize_html` for feedback HTML, right after nbconvert renders it;
* :func:`format_test_message` for a failed test's message (the message, never the code).
"""

from __future__ import annotations

import copy
import html
import os
import re
from typing import Any, Iterable, Mapping

from nbformat import NotebookNode

from .hidden import hidden_test_blocks, remove_hidden_tests

__all__ = ["sanitize_notebook", "sanitize_html", "format_test_message", "secret_values", "hidden_lines",
           "REDACTED"]

REDACTED = "[redacted by the grader]"
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|DSN|_URL)$|"
                          r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.I)
_MAX_MESSAGE = 1500


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the grader's environment variables whose names look secret (API keys, tokens,
    passwords, database URLs), 6 characters or longer."""
    env = os.environ if env is None else env
    return sorted({v for k, v in env.items() if _SECRET_NAME.search(k) and isinstance(v, str) and len(v) >= 6},
                  key=len, reverse=True)


def hidden_lines(source_nb: NotebookNode | None) -> list[str]:
    """The lines of every hidden-test block of the source notebook (stripped, 8+ characters)."""
    out: set[str] = set()
    if source_nb is None:
        return []
    for cell in source_nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for block in hidden_test_blocks(cell.get("source", "")):
            out.update(line.strip() for line in block.splitlines() if len(line.strip()) >= 8)
    return sorted(out, key=len, reverse=True)


def _scrub(text: str, needles: Iterable[str]) -> str:
    for needle in needles:
        if needle and needle in text:
            text = text.replace(needle, REDACTED)
    return text


def format_test_message(message: str, test_source: str = "") -> str:
    """A failed test's message for the student: hidden-test code replaced, length bounded."""
    needles = [line.strip() for line in test_source.splitlines() if len(line.strip()) >= 8]
    text = _scrub(str(message), sorted(needles, key=len, reverse=True))
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + " ..."
    return text


def _needles(source_nb: NotebookNode | None, redact: Iterable[str]) -> list[str]:
    needles = set(hidden_lines(source_nb)) | set(secret_values())
    for item in redact:
        item = str(item)
        if len(item) >= 4:
            needles.add(item)
            if os.path.isabs(item):
                needles.add(os.path.realpath(item))
    return sorted((n for n in needles if n), key=len, reverse=True)


def _scrub_obj(obj: Any, needles: list[str]) -> Any:
    if isinstance(obj, str):
        return _scrub(obj, needles)
    if isinstance(obj, list):
        return [_scrub_obj(x, needles) for x in obj]
    if isinstance(obj, dict):
        return type(obj)({k: _scrub_obj(v, needles) for k, v in obj.items()})
    return obj


def sanitize_notebook(nb: NotebookNode, source_nb: NotebookNode | None = None,
                      redact: Iterable[str] = ()) -> NotebookNode:
    """A copy of ``nb`` safe to hand back: hidden-test blocks removed from every cell, and every
    hidden-test line, instructor path or secret in ``redact`` / the environment replaced by
    ``REDACTED`` in sources, outputs and metadata."""
    out = copy.deepcopy(nb)
    needles = _needles(source_nb, redact)
    for cell in out.cells:
        cell.source = remove_hidden_tests(cell.get("source", ""))
        cell.source = _scrub(cell.source, needles)
        if cell.get("cell_type") == "code":
            cell.outputs = _scrub_obj(cell.get("outputs", []), needles)
        cell.metadata = _scrub_obj(cell.get("metadata", {}), needles)
        if "attachments" in cell and cell.get("cell_type") != "markdown":
            del cell["attachments"]
    out.metadata = _scrub_obj(out.metadata, needles)
    return out


def sanitize_html(text: str, source_nb: NotebookNode | None = None, redact: Iterable[str] = ()) -> str:
    """Feedback HTML with hidden-test lines, instructor paths and secrets redacted (raw and
    HTML-escaped forms)."""
    needles = _needles(source_nb, redact)
    escaped = sorted({html.escape(n, quote=q) for n in needles for q in (True, False)} - set(needles),
                     key=len, reverse=True)
    text = remove_hidden_tests(text)
    return _scrub(_scrub(text, needles), escaped)
