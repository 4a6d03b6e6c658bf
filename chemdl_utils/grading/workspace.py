"""Before execution, in the trusted parent: a submission's working copy, its notebooks read and matched.

:func:`prepare_submission` builds the working copy (the submitted files, links never followed,
with the released files laid over them: the only folder the student's kernel may write) and a
:class:`Job`, or a :class:`Rejected` with the reason. It uses two small steps, each testable alone:

* :func:`read_notebook` validates the file (JSON, nbformat schema) and raises
  :class:`SubmissionError` with a one-line reason otherwise;
* :func:`match_notebooks` finds which submitted file is which notebook of the assignment, by
  name first and then by the nbgrader cell ids inside (a renamed ``neurons (1).ipynb`` is found;
  a notebook of another assignment is recognised as such).

Restoring the instructor's cells is a step of its own (:mod:`~chemdl_utils.grading.restore`), run
once, in memory, in the grading process: the working copy holds the student's notebook as submitted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import nbformat
from nbformat import NotebookNode

from .collect import read_timestamp
from .nbmeta import grade_ids

if TYPE_CHECKING:  # pragma: no cover
    from .course import Course

__all__ = [
    "SubmissionError", "NotebookMatch", "read_notebook", "grade_ids", "match_notebooks", "Job", "Rejected",
    "prepare_submission", "digest", "skip_links",
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


@dataclass
class Job:
    """One submission ready to grade: its working copy and which file is which notebook."""

    student: str
    folder: Path
    workdir: Path
    timestamp: dt.datetime | None
    sha256: str
    notebooks: dict[str, Path] = field(default_factory=dict)  #: notebook id -> the submitted file in workdir
    sources: dict[str, Path] = field(default_factory=dict)  #: notebook id -> instructor source (hidden tests)
    released: dict[str, Path] = field(default_factory=dict)  #: notebook id -> released notebook (exercises/)
    redact: tuple[str, ...] = ()  #: instructor paths that must never appear in a graded copy
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def skip_links(directory: str, names: list[str]) -> list[str]:
    """``copytree`` ignore rule: never follow a symlink out of a submission; no checkpoints."""
    return [n for n in names if n == ".ipynb_checkpoints" or os.path.islink(os.path.join(directory, n))]


def digest(folder: Path) -> str:
    """SHA-256 of a folder's regular files (names and contents; links skipped)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Rejected:
    """A submission with nothing to grade: ``status`` is ``failed`` or ``missing``, ``reason`` why."""

    status: str
    reason: str


def prepare_submission(course: Course, assignment: str, student: str, scratch: Path,
                       expected: Mapping[str, set[str]], others: Mapping) -> Job | Rejected:
    """The working copy of ``student``'s submission in ``scratch``: the submitted files (links never
    followed), the released files laid over them as nbgrader does, each notebook matched, validated
    and under its own name; a :class:`Rejected` when nothing can be graded. Restoring happens once, in memory, in the grading process (``restore``)."""
    folder = course.submitted_dir / student / assignment
    workdir = scratch / student
    shutil.copytree(folder, workdir, ignore=skip_links)
    source = course.require_assignment(assignment)
    # the released files (never the instructor's source folder) always win, as in nbgrader
    release = course.release_dir / assignment
    for path in (release if release.is_dir() else source).rglob("*"):
        if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            dest = workdir / path.relative_to(release if release.is_dir() else source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    job = Job(student, folder, workdir, read_timestamp(folder), digest(folder),
               redact=(str(course.root), str(course.workspace)))
    match = match_notebooks(folder, expected, others)
    for nb_id, other in match.wrong_assignment.items():
        why = f"{nb_id}.ipynb is a notebook from a different assignment ({other!r})"
        return Rejected("failed", why)
    problems = dict(match.invalid)
    if match.missing and not match.found and not problems:
        files = ", ".join(sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")) or "none"
        return Rejected("missing", f"no {' or '.join(n + '.ipynb' for n in match.missing)} "
                                                  f"in the submission (files: {files})")
    for nb_id, rel in match.renamed.items():
        job.notes.append(f"renamed: graded '{rel}' as {nb_id}.ipynb")
    extra = [e for e in match.extra if not (source / e).is_file()]
    if extra:
        job.notes.append(f"extra files kept: {', '.join(extra)}")
    for nb_id in match.missing:
        job.missing.append(nb_id)
        job.notes.append(f"{nb_id}.ipynb missing (scored 0)")
    for nb_id, path in match.found.items():
        try:
            read_notebook(path)  # a file that is not a valid notebook fails here, with the reason
        except SubmissionError as exc:
            problems[nb_id] = str(exc)
            continue
        target = workdir / f"{nb_id}.ipynb"
        copied = workdir / path.relative_to(folder)
        if copied != target:  # graded under its own name: the student's file, unchanged
            os.replace(copied, target)
        job.notebooks[nb_id] = target
        job.sources[nb_id] = source / f"{nb_id}.ipynb"
        if (release / f"{nb_id}.ipynb").is_file():
            job.released[nb_id] = release / f"{nb_id}.ipynb"
    if problems:
        return Rejected("failed", "; ".join(problems.values()))
    return job
