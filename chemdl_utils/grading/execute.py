"""Run one submitted notebook in a separate, limited process: :func:`execute_submission`.

This is the only place where student code is started. The parent (trusted) process writes the
sanitized notebook into the submission's working copy, then starts

    python -m chemdl_utils.grading._runner NOTEBOOK LIMITS_JSON

in its own process group, with the working copy as cwd. The runner sets the memory, core-file and
file-size limits on itself with ``resource.setrlimit`` (the kernel it starts inherits them), runs
the notebook through nbclient with a per-cell timeout, restarts the kernel when a cell crashes it
or times out (re-running the cells that had run cleanly, so the rest of the notebook is still
graded), truncates huge outputs, and prints the executed notebook as JSON on stdout. The parent
kills the whole process group when the notebook time limit passes and when the runner ends.

OS isolation is added in exactly one place, :func:`_command`: when
``chemdl_utils.grading.isolation`` is importable, its ``isolated_command(argv, workdir, limits)``
returns the ``(argv, env)`` actually started; otherwise the runner is started plainly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

__all__ = ["Limits", "ExecutionResult", "execute_submission", "isolation_mode", "RESULT_MARKER"]

#: line that precedes the runner's JSON result on its stdout
RESULT_MARKER = "@@CHEMDL-RUNNER-RESULT@@"


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
    """What :func:`execute_submission` observed.

    status: ``"ok"`` (the runner went through the whole notebook; single cells may still have
        timed out or crashed the kernel, see ``cell_status``), ``"timeout"`` (notebook time limit)
        or ``"failed"`` (the runner itself died or could not start; see ``reason``).
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


def isolation_mode() -> str:
    """Which OS isolation wraps the runner: ``detect_isolation()`` of the isolation module, or ``"none"``."""
    module = _isolation_module()
    return "none" if module is None else str(module.detect_isolation())


def _isolation_module() -> Any | None:
    try:
        from . import isolation  # type: ignore[attr-defined]
    except ImportError:
        return None
    return isolation


def _command(argv: list[str], workdir: Path, limits: Limits) -> tuple[list[str], dict[str, str] | None, str]:
    """The single place where isolation is applied: ``(argv, env, mode)`` to start."""
    module = _isolation_module()
    if module is None:
        return argv, None, "none"
    new_argv, env = module.isolated_command(argv, workdir, limits)
    return list(new_argv), (dict(env) if env is not None else None), str(module.detect_isolation())


def _release(workdir: Path) -> None:
    """After a run: let the isolation layer kill leftovers and hand ``workdir`` back to us."""
    module = _isolation_module()
    release = getattr(module, "release_sandbox", None) if module is not None else None
    if release is not None:
        release(workdir)


def _preexec(workdir: Path) -> Any:
    module = _isolation_module()
    hook = getattr(module, "sandbox_preexec", None) if module is not None else None
    return hook(workdir) if hook is not None else None


def _plain_env(workdir: Path) -> dict[str, str]:
    """Environment for the runner: the parent's, plus grading markers and private caches."""
    env = dict(os.environ)
    env.update(
        NBGRADER_EXECUTION="autograde",
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        IPYTHONDIR=str(workdir / ".ipython"),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        CHEMDL_PROGRESS="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def execute_submission(notebook_path: Path | str, workdir: Path | str, limits: Limits) -> ExecutionResult:
    """Execute ``notebook_path`` (inside ``workdir``, its working copy) in a separate limited process.

    Never raises for anything the notebook does: a crash, a timeout or a runner failure comes
    back as an :class:`ExecutionResult` with a ``reason``. Raises ``FileNotFoundError`` only when
    ``notebook_path`` or ``workdir`` do not exist.
    """
    notebook_path, workdir = Path(notebook_path).resolve(), Path(workdir).resolve()
    if not notebook_path.is_file():
        raise FileNotFoundError(f"notebook {notebook_path} does not exist")
    if not workdir.is_dir():
        raise FileNotFoundError(f"working folder {workdir} does not exist")
    argv = [sys.executable, "-m", "chemdl_utils.grading._runner", str(notebook_path), limits.to_json()]
    start = time.monotonic()
    try:
        argv, env, mode = _command(argv, workdir, limits)
    except Exception as exc:  # the isolation layer refused: report, never run unisolated silently
        return ExecutionResult("failed", reason=f"isolation failed: {exc}")
    try:
        return _run(argv, env, mode, workdir, limits, start)
    finally:
        _release(workdir)


def _run(argv: list[str], env: dict[str, str] | None, mode: str, workdir: Path, limits: Limits,
         start: float) -> ExecutionResult:
    if env is None:
        env = _plain_env(workdir)
    env.setdefault("NBGRADER_EXECUTION", "autograde")
    try:
        proc = subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_preexec(workdir),
        )
    except OSError as exc:
        return ExecutionResult("failed", reason=f"could not start the runner: {exc}", isolation=mode)
    try:
        out, err = proc.communicate(timeout=limits.notebook_timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        out, err = proc.communicate()
        timed_out = True
    finally:
        _kill_group(proc.pid)  # whatever the notebook left running (background processes) goes too
    duration = time.monotonic() - start
    stderr_tail = err.decode("utf-8", "replace")[-2000:]
    if timed_out:
        return ExecutionResult(
            "timeout", reason=f"notebook exceeded its time limit of {limits.notebook_timeout:g} s",
            duration_s=duration, returncode=proc.returncode, stderr_tail=stderr_tail, isolation=mode,
        )
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0 or RESULT_MARKER not in text:
        last = stderr_tail.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return ExecutionResult(
            "failed", reason=f"runner failed ({_describe_exit(proc.returncode)}): {last[0][:300]}",
            duration_s=duration, returncode=proc.returncode, stderr_tail=stderr_tail, isolation=mode,
        )
    payload = json.loads(text.rsplit(RESULT_MARKER, 1)[1])
    notebook = nbformat.from_dict(payload["notebook"])
    return ExecutionResult(
        "ok", notebook=notebook, cell_status=list(payload["cell_status"]), duration_s=duration,
        restarts=int(payload.get("restarts", 0)), returncode=0, stderr_tail=stderr_tail, isolation=mode,
    )


def _describe_exit(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
