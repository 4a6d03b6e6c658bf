"""Restore: the notebook the grader executes, rebuilt from the release and the student's answers.

One pure step, run once per notebook in the trusted grading process, in memory (nothing is
written to disk, so the hidden tests never come near the sandbox's working directory):

* every cell of the submission is matched to the instructor's cells by its nbgrader ``grade_id``;
* an **answer** cell (``solution``) keeps the student's source; its type and nbgrader metadata
  come from the instructor's notebook (points, flags), never from the submission;
* a **locked** cell (a test cell or a read-only cell) gets the released source back, so an edited
  or emptied test runs as released; its hidden tests are not in it (they run in the grader, after
  the cell, :mod:`~chemdl_utils.grading.hidden_tests`);
* a deleted test or graded answer cell is added back after the nearest earlier instructor cell
  still present (as nbgrader's ``OverwriteCells`` does);
* a second cell with an id already seen, or one with an id the assignment does not have, loses
  its nbgrader metadata (nbgrader's ``DeduplicateIds``) and runs as the student's own code, as do
  the cells the student added;
* outputs are cleared and the kernel is the course's.

The result also says which answers were left exactly as released (``blank``: "No response.") and
what was repaired (``notes``, shown to the instructor).

The released text of each cell is taken from the released notebook (``exercises/``) when given,
otherwise derived from the source with nbgrader's rules (:func:`released_cell_source`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from .hidden import remove_hidden_tests
from .nbmeta import cell_kind, grade_id, nbgrader_meta

__all__ = ["COURSE_KERNEL", "Restored", "restore_notebook", "released_cell_source", "CODE_STUB", "TEXT_STUB"]

#: the only kernel student notebooks run in, whatever their metadata asks for
COURSE_KERNEL = "python3"
#: nbgrader's default stubs (``ClearSolutions.code_stub["python"]`` and ``text_stub``)
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
_MISSING_NOTE = "This cell (id={cell_id}) was missing from the submission. It was added back by the grader.\n\n"
_INDENT = re.compile(r"\s*")


@dataclass
class Restored:
    """The notebook to execute and what restoring it found."""

    notebook: NotebookNode
    tests: dict[int, str] = field(default_factory=dict)  #: cell index -> grade id of a test cell
    blank: set[str] = field(default_factory=set)  #: answer cells left exactly as released
    notes: list[str] = field(default_factory=list)


def released_cell_source(cell: NotebookNode, code_stub: str = CODE_STUB, text_stub: str = TEXT_STUB) -> str:
    """The text a student receives for the instructor's ``cell`` (nbgrader's ``ClearSolutions`` and
    ``ClearHiddenTests`` rules): hidden tests removed; in an answer cell each ``BEGIN SOLUTION`` ...
    ``END SOLUTION`` region replaced by the stub (indented like its first line), or the whole cell
    when it has no region."""
    text = remove_hidden_tests(cell.get("source", ""))
    if not nbgrader_meta(cell).get("solution"):
        return text
    stub = (code_stub if cell.get("cell_type") == "code" else text_stub).split("\n")
    lines, out, inside, replaced = text.split("\n"), [], False, False
    for line in lines:
        if "BEGIN SOLUTION" in line:
            inside, replaced = True, True
            indent = _INDENT.match(line).group(0)  # type: ignore[union-attr]
            out += [indent + s for s in stub]
        elif "END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out) if replaced else "\n".join(stub)


@dataclass(frozen=True)
class _Released:
    kind: str  #: "test", "answer" or "locked"
    cell_type: str
    source: str  #: the released text (no hidden tests, solutions stubbed)
    meta: dict  #: the instructor's nbgrader metadata
    graded: bool  #: has points (a test or a graded answer)


def _released_cells(source_nb: NotebookNode, released_nb: NotebookNode | None) -> dict[str, _Released]:
    """The instructor's cells with an id, in source order: kind, type, released text, metadata."""
    released = {}
    if released_nb is not None:
        for cell in released_nb.cells:
            gid = grade_id(cell)
            if gid and gid not in released:
                released[gid] = remove_hidden_tests(cell.get("source", ""))
    out: dict[str, _Released] = {}
    for cell in source_nb.cells:
        gid, kind = grade_id(cell), cell_kind(cell)
        if not gid or kind is None or gid in out:
            continue
        meta = copy.deepcopy(dict(nbgrader_meta(cell)))
        meta.pop("checksum", None)  # the instructor's notebook is the reference; nothing to check against
        text = released.get(gid)
        out[gid] = _Released(kind, cell.cell_type, released_cell_source(cell) if text is None else text, meta,
                             bool(meta.get("grade")))
    return out


