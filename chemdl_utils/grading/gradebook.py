"""The gradebook: nbgrader's database (SQLite or PostgreSQL) plus our autograde history table.

Only the trusted parent process touches the gradebook. :func:`save_grades` writes one
submission's scores, comments and history row in a single transaction: it either all lands or
none of it does. Everything else here reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text, insert, select

from .course import Course, ensure_nbgrader_tools

__all__ = [
    "HISTORY_COLUMNS",
    "HistoryRow",
    "open_gradebook",
    "ensure_assignment",
    "source_grade_ids",
    "known_assignments",
    "save_grades",
    "record_history",
    "read_history",
]

_meta = MetaData()
history_table = Table(
    "chemdl_autograde_history",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("graded_at", DateTime, nullable=False),
    Column("assignment", String(128), nullable=False, index=True),
    Column("student", String(128), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("score", Float),
    Column("max_score", Float),
    Column("submitted_at", DateTime),
    Column("sha256", String(64)),
    Column("reason", Text),
    Column("duration_s", Float),
)
HISTORY_COLUMNS = tuple(c.name for c in history_table.columns)


@dataclass(frozen=True)
class HistoryRow:
    """One autograde attempt of one submission (graded, failed or missing)."""

    run_id: str
    assignment: str
    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    submitted_at: dt.datetime | None = None
    sha256: str | None = None
    reason: str = ""
    duration_s: float | None = None

    def values(self) -> dict:
        """Column values for an INSERT (``graded_at`` is now, UTC, naive as nbgrader stores it)."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return {
            "run_id": self.run_id, "graded_at": now, "assignment": self.assignment, "student": self.student,
            "status": self.status, "score": self.score, "max_score": self.max_score,
            "submitted_at": self.submitted_at, "sha256": self.sha256, "reason": self.reason,
            "duration_s": self.duration_s,
        }


