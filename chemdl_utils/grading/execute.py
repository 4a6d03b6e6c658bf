"""What grading one notebook gave: :class:`ExecutionResult` (its limits are :class:`~chemdl_utils.grading.limits.Limits`).

There is one execution path: ``autograde`` starts a grading process per submission, which calls
:func:`chemdl_utils.grading.grader.secure_execute`: the student's notebook runs in a
sandboxed kernel (``isolation``), the hidden tests run in the grading process, and the result is an
:class:`ExecutionResult`. The limits are the one :class:`~chemdl_utils.grading.limits.Limits`
object the instructor set (``chemdl grade autograde --timeout ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbformat import NotebookNode


__all__ = ["ExecutionResult", "failed_results", "isolation_mode"]


@dataclass
class ExecutionResult:
    """What grading one notebook observed (``grader.secure_execute``).

    status: ``"ok"`` (the kernel went through the whole notebook; single cells may still have
        timed out or crashed the kernel, see ``cell_status``), ``"timeout"`` (notebook time limit)
        or ``"failed"`` (grading could not happen or the notebook could not be read; see ``reason``).
    notebook: the executed notebook (``None`` unless status is ``"ok"``).
    cell_status: per cell index: ``ok``, ``error``, ``timeout``, ``crashed``, ``not-run`` or
        ``""`` for markdown/raw cells.
    """

    status: str
    notebook: NotebookNode | None = None
    cell_status: list[str] = field(default_factory=list)
    reason: str = ""
    duration_s: float = 0.0
    restarts: int = 0
    returncode: int | None = None
    stderr_tail: str = ""
    isolation: str = "none"
    #: grade id -> the trusted verdict on that test cell (``grader.TestVerdict``)
    verdicts: dict = field(default_factory=dict)
    #: answer cells left exactly as released ("No response.")
    blank: set = field(default_factory=set)
    #: grade ids present in the executed notebook
    present: set = field(default_factory=set)
    #: what restoring the notebook repaired (edited or deleted locked cells, ...)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the notebook ran to its end (cells may have failed individually)."""
        return self.status == "ok"

    def problems(self) -> list[str]:
        """Short notes about cells that timed out, crashed the kernel or were not run."""
        notes = []
        kinds = (("timeout", "timed out"), ("crashed", "crashed the kernel"), ("not-run", "not run"))
        for kind, label in kinds:
            cells = [self._cell_name(i) for i, s in enumerate(self.cell_status) if s == kind]
            if cells:
                notes.append(f"cell {', '.join(cells)} {label}")
        return notes


    def _cell_name(self, index: int) -> str:
        name = str(index)
        if self.notebook is not None and index < len(self.notebook.cells):
            gid = self.notebook.cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                name += f" ({gid})"
        return name


def failed_results(notebook_ids, why: str) -> dict[str, ExecutionResult]:
    """A ``failed`` result with reason ``why`` for each notebook id (one under ``""`` if none)."""
    return {nb_id: ExecutionResult("failed", reason=why) for nb_id in notebook_ids} or {
        "": ExecutionResult("failed", reason=why)}


def isolation_mode() -> str:
    """The OS isolation level grading will use here (``isolation.detect_isolation``); raises
    ``isolation.IsolationError`` when the required level is not available."""
    from .isolation import detect_isolation

    return str(detect_isolation())
