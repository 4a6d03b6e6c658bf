"""The trusted grader of one notebook: restore, run sandboxed, evaluate the tests here, redact.

:func:`grade_notebook` is the whole step for one notebook, in the grading process:

1. **restore** (:func:`~chemdl_utils.grading.restore.restore_notebook`): the notebook to execute,
   rebuilt in memory from the release and the student's answers; no hidden tests in it;
2. **run** it cell by cell in the student's kernel, confined by
   :mod:`~chemdl_utils.grading.isolation` and bounded by :mod:`~chemdl_utils.grading.kernel`
   (time per cell and per notebook, output, disk, restarts with the state replayed);
3. right after each test cell, **evaluate** the instructor's full test cell here
   (:func:`~chemdl_utils.grading.hidden_tests.run_hidden_tests`), on values fetched through the
   :class:`~chemdl_utils.grading.bridge.KernelBridge`: one :class:`TestVerdict` per test cell;
4. **redact** the graded copy (:func:`~chemdl_utils.grading.redact.sanitize_notebook`): the
   student's cells and outputs, the released tests and each verdict; no hidden test, instructor
   path or secret.

:func:`secure_execute` returns the same as an ``execute.ExecutionResult`` (verdicts, blank
answers, repairs), the one execution path ``autograde`` and the Dask workers use;
``score.score_notebook`` scores from it. Never raises for anything the student's notebook does.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode

from . import isolation
from .bridge import KernelBridge
from .hidden_tests import TestVerdict, run_hidden_tests, test_cells, trusted_imports
from .kernel import DiskWatch, OutputBudget, limited_client, sandboxed_kernel_manager, shutdown
from .limits import coerce_limits
from .nbmeta import grade_id
from .redact import sanitize_notebook
from .restore import restore_notebook

__all__ = ["TestVerdict", "SecureGradeResult", "grade_notebook", "secure_execute", "MAX_RECEIVED_BYTES"]

#: most bytes the grader reads from one submission's kernel for its tests, all requests together
#: (read when each kernel starts, so a test may lower it)
MAX_RECEIVED_BYTES = 256 * 1024 * 1024


class _NotebookTimeout(Exception):
    """The notebook's time limit passed (no grade is written)."""


@dataclasses.dataclass
class SecureGradeResult:
    """Outcome of :func:`grade_notebook`.

    status: ``"ok"`` (scores complete: every test cell of the source has one, failed cells score 0
        with a reason), ``"timeout"`` (the notebook time limit passed) or ``"error"`` (the grader
        could not grade). For ``timeout`` and ``error``, ``scores`` is empty and nothing may be
        written to the gradebook (no partial grade).
    notebook: the graded copy (student's cells and outputs, released test sources, verdicts),
        already sanitized.
    """

    status: str
    scores: list[TestVerdict]
    notebook: NotebookNode | None
    reason: str = ""
    isolation: str = "none"
    duration_s: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)
    #: per cell of ``notebook``: ok, error, timeout, crashed, not-run, or "" (markdown/raw)
    cell_status: list[str] = dataclasses.field(default_factory=list)
    #: what the restore step repaired (edited or deleted locked cells, ...), for the instructor
    repairs: list[str] = dataclasses.field(default_factory=list)
    #: answer cells the student left exactly as released ("No response.")
    blank: set[str] = dataclasses.field(default_factory=set)
    #: grade ids present in the executed notebook
    present: set[str] = dataclasses.field(default_factory=set)

    @property
    def total(self) -> float:
        return sum(s.points for s in self.scores)

    @property
    def max_total(self) -> float:
        return sum(s.max_points for s in self.scores)


