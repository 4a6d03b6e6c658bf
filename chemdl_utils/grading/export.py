"""``export``: grades as CSV for a spreadsheet or an LMS import, and the autograde history.

:func:`export_grades` writes one row per student and assignment (``score`` counts manual scores
where an instructor gave one, else the autograder's; a student without a submission gets 0 and
``submitted = no``); ``by_question`` adds one column per graded cell. :func:`export_history`
writes every autograde attempt, so earlier grades of a resubmission stay visible. Text cells pass
through :func:`~chemdl_utils.grading.safe_text.csv_cell` (no control characters; text a
spreadsheet would run as a formula gets a leading ``'``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from .course import Course
from .gradebook import HISTORY_COLUMNS, open_gradebook, read_history
from .safe_text import csv_cell

__all__ = ["grade_rows", "export_grades", "export_history"]

BASE_COLUMNS = ["student_id", "assignment", "submitted", "timestamp", "score", "max_score", "percent",
                "needs_manual_grade"]


def grade_rows(
    course: Course, assignments: Iterable[str] | None = None, by_question: bool = False
) -> list[dict]:
    """Rows of the grades table (see the module docstring)."""
    rows = []
    with open_gradebook(course) as gb:
        names = list(assignments) if assignments else [a.name for a in gb.assignments]
        students = sorted(s.id for s in gb.students)
        for name in names:
            assignment = gb.find_assignment(name)
            cells = [(nb.name, c.name, float(c.max_score))
                     for nb in assignment.notebooks for c in nb.grade_cells]
            maximum = sum(m for _, _, m in cells)
            subs = {s.student.id: s for s in assignment.submissions}
            for student in students:
                sub = subs.get(student)
                row = {"student_id": student, "assignment": name, "submitted": "yes" if sub else "no",
                       "timestamp": sub.timestamp.isoformat(sep=" ") if sub and sub.timestamp else "",
                       "max_score": maximum}
                per_cell = {}
                if sub:
                    for snb in sub.notebooks:
                        for g in snb.grades:
                            per_cell[(snb.name, g.cell.name)] = g
                score = 0.0
                needs = False
                for nb_name, cell, _ in cells:
                    g = per_cell.get((nb_name, cell))
                    value = 0.0
                    if g is not None:
                        value = g.manual_score if g.manual_score is not None else (g.auto_score or 0.0)
                        value += g.extra_credit or 0.0
                        needs = needs or bool(g.needs_manual_grade)
                    score += value
                    if by_question:
                        row[f"{nb_name}:{cell}"] = value
                row.update(score=round(score, 4), percent=round(100 * score / maximum, 2) if maximum else 0.0,
                           needs_manual_grade="yes" if needs else "no")
                rows.append(row)
    return rows


def export_grades(course: Course, path: Path, assignments: Iterable[str] | None = None,
                  by_question: bool = False) -> Path:
    """Write the grades CSV to ``path``; returns it."""
    rows = grade_rows(course, assignments, by_question)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(_safe(rows))
    return path


def _safe(rows: list[dict]) -> list[dict]:
    return [{k: csv_cell(v) for k, v in row.items()} for row in rows]


def export_history(course: Course, path: Path, assignment: str | None = None) -> Path:
    """Write every autograde attempt (oldest first) to ``path``; returns it."""
    rows = read_history(course, assignment)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(HISTORY_COLUMNS))
        writer.writeheader()
        writer.writerows(_safe(rows))
    return path
