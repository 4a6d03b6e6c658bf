"""What grading one notebook may use and what it gave: :class:`Limits` and :class:`ExecutionResult`.

There is one execution path: ``autograde`` starts a grading process per submission, which calls
:func:`chemdl_utils.grading.trusted_tests.secure_execute`: the student's notebook runs in a
sandboxed kernel (``isolation``), the hidden tests run in the grading process, and the result is an
:class:`ExecutionResult`. ``Limits`` is what the instructor sets (``chemdl grade autograde
--timeout ...``); the sandbox reads it through ``isolation.coerce_limits``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from nbformat import NotebookNode

__all__ = ["Limits", "ExecutionResult", "isolation_mode"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for executing one notebook.

    cell_timeout: seconds one cell may run before it is stopped (it then scores zero).
    notebook_timeout: seconds the whole notebook may take, kernel start included; past it the
        submission fails (no grade is written) and the instructor may rerun with a larger limit.
    memory_mb: address-space limit (RLIMIT_AS) of the runner and of the kernel, each.
    max_output_chars: characters of output kept per cell; the rest is replaced by a notice.
    max_file_mb: largest file the notebook may write (RLIMIT_FSIZE).
    max_disk_mb: most the notebook may add to its working copy, all files together (past it the
        kernel is stopped and the files it wrote are deleted).
    max_restarts: kernel restarts (after a crash or a cell timeout) before the rest is skipped.
    startup_timeout: seconds to wait for the kernel to start.
    kernel_name: kernel to use; empty means the notebook's kernelspec (restored from the source).
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    memory_mb: int = 4096
    max_output_chars: int = 100_000
    max_file_mb: int = 256
    max_disk_mb: int = 512
    max_restarts: int = 5
    startup_timeout: float = 60.0
    kernel_name: str = ""

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "notebook_timeout", "startup_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {getattr(self, name)!r}")
        for name in ("memory_mb", "max_output_chars", "max_file_mb"):
            if not int(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {self.max_restarts!r}")

    @property
    def memory_bytes(self) -> int:
        """``memory_mb`` in bytes (the name the isolation layer reads)."""
        return int(self.memory_mb) << 20

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes (the name the isolation layer reads)."""
        return int(self.max_file_mb) << 20

    def to_json(self) -> str:
        """The limits as a JSON object (what the runner receives)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Limits":
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


@dataclass
class ExecutionResult:
    """What grading one notebook observed (``trusted_tests.secure_execute``).

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