def _cell(cell_type: str, source: str, metadata: dict, student: NotebookNode | None = None) -> NotebookNode:
    """A clean cell of ``cell_type`` (no outputs): the student's own metadata (other than nbgrader's)
    and attachments kept."""
    make = nbformat.v4.new_code_cell if cell_type == "code" else (
        nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_raw_cell)
    new = make(source)
    if student is not None:
        kept = {k: copy.deepcopy(v) for k, v in student.get("metadata", {}).items() if k != "nbgrader"}
        new.metadata.update(nbformat.from_dict(kept))
        if cell_type == "markdown" and "attachments" in student:
            new["attachments"] = copy.deepcopy(student["attachments"])
    if metadata:
        new.metadata["nbgrader"] = nbformat.from_dict(copy.deepcopy(metadata))
    return new  # with a fresh cell id: ids a student duplicated never reach the executed notebook


def _plain(cell: NotebookNode) -> NotebookNode:
    """The student's own cell: its source and type, no nbgrader metadata, no outputs."""
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
    return _cell(kind, cell.get("source", ""), {}, cell)


def _same_text(a: str, b: str) -> bool:
    """Equal up to trailing spaces and surrounding blank lines (what an editor may change)."""
    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return norm(a) == norm(b)


def restore_notebook(submitted: NotebookNode, source_nb: NotebookNode,
                     released_nb: NotebookNode | None = None) -> Restored:
    """The notebook to execute for ``submitted`` (see the module docstring). ``source_nb`` is the
    instructor's notebook (answers and hidden tests: only its metadata and released text are
    used); ``released_nb`` the released copy in ``exercises/`` when there is one."""
    spec = _released_cells(source_nb, released_nb)
    order = list(spec)
    ordinary = {grade_id(c) for c in source_nb.cells if grade_id(c)} - set(spec)  # ids of plain cells
    cells: list[NotebookNode] = []
    placed: dict[str, int] = {}
    blank: set[str] = set()
    edited: list[str] = []
    dropped: list[str] = []
    for cell in submitted.cells:
        gid = grade_id(cell)
        rel = spec.get(gid) if gid else None
        if rel is None or gid in placed:
            if gid and gid not in ordinary:
                dropped.append(gid)
            cells.append(_plain(cell))
            continue
        student_source = cell.get("source", "")
        if not isinstance(student_source, str):
            student_source = ""
        if rel.kind == "answer":
            if student_source == rel.source and cell.get("cell_type") == rel.cell_type:
                blank.add(gid)
            new = _cell(rel.cell_type, student_source, rel.meta, cell)
        else:
            if not _same_text(remove_hidden_tests(student_source), rel.source):
                edited.append(gid)
            new = _cell(rel.cell_type, rel.source, rel.meta, cell)
        placed[gid] = len(cells)
        cells.append(new)
    added = []
    for gid in order:  # deleted graded cells come back after the nearest earlier instructor cell
        rel = spec[gid]
        if gid in placed or not rel.graded:
            continue
        position = 0
        for earlier in reversed(order[: order.index(gid)]):
            if earlier in placed:
                position = placed[earlier] + 1
                break
        if rel.kind == "answer":
            note = _MISSING_NOTE.format(cell_id=gid)
            text = ("# " + note.strip() + "\n" if rel.cell_type == "code" else note) + rel.source
        else:
            text = rel.source
        cells.insert(position, _cell(rel.cell_type, text, rel.meta))
        placed = {k: (i + 1 if i >= position else i) for k, i in placed.items()}
        placed[gid] = position
        added.append(gid)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(dict(submitted.get("metadata", {}))))
    nb = nbformat.from_dict(nb)
    notes = []
    kernelspec = nb.metadata.get("kernelspec")
    asked = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    if asked and asked != COURSE_KERNEL:
        notes.append(f"the notebook asked for kernel {str(asked)[:40]!r}; it was run with the course kernel")
    nb.metadata["kernelspec"] = {"name": COURSE_KERNEL, "display_name": "Python 3", "language": "python"}
    if edited:
        notes.append(f"restored edited locked cell(s) {', '.join(sorted(edited))}")
    if added:
        notes.append(f"restored deleted cell(s) {', '.join(sorted(added))}")
    if dropped:
        notes.append(f"cell(s) with a repeated or unknown id graded as plain cells: {', '.join(sorted(set(dropped)))[:300]}")
    tests = {i: grade_id(c) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and grade_id(c) in spec and spec[grade_id(c)].kind == "test"}
    return Restored(nb, tests, blank, notes)  # type: ignore[arg-type]