def grade_notebook(source_nb: NotebookNode | str | os.PathLike[str],
                   submission: NotebookNode | str | os.PathLike[str],
                   workdir: str | os.PathLike[str], limits: Any = None,
                   redact: Iterable[str] = (), released: NotebookNode | None = None) -> SecureGradeResult:
    """Execute ``submission`` in a sandbox rooted at ``workdir`` and grade it against the test cells
    of the instructor's ``source_nb``, with the tests evaluated here (see module docstring).

    ``workdir`` must already hold only this student's files and the released data (the caller
    copies them there); it is the only writable place of the kernel. ``redact`` lists extra
    strings (instructor paths, secrets) that must never appear in the graded copy. ``released`` is
    the released notebook (``exercises/``), if any: the restore step takes the cells' released text
    from it (:func:`~chemdl_utils.grading.restore.restore_notebook`). Never raises for
    anything the student's notebook does; returns ``status="error"`` (no scores) when grading itself
    could not happen (sandbox refused, kernel would not start).
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    start = time.monotonic()
    lim = coerce_limits(limits)
    workdir = Path(workdir).resolve()
    if not isinstance(source_nb, NotebookNode):
        source_nb = nbformat.read(str(source_nb), as_version=4)
    if not isinstance(submission, NotebookNode):
        try:
            submission = nbformat.read(str(submission), as_version=4)
        except Exception as exc:  # noqa: BLE001 - unreadable submission: every test scores 0
            tests = test_cells(source_nb)
            return SecureGradeResult("ok", [TestVerdict(g, 0, t.points, False, f"the notebook could not be read: "
                                                      f"{type(exc).__name__}") for g, t in tests.items()],
                                     None, reason="unreadable notebook")
    try:
        level = isolation.detect_isolation(lim)
    except isolation.IsolationError as exc:
        return SecureGradeResult("error", [], None, reason=str(exc))
    tests = test_cells(source_nb)
    # the one restore step: in memory, from the release and the student's answers; the hidden
    # tests stay in ``tests`` (this process) and never enter the notebook the kernel runs
    restored = restore_notebook(submission, source_nb, released)
    nb = restored.notebook
    notes: list[str] = list(restored.notes)
    test_at = {idx: tests[gid] for idx, gid in restored.tests.items() if gid in tests}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    scores: dict[str, TestVerdict] = {}
    namespace: dict[str, Any] = trusted_imports(source_nb)
    deadline = start + lim.notebook_timeout
    replay: list[int] = []
    pos = 0
    restarts = 0
    max_restarts = int(lim.max_restarts)
    started_once = False
    budget = OutputBudget(lim)
    stopped: dict[int, str] = {}
    notebook_timed_out = False
    with DiskWatch(workdir, lim.max_disk_bytes) as disk:
        while pos <= len(code_cells):
            km, ctl = sandboxed_kernel_manager(workdir, lim, level)
            client = limited_client(nb, km, lim, budget)
            bridge: KernelBridge | None = None
            current = -1
            try:
                try:
                    client.start_new_kernel(cwd=str(workdir))
                    client.start_new_kernel_client()
                except Exception as exc:  # noqa: BLE001
                    if started_once:
                        raise DeadKernelError(f"kernel restart failed: {exc}") from None
                    return SecureGradeResult("error", [], None, reason=f"the sandboxed kernel did not start "
                                             f"({type(exc).__name__}: {str(exc)[:300]})", isolation=level,
                                             duration_s=time.monotonic() - start)
                started_once = True
                bridge = KernelBridge(km, lim.cell_timeout, lim.max_message_bytes, MAX_RECEIVED_BYTES)
                for idx in list(replay):  # restore the state after a restart
                    current = idx
                    client.timeout = max(1, int(min(lim.cell_timeout, deadline - time.monotonic())))
                    client.execute_cell(copy.deepcopy(nb.cells[idx]), idx)
                current = -1
                while pos < len(code_cells):
                    idx = code_cells[pos]
                    current = idx
                    left = deadline - time.monotonic()
                    if left <= 1:
                        raise _NotebookTimeout()
                    client.timeout = max(1, int(min(lim.cell_timeout, left)))
                    client.execute_cell(nb.cells[idx], idx)
                    pos += 1
                    if not any(o.get("output_type") == "error" for o in nb.cells[idx].outputs):
                        replay.append(idx)
                    if idx in test_at:
                        bridge.timeout = max(1.0, min(lim.cell_timeout, deadline - time.monotonic()))
                        (score,) = run_hidden_tests([test_at[idx]], bridge, namespace)
                        scores[score.grade_id] = score
                        if bridge.broken:
                            raise CellTimeoutError(bridge.broken)
                pos += 1  # done
            except _NotebookTimeout:
                notebook_timed_out = True
                break
            except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as exc:
                restarts += 1
                timed_out = isinstance(exc, (CellTimeoutError, TimeoutError)) or "time limit" in str(exc)
                if current >= 0 and current in code_cells[pos:pos + 1]:
                    cell = nb.cells[current]
                    if disk.tripped:
                        what = (f"the kernel was stopped: the notebook wrote more than "
                                f"{lim.max_disk_bytes // 2**20} MiB of files (the files it wrote were deleted)")
                        disk.tripped = 0
                    elif timed_out:
                        what = f"this cell was stopped after the grader's time limit of {lim.cell_timeout:g} s"
                    else:
                        what = "the kernel died while running this cell"
                    stopped[current] = "timeout" if timed_out else "crashed"
                    cell.outputs.append(nbformat.v4.new_output("error", ename="GraderStopped", evalue=what,
                                                               traceback=[f"GraderStopped: {what}"]))
                    notes.append(f"cell {current}: {what}")
                    pos += 1
                elif current >= 0 and current in replay:
                    replay.remove(current)
                if time.monotonic() >= deadline - 1:
                    notebook_timed_out = True
                    break
                if restarts > max_restarts:
                    notes.append("grading stopped: the kernel had to be restarted too often")
                    break
            finally:
                if bridge is not None:
                    bridge.close()
                shutdown(client, km)
                isolation.release_sandbox(workdir)
                shutil.rmtree(ctl, ignore_errors=True)  # root-created; rmtree does not follow symlinks
        if notebook_timed_out:  # no partial grade: the caller keeps any earlier grade
            return SecureGradeResult("timeout", [], None, isolation=level, duration_s=time.monotonic() - start,
                                     reason=f"notebook exceeded its time limit of {lim.notebook_timeout:g} s; "
                                     "no grade written (rerun with a larger limit)", notes=notes,
                                     repairs=restored.notes)
        # every test cell gets a score; those never reached score zero with a reason
        for gid, t in tests.items():
            if gid not in scores:
                scores[gid] = TestVerdict(gid, 0, t.points, False, "not graded: the notebook stopped before this test "
                                        "(time limit or crashed kernel)")
        executed = set(code_cells[:pos])
        status = []
        for idx, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                status.append("")
            elif idx in stopped:
                status.append(stopped[idx])
            elif idx not in executed:
                status.append("not-run")
                cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue="not run: grading stopped earlier",
                                                       traceback=["NotRun: not run: grading stopped earlier"])]
            elif idx in test_at:
                status.append("ok" if scores[test_at[idx].grade_id].passed else "error")
            else:
                status.append("error" if any(o.get("output_type") == "error" for o in cell.outputs) else "ok")
        for idx, t in test_at.items():
            _put_verdict(nb.cells[idx], scores[t.grade_id])
        ordered = [scores[gid] for gid in tests]
        graded = sanitize_notebook(nb, source_nb, redact=list(redact) + [str(p) for p in lim.protected_paths])
        return SecureGradeResult("ok", ordered, graded, isolation=level, duration_s=time.monotonic() - start,
                                 notes=notes, cell_status=status, repairs=restored.notes, blank=restored.blank,
                                 present={g for g in (grade_id(c) for c in nb.cells) if g})


def secure_execute(notebook_path: str | os.PathLike[str] | NotebookNode, workdir: str | os.PathLike[str],
                   limits: Any, source: str | os.PathLike[str] | NotebookNode,
                   redact: Iterable[str] = (), released: str | os.PathLike[str] | NotebookNode | None = None) -> Any:
    """Grade one notebook with trusted tests; the result as an ``execute.ExecutionResult``.

    The result carries the trusted verdicts (``verdicts``), the answers left blank and what the
    restore step repaired; ``score.score_notebook`` scores from those. Its ``notebook`` is the
    sanitized graded copy (each test cell's outputs are the verdict, for the student's feedback).
    ``source`` is the instructor's source notebook (with hidden tests), ``released`` the released
    one (optional); neither may be inside ``workdir``.
    """
    from .execute import ExecutionResult

    src = source if isinstance(source, NotebookNode) else nbformat.read(str(source), as_version=4)
    rel = released if released is None or isinstance(released, NotebookNode) else nbformat.read(str(released),
                                                                                                 as_version=4)
    result = grade_notebook(src, notebook_path, workdir, limits, redact=redact, released=rel)
    if result.status != "ok" or result.notebook is None:
        return ExecutionResult("timeout" if result.status == "timeout" else "failed",
                               reason=result.reason or "grading failed", duration_s=result.duration_s,
                               isolation=result.isolation)
    out = ExecutionResult("ok", notebook=result.notebook, cell_status=list(result.cell_status),
                          duration_s=result.duration_s, isolation=result.isolation,
                          verdicts={v.grade_id: v for v in result.scores}, blank=set(result.blank),
                          present=set(result.present), notes=list(result.repairs))
    out.stderr_tail = "; ".join(result.notes)[:2000]
    return out


def _put_verdict(cell: NotebookNode, score: TestVerdict) -> None:
    """Replace a test cell's outputs (produced in the student's kernel, so not trustworthy) with the
    trusted verdict (what the student reads in the graded copy and the feedback; scores come from
    the verdicts themselves)."""
    from nbformat.v4 import new_output

    if score.passed:
        cell.outputs = [new_output("stream", name="stdout",
                                   text=f"[grader] passed: {score.points:g} / {score.max_points:g} points\n")]
    else:
        cell.outputs = [new_output("error", ename="TestFailed", evalue=score.message,
                                   traceback=[f"[grader] failed: 0 / {score.max_points:g} points", score.message])]
    cell.metadata.setdefault("chemdl", {})["score"] = {"points": score.points, "max_points": score.max_points}
