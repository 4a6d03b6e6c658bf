"""Before execution: read and identify a submitted notebook (in the trusted parent).

Two small steps, each testable alone (restoring the instructor's cells is one step of its own,
:mod:`~chemdl_utils.grading.restore`, run in the grading process):

* :func:`read_notebook` validates the file (JSON, nbformat schema) and raises
  :class:`SubmissionError` with a one-line reason otherwise;
* :func:`match_notebooks` finds which submitted file is which notebook of the assignment, by
  name first and then by the nbgrader cell ids inside (a renamed ``neurons (1).ipynb`` is found;
  a notebook of another assignment is recognised as such);
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import nbformat
from nbformat import NotebookNode

from .nbmeta import grade_ids

__all__ = [
    "SubmissionError", "NotebookMatch", "read_notebook", "grade_ids", "match_notebooks",
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
