"""Before execution: read, identify and repair a submitted notebook (in the trusted parent).

Three small steps, each testable alone:

* :func:`read_notebook` validates the file (JSON, nbformat schema) and raises
  :class:`SubmissionError` with a one-line reason otherwise;
* :func:`match_notebooks` finds which submitted file is which notebook of the assignment, by
  name first and then by the nbgrader cell ids inside (a renamed ``neurons (1).ipynb`` is found;
  a notebook of another assignment is recognised as such);
* :func:`restore_notebook` runs nbgrader's own sanitizing preprocessors against the gradebook:
  ``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells`` (edited locked
  cells get their source back, points come from the gradebook, deleted test cells are added back)
  and ``CheckCellMetadata``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import nbformat
from nbformat import NotebookNode

from .hidden import remove_hidden_tests

__all__ = [
    "SubmissionError", "NotebookMatch", "read_notebook", "grade_ids", "match_notebooks", "restore_notebook",
]


class SubmissionError(ValueError):
    """A submission that cannot be graded; ``str(error)`` is the reason shown to the instructor."""


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate ``path`` as a Jupyter notebook (version 4)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{Path(path).name}: cannot be read ({exc.strerror})") from exc
    if not raw.strip():
        raise SubmissionError(f"{Path(path).name}: the file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{Path(path).name}: not a text file (not UTF-8): not a notebook") from exc
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{Path(path).name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict) or "cells" not in data:
        raise SubmissionError(f"{Path(path).name}: JSON but not a notebook (no 'cells')")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several validation error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SubmissionError(f"{Path(path).name}: not a valid notebook ({first[:200]})") from exc
    return nb


def grade_ids(nb: NotebookNode) -> set[str]:
    """The nbgrader ``grade_id``s present in ``nb``."""
    ids = set()
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            ids.add(str(gid))
    return ids


@dataclass
class NotebookMatch:
    """Which submitted file stands for which notebook of the assignment."""

    found: dict[str, Path] = field(default_factory=dict)  #: notebook id -> submitted file
    renamed: dict[str, str] = field(default_factory=dict)  #: notebook id -> submitted file name
    missing: list[str] = field(default_factory=list)  #: notebook ids without a file
    invalid: dict[str, str] = field(default_factory=dict)  #: notebook id -> reason (file unreadable)
    wrong_assignment: dict[str, str] = field(default_factory=dict)  #: notebook id -> other assignment
    extra: list[str] = field(default_factory=list)  #: other files (relative paths)


def _overlap(ids: set[str], expected: set[str]) -> float:
    return len(ids & expected) / len(expected) if expected else 0.0


def match_notebooks(
    folder: Path,
    expected: Mapping[str, set[str]],
    others: Mapping[str, Mapping[str, set[str]]] | None = None,
) -> NotebookMatch:
    """Match the files in a submission ``folder`` to the assignment's notebooks.

    ``expected`` maps each notebook id to the grade ids of its source cells; ``others`` the same
    for every other assignment (to recognise a notebook submitted to the wrong assignment).
    """
    folder = Path(folder)
    match = NotebookMatch()
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts)
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    parsed: dict[Path, NotebookNode | str] = {}
    for path in notebooks:
        try:
            parsed[path] = read_notebook(path)
        except SubmissionError as exc:
            parsed[path] = str(exc)
    claimed: set[Path] = set()
    for nb_id, ids in expected.items():
        path = folder / f"{nb_id}.ipynb"
        if path in parsed:
            claimed.add(path)
            content = parsed[path]
            if isinstance(content, str):
                match.invalid[nb_id] = content
                continue
            if _overlap(grade_ids(content), ids) == 0:
                other = _guess_assignment(grade_ids(content), others or {})
                if other:
                    match.wrong_assignment[nb_id] = other
                    continue
                match.invalid[nb_id] = (
                    f"{path.name}: none of the assignment's graded cells are in it (recreated from scratch?)"
                )
                continue
            match.found[nb_id] = path
    for nb_id, ids in expected.items():
        if nb_id in match.found or nb_id in match.invalid or nb_id in match.wrong_assignment:
            continue
        best, best_overlap = None, 0.0
        for path, content in parsed.items():
            if path in claimed or isinstance(content, str):
                continue
            ov = _overlap(grade_ids(content), ids)
            if ov > best_overlap or (ov == best_overlap and best is not None and ov > 0
                                     and path.stat().st_mtime > best.stat().st_mtime):
                best, best_overlap = path, ov
        if best is not None:
            claimed.add(best)
            match.found[nb_id] = best
            match.renamed[nb_id] = str(best.relative_to(folder))
        else:
            wrong = [
                (p, _guess_assignment(grade_ids(c), others or {}))
                for p, c in parsed.items() if p not in claimed and not isinstance(c, str)
            ]
            wrong = [(p, o) for p, o in wrong if o]
            if wrong:
                claimed.add(wrong[0][0])
                match.wrong_assignment[nb_id] = wrong[0][1]
            else:
                match.missing.append(nb_id)
    skip = {"timestamp.txt"}
    match.extra = [
        str(p.relative_to(folder)) for p in files
        if p not in claimed and p.name not in skip and p not in match.found.values()
    ]
    return match


def _guess_assignment(ids: set[str], others: Mapping[str, Mapping[str, set[str]]]) -> str | None:
    best, best_ov = None, 0.0
    for assignment, notebooks in others.items():
        for nb_ids in notebooks.values():
            ov = _overlap(ids, nb_ids)
            if ov > best_ov:
                best, best_ov = assignment, ov
    return best if best_ov >= 0.5 else None


def _strip_hidden_tests(source: str) -> str:
    """``source`` as the student saw it: hidden-test blocks removed (nbgrader's ClearHiddenTests),
    trailing spaces and surrounding blank lines dropped (for comparing cells)."""
    lines = remove_hidden_tests(source).splitlines()
    return "\n".join(line.rstrip() for line in lines).strip()


def _overwrite_cells_class() -> type:
    """nbgrader's ``OverwriteCells`` with a sturdier "add back deleted cells" step.

    nbgrader 0.9.6 builds the re-added cell with plain dict metadata (later steps then fail) and
    can only insert after a grade or solution cell. Here a deleted grade cell is inserted after
    the nearest earlier source cell still present (or first), as a proper ``NotebookNode``.
    """
    from nbgrader import utils
    from nbgrader.preprocessors import OverwriteCells

    class RestoringOverwriteCells(OverwriteCells):
        def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
            nbgrader_meta = {
                "grade": not is_task, "grade_id": source_cell.name, "locked": source_cell.locked,
                "checksum": source_cell.checksum, "points": max_score, "solution": bool(is_solution),
                "schema_version": 3,
            }
            if is_task:
                nbgrader_meta["task"] = True
            note = self.missing_cell_notification.format(cell_id=source_cell.name)
            if source_cell.cell_type == "code":
                cell = nbformat.v4.new_code_cell("# " + note.strip() + "\n" + source_cell.source)
            else:
                cell = nbformat.v4.new_markdown_cell(note + source_cell.source)
            cell.metadata = nbformat.from_dict({"deletable": False, "editable": bool(is_solution),
                                                "nbgrader": nbgrader_meta})
            return cell

        def add_missing_grade_cells(self, nb, resources):
            source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
            order = [c.name for c in source_nb.source_cells]
            solutions = {c.name for c in source_nb.solution_cells}
            for grade_cell in source_nb.grade_cells:
                present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
                if grade_cell.name in present or grade_cell.name not in order:
                    continue
                self.log.warning("Missing grade cell %s: adding it back", grade_cell.name)
                source_cell = source_nb.source_cells[order.index(grade_cell.name)]
                new = self.missing_cell_transform(source_cell, grade_cell.max_score,
                                                  is_solution=grade_cell.name in solutions)
                position = 0
                for earlier in reversed(order[: order.index(grade_cell.name)]):
                    idx = next((i for i, c in enumerate(nb.cells)
                                if c.metadata.get("nbgrader", {}).get("grade_id") == earlier), None)
                    if idx is not None:
                        position = idx + 1
                        break
                nb.cells.insert(position, new)
            return nb, resources

    del utils
    return RestoringOverwriteCells


def restore_notebook(
    nb: NotebookNode, *, db_url: str, course_id: str, assignment: str, notebook_id: str, student: str
) -> tuple[NotebookNode, list[str]]:
    """Run nbgrader's sanitizing preprocessors on ``nb``; returns ``(nb, notes)``.

    Notes name the locked cells the student changed or deleted (they are restored from the
    gradebook, hidden tests included, and run like any other).
    """
    from nbgrader import utils
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteKernelspec

    before = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") and utils.is_locked(c)
    }
    resources = {
        "nbgrader": {
            "notebook": notebook_id, "assignment": assignment, "student": student,
            "db_url": db_url, "course_id": course_id,
        }
    }
    overwrite = _overwrite_cells_class()(add_missing_cells=True)
    steps = [ClearOutput(), DeduplicateIds(), OverwriteKernelspec(), overwrite, CheckCellMetadata()]
    try:
        for step in steps:
            nb, resources = step.preprocess(nb, resources)
            nb = nbformat.from_dict(nb)
    except Exception as exc:
        raise SubmissionError(
            f"{notebook_id}.ipynb: its nbgrader cells could not be restored ({type(exc).__name__}: {exc})"
        ) from exc
    after = {
        c.metadata.nbgrader["grade_id"]: c
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }
    edited = sorted(
        g for g, src in before.items()
        if g in after and _strip_hidden_tests(src) != _strip_hidden_tests(after[g].source)
    )
    added = sorted(g for g in after if g not in before and utils.is_locked(after[g]))
    notes = []
    if edited:
        notes.append(f"restored edited locked cell(s) {', '.join(edited)}")
    if added:
        notes.append(f"restored deleted cell(s) {', '.join(added)}")
    return nb, notes
