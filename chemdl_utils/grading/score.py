"""Scores of an executed notebook, computed in the trusted parent with nbgrader's own rules.

:func:`score_notebook` is a pure function: executed notebook in, :class:`NotebookScore` out. It
uses ``nbgrader.utils.determine_grade`` (an error or stderr output in a test cell gives zero, a
numeric result gives partial credit, otherwise full points; a manually graded answer needs a
human unless it was left blank) and the checksum rule for the "No response." comment. The
points come from the gradebook (``max_scores``), never from the submitted metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from nbformat import NotebookNode
from nbgrader import utils

__all__ = ["CellScore", "NotebookScore", "score_notebook", "missing_notebook_score"]

_log = logging.getLogger(__name__)

#: cell states from the runner for which a test cell can earn points
_RAN = {"ok", "error"}


@dataclass(frozen=True)
class CellScore:
    """One graded cell: ``auto_score`` is ``None`` when a human has to grade it."""

    grade_id: str
    auto_score: float | None
    max_score: float
    cell_type: str


@dataclass
class NotebookScore:
    """Autograder results of one notebook of a submission."""

    notebook_id: str
    cells: list[CellScore] = field(default_factory=list)
    comments: dict[str, str | None] = field(default_factory=dict)

    def auto_score(self, grade_id: str) -> float | None:
        """The autograder score of ``grade_id`` (zero when the cell is absent)."""
        for cell in self.cells:
            if cell.grade_id == grade_id:
                return cell.auto_score
        return 0.0

    def comment(self, grade_id: str) -> str | None:
        """The automatic comment of a solution/task cell (``"No response."`` or ``None``)."""
        return self.comments.get(grade_id)

    @property
    def score(self) -> float:
        """Points the autograder gave (cells awaiting manual grading count as zero)."""
        return float(sum(c.auto_score or 0.0 for c in self.cells))

    @property
    def max_score(self) -> float:
        """Points available in this notebook."""
        return float(sum(c.max_score for c in self.cells))

    @property
    def needs_manual_grade(self) -> bool:
        """True when at least one answer waits for a human."""
        return any(c.auto_score is None for c in self.cells)


def score_notebook(
    nb: NotebookNode,
    notebook_id: str,
    max_scores: Mapping[str, float],
    cell_status: Sequence[str] | None = None,
) -> NotebookScore:
    """Score the executed notebook ``nb``.

    ``max_scores`` maps every grade id of the source notebook to its points (from the gradebook).
    ``cell_status`` is :attr:`ExecutionResult.cell_status`; a code test cell that did not run
    (``timeout``, ``crashed``, ``not-run``) scores zero whatever its outputs say.
    """
    result = NotebookScore(notebook_id)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id:
            continue
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = meta.get("checksum") == utils.compute_checksum(cell)
            result.comments[grade_id] = "No response." if unchanged and not utils.is_task(cell) else None
        if not utils.is_grade(cell) or grade_id not in max_scores or grade_id in seen:
            continue
        seen.add(grade_id)
        points = float(max_scores[grade_id])
        cell.metadata.nbgrader["points"] = points
        auto, _ = utils.determine_grade(cell, _log)
        status = cell_status[index] if cell_status is not None and index < len(cell_status) else "ok"
        if cell.cell_type == "code" and not utils.is_solution(cell) and status not in _RAN:
            auto = 0.0
        value = None if auto is None else float(auto)
        result.cells.append(CellScore(grade_id, value, points, cell.cell_type))
    for grade_id, points in max_scores.items():
        if grade_id not in seen:  # a graded cell that vanished: no points
            result.cells.append(CellScore(grade_id, 0.0, float(points), "code"))
    return result


def missing_notebook_score(notebook_id: str, max_scores: Mapping[str, float]) -> NotebookScore:
    """The score of a notebook that was not submitted: zero on every graded cell (as nbgrader does)."""
    return NotebookScore(notebook_id, [CellScore(g, 0.0, float(p), "code") for g, p in max_scores.items()])
