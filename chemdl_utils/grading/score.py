"""Scores of one graded notebook, computed in the trusted parent from the grader's verdicts.

:func:`score_notebook` is a pure function: what the gradebook says each graded cell is worth
(:class:`GradedCell`), the trusted verdict on every test cell and the answers a student left as
released, in; :class:`NotebookScore` out. Nothing is read back from the executed notebook's
outputs. The rules are nbgrader's:

* a test cell earns its points (from the gradebook) when its verdict passed, else zero; a test
  that never ran (time limit, crashed kernel, deleted and not restorable) has a failed verdict;
* a graded answer (written or code, nbgrader's "manually graded answer") waits for a human
  (``None``), unless the student left it exactly as released: zero, with the comment
  "No response." (nbgrader's checksum rule);
* a graded cell of the gradebook that the grader never saw scores zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = ["CellScore", "GradedCell", "NotebookScore", "score_notebook", "missing_notebook_score"]


@dataclass(frozen=True)
class GradedCell:
    """What the gradebook says a graded cell is: its points, and whether a human grades it."""

    points: float
    manual: bool = False  #: a graded answer cell (``solution``), not a test
    cell_type: str = "code"


@dataclass(frozen=True)
class CellScore:
    """One graded cell as the gradebook stores it: ``auto_score`` is ``None`` when a human grades it."""

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


def score_notebook(notebook_id: str, graded: Mapping[str, GradedCell], verdicts: Mapping[str, Any],
                   blank: Iterable[str] = (), present: Iterable[str] | None = None,
                   answers: Iterable[str] = ()) -> NotebookScore:
    """Score one graded notebook.

    ``graded``: every graded cell of the gradebook's notebook. ``verdicts``: grade id -> the
    trusted verdict (an object with ``passed``) of each test cell the grader evaluated.
    ``blank``: answer cells left exactly as released. ``present``: grade ids the executed notebook
    has (``None``: all). ``answers``: every answer cell of the gradebook (graded or not), for the
    "No response." comment.
    """
    blank = set(blank)
    present_ids = None if present is None else set(present)
    result = NotebookScore(notebook_id)
    for gid in answers:
        result.comments[gid] = "No response." if gid in blank else None
    for gid, cell in graded.items():
        points = float(cell.points)
        if present_ids is not None and gid not in present_ids:
            auto: float | None = 0.0  # a graded cell that vanished: no points
        elif cell.manual:
            auto = 0.0 if gid in blank else None
        else:
            verdict = verdicts.get(gid)
            auto = points if verdict is not None and verdict.passed is True else 0.0
        result.cells.append(CellScore(gid, auto, points, cell.cell_type))
    return result


def missing_notebook_score(notebook_id: str, graded: Mapping[str, GradedCell]) -> NotebookScore:
    """The score of a notebook that was not submitted: zero on every graded cell (as nbgrader does)."""
    return NotebookScore(notebook_id, [CellScore(g, 0.0, float(c.points), c.cell_type) for g, c in graded.items()])
