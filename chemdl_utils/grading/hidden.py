"""The one parser of nbgrader's hidden-test markers, linear in the size of its input.

A hidden-test block starts at a line ``### BEGIN HIDDEN TESTS`` (``##`` also accepted, leading
spaces allowed) and ends at the next ``### END HIDDEN TESTS`` line, both lines included. Student
text reaches this parser (every cell of a submission is sanitized before it is handed back), so it
works line by line: a cell of tens of thousands of marker lines costs one pass, never the
quadratic backtracking of a multi-line regular expression. A block that is never closed runs to
the end of the text (redacting too much is safe; showing hidden tests is not).
"""

from __future__ import annotations

import re

__all__ = ["split_hidden_tests", "remove_hidden_tests", "hidden_test_blocks"]

# anchored at a line's start and matched with ``re.match``: cost linear in the line's length
_BEGIN = re.compile(r"[ \t]*###?[ \t]*BEGIN HIDDEN TESTS")
_END = re.compile(r"[ \t]*###?[ \t]*END HIDDEN TESTS")


def split_hidden_tests(text: str) -> tuple[str, list[str]]:
    """``(text without hidden-test blocks, [the body of each block])`` in one pass over the lines.

    Lines are split on ``"\\n"`` only and joined back unchanged, so text outside the blocks is
    returned byte for byte.
    """
    if "HIDDEN TESTS" not in text:
        return text, []
    kept: list[str] = []
    blocks: list[str] = []
    body: list[str] | None = None
    lines = text.split("\n")
    last = len(lines) - 1
    for i, line in enumerate(lines):
        piece = line if i == last else line + "\n"
        if body is None:
            if _BEGIN.match(line):
                body = []
            else:
                kept.append(piece)
        elif _END.match(line):
            blocks.append("".join(body))
            body = None
        else:
            body.append(piece)
    if body is not None:
        blocks.append("".join(body))
    return "".join(kept), blocks


def remove_hidden_tests(text: str) -> str:
    """``text`` without its hidden-test blocks (what a student may see)."""
    return split_hidden_tests(text)[0]


def hidden_test_blocks(text: str) -> list[str]:
    """The bodies of ``text``'s hidden-test blocks (marker lines excluded)."""
    return split_hidden_tests(text)[1]
