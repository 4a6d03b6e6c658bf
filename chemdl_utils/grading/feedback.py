"""``feedback``: one HTML page per student notebook, from the autograded copy and the gradebook.

Uses nbgrader's ``GenerateFeedback`` (its template shows every graded cell with the points given
and the instructor's comments). Every page is then passed through
:func:`~chemdl_utils.grading.redact.sanitize_html`, so hidden-test source and
instructor paths never reach a student, and through the allow-list sanitizer
:func:`~chemdl_utils.grading.safe_text.sanitize_html`, so nothing a student wrote or printed runs
in the browser of whoever opens the page (no scripts, ``Javascript()`` outputs, event handlers or
``javascript:`` links; text, tables, PNG/JPEG images and TeX math stay). Output:
``instructor/feedback/<student>/<assignment>/<notebook>.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import nbformat

from .course import Course, run_nbgrader
from .safe_text import sanitize_html as allow_list_html
from .redact import sanitize_html

__all__ = ["generate_feedback"]


def generate_feedback(
    course: Course, assignment: str, students: Iterable[str] | None = None
) -> dict[str, list[Path]]:
    """Write feedback HTML for ``assignment`` (every autograded student, or only ``students``).

    Returns ``{student: [html files]}``. Raises ``FileNotFoundError`` when nothing is autograded.
    """
    from nbgrader.converters import GenerateFeedback

    course.require_assignment(assignment)
    graded = sorted(p.parent.name for p in course.autograded_dir.glob(f"*/{assignment}") if p.is_dir())
    wanted = list(students) if students else graded
    unknown = [s for s in wanted if s not in graded]
    if unknown:
        raise FileNotFoundError(
            f"no autograded {assignment!r} for {', '.join(unknown)}: run 'chemdl grade autograde' first"
        )
    if not wanted:
        raise FileNotFoundError(f"nothing autograded for {assignment!r} in {course.autograded_dir}")
    out: dict[str, list[Path]] = {}
    redact = [str(course.root), str(course.workspace)]
    for student in wanted:
        run_nbgrader(
            GenerateFeedback, course, f"generate feedback for {student}",
            **{
                "CourseDirectory.assignment_id": assignment,
                "CourseDirectory.student_id": student,
                "GenerateFeedback.force": True,
            },
        )
        pages = sorted((course.feedback_dir / student / assignment).glob("*.html"))
        for page in pages:  # nothing from the instructor's side (hidden tests, paths) goes back
            source = course.source_dir / assignment / f"{page.stem}.ipynb"
            source_nb = nbformat.read(str(source), as_version=4) if source.is_file() else None
            text = sanitize_html(page.read_text(encoding="utf-8"), source_nb, redact=redact)
            # allow-listed markup only, then redact once more on the re-serialised text
            text = sanitize_html(allow_list_html(text), source_nb, redact=redact)
            page.write_text(text, encoding="utf-8")
        out[student] = pages
    return out
