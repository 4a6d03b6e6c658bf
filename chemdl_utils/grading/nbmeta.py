"""nbgrader's cell metadata, read defensively (a submission's metadata is whatever a student left).

Every grading step asks the same three questions of a cell; they are answered here once:
:func:`nbgrader_meta` (the ``metadata.nbgrader`` dict, empty when absent or not a dict),
:func:`grade_id` (a non-empty string, or ``""``) and :func:`cell_kind` (``"test"``, ``"answer"``,
``"locked"`` or ``None``), plus :func:`grade_ids` of a whole notebook.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode

__all__ = ["nbgrader_meta", "grade_id", "cell_kind", "grade_ids"]


def nbgrader_meta(cell: Any) -> dict:
    """``cell.metadata.nbgrader`` when it is a dict, else ``{}``."""
    metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Any) -> str:
    """The cell's nbgrader ``grade_id`` (``""`` when it has none or it is not a string)."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else ""


def cell_kind(cell: Any) -> str | None:
    """What the instructor's ``cell`` is to the grader: ``"test"`` (an autograded code cell with
    points), ``"answer"`` (a solution cell: the student writes it), ``"locked"`` (read-only,
    including task cells), or ``None`` (an ordinary cell)."""
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        return "answer"
    if meta.get("grade") and cell.get("cell_type") == "code":
        return "test"
    if meta.get("locked") or meta.get("task") or meta.get("grade"):
        return "locked"
    return None


def grade_ids(nb: NotebookNode) -> set[str]:
    """The ``grade_id``s present in ``nb``."""
    return {gid for gid in (grade_id(c) for c in nb.cells) if gid}