@contextlib.contextmanager
def open_gradebook(course: Course) -> Iterator[Gradebook]:
    """nbgrader's ``Gradebook`` for ``course`` (created if new), with our history table present."""
    ensure_nbgrader_tools()
    if course.db_url.startswith("sqlite:///"):
        Path(course.db_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        gb = Gradebook(course.db_url, course.course_id)
    except Exception as exc:  # a bad URL or a server that is down: one clear line
        raise RuntimeError(f"cannot open the gradebook {_safe_url(course.db_url)}: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    try:
        _meta.create_all(gb.engine)
        yield gb
    finally:
        gb.close()
        gb.engine.dispose()


def _safe_url(url: str) -> str:
    """``url`` without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def known_assignments(gb: Gradebook) -> dict[str, dict[str, set[str]]]:
    """``{assignment: {notebook: {grade ids of its source cells}}}`` for every assignment in the gradebook."""
    out: dict[str, dict[str, set[str]]] = {}
    for assignment in gb.assignments:
        out[assignment.name] = {nb.name: {c.name for c in nb.source_cells} for nb in assignment.notebooks}
    return out


def source_grade_ids(gb: Gradebook, assignment: str) -> dict[str, set[str]]:
    """``{notebook: {grade ids}}`` of ``assignment`` (``MissingEntry`` if it is not in the gradebook)."""
    a = gb.find_assignment(assignment)
    return {nb.name: {c.name for c in nb.source_cells} for nb in a.notebooks}


def ensure_assignment(course: Course, assignment: str, *, refresh: bool = False) -> None:
    """Make sure the gradebook knows ``assignment``'s notebooks, cells, points and checksums.

    nbgrader records them when it generates the release. When the gradebook lacks them (a new
    PostgreSQL gradebook, say) or ``refresh`` is set, generate the assignment into a scratch
    folder against this gradebook; ``exercises/`` is not touched.
    """
    course.require_assignment(assignment)
    if not refresh:
        with open_gradebook(course) as gb:
            try:
                nbs = gb.find_assignment(assignment).notebooks
                if {nb.name for nb in nbs} == {p.stem for p in course.source_notebooks(assignment)}:
                    return
            except MissingEntry:
                pass
    from .release import generate_assignment

    with tempfile.TemporaryDirectory(prefix="chemdl-release-") as tmp:
        generate_assignment(course, assignment, Path(tmp), db_url=course.db_url)


def save_grades(
    gb: Gradebook,
    assignment: str,
    student: str,
    timestamp: dt.datetime | None,
    notebooks: Sequence,
    history: HistoryRow,
) -> float:
    """Write one submission's autograder results and its history row in ONE transaction.

    ``notebooks`` are :class:`chemdl_utils.grading.score.NotebookScore` objects, one per notebook
    of the assignment (a missing notebook is a score with every cell at zero). Manual scores an
    instructor entered before are kept (the cell is flagged for review, as nbgrader does).
    Returns the submission's total score. On any error the transaction is rolled back.
    """
    session = gb.db
    try:
        a = session.query(Assignment).filter(Assignment.name == assignment).one_or_none()
        if a is None:
            raise MissingEntry(
                f"assignment {assignment!r} is not in the gradebook; run 'chemdl grade release {assignment}'"
            )
        s = session.query(Student).filter(Student.id == student).one_or_none()
        if s is None:
            s = Student(id=student)
            session.add(s)
        sub = (
            session.query(SubmittedAssignment)
            .filter(SubmittedAssignment.assignment == a, SubmittedAssignment.student == s)
            .one_or_none()
        )
        if sub is None:
            sub = SubmittedAssignment(assignment=a, student=s)
            session.add(sub)
        sub.timestamp = timestamp
        session.flush()
        by_name = {n.notebook_id: n for n in notebooks}
        total = 0.0
        with session.no_autoflush:
            for nb in list(a.notebooks):
                snb = next((x for x in sub.notebooks if x.notebook == nb), None)
                if snb is None:
                    snb = SubmittedNotebook(notebook=nb, assignment=sub)
                    session.add(snb)
                grades = {g.cell.name: g for g in snb.grades}
                comments = {c.cell.name: c for c in snb.comments}
                for cell in list(nb.grade_cells) + list(nb.task_cells):
                    if cell.name not in grades:
                        grades[cell.name] = Grade(cell_id=cell.id, notebook=snb)
                        session.add(grades[cell.name])
                for cell in list(nb.solution_cells) + list(nb.task_cells):
                    if cell.name not in comments:
                        comments[cell.name] = Comment(cell_id=cell.id, notebook=snb)
                        session.add(comments[cell.name])
                result = by_name.get(nb.name)
                for cell in nb.grade_cells:
                    grade = grades[cell.name]
                    auto = result.auto_score(cell.name) if result is not None else 0.0
                    grade.auto_score = auto
                    grade.needs_manual_grade = grade.manual_score is not None or auto is None
                    counted = grade.manual_score if grade.manual_score is not None else auto
                    total += float(counted or 0.0) + float(grade.extra_credit or 0.0)
                for name, comment in comments.items():
                    comment.auto_comment = result.comment(name) if result is not None else None
        session.flush()
        session.execute(insert(history_table).values(**history.values()))
        session.commit()
        return total
    except BaseException:
        session.rollback()
        raise


def record_history(gb: Gradebook, row: HistoryRow) -> None:
    """Append one history row on its own (attempts that wrote no grade: failed, missing)."""
    try:
        gb.db.execute(insert(history_table).values(**row.values()))
        gb.db.commit()
    except BaseException:
        gb.db.rollback()
        raise


def read_history(course: Course, assignment: str | None = None, student: str | None = None) -> list[dict]:
    """Every autograde attempt (oldest first), optionally for one assignment and/or student."""
    with open_gradebook(course) as gb:
        query = select(history_table).order_by(history_table.c.id)
        if assignment:
            query = query.where(history_table.c.assignment == assignment)
        if student:
            query = query.where(history_table.c.student == student)
        return [dict(row._mapping) for row in gb.db.execute(query)]
