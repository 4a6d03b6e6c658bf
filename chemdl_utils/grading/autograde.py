"""``autograde``: grade every submission of an assignment, in parallel, each in its own working copy.

Per submission the pipeline is a chain of small steps:

1. **prepare** (parent): copy the submission into a fresh working copy, lay the assignment's
   released files (data, helper modules) over it as nbgrader does, find which file is which
   notebook (:func:`~chemdl_utils.grading.workspace.match_notebooks`) and validate it;
2. **execute** (a grading process of its own per submission -> sandboxed kernel):
   :func:`~chemdl_utils.grading.grader.secure_execute` restores the notebook once, in memory
   (:func:`~chemdl_utils.grading.restore.restore_notebook`), runs the student's cells in the
   OS sandbox and evaluates the instructor's test cells in that trusted grading process, on plain
   values sent back from the kernel (so a student cannot rig ``==``, ``numpy.allclose`` or the
   checks). One process per submission: nothing (a lock, global random state, memory, a crash)
   is shared with a classmate graded at the same time, and the process is killed when the
   submission's time budget is spent;
3. **score** (parent): :func:`~chemdl_utils.grading.score.score_notebook` from the trusted
   verdicts and the gradebook's points, then
   :func:`~chemdl_utils.grading.gradebook.save_grades` in one transaction per submission,
   and the executed copy is written to ``autograded/<student>/<assignment>/``.

The gradebook is only touched by the calling thread, one submission at a time, so results do not
depend on the number of workers. One broken submission never stops the others: every problem
becomes an :class:`Outcome` (``graded``, ``failed`` with a reason, or ``missing``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import nbformat

from ..progress import progress
from .collect import read_timestamp
from .course import Course
from .execute import ExecutionResult, failed_results
from .limits import Limits
from .grader import secure_execute
from .gradebook import (
    HistoryRow,
    ensure_assignment,
    known_assignments,
    open_gradebook,
    record_history,
    save_grades,
)
from .workspace import Job, Rejected, prepare_submission, skip_links
from .score import GradedCell, NotebookScore, missing_notebook_score, score_notebook

__all__ = ["Outcome", "AutogradeSummary", "autograde_assignment", "default_workers"]


def default_workers() -> int:
    """Number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: str  #: graded | failed | missing
    score: float | None = None
    max_score: float | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    needs_manual_grade: bool = False
    duration_s: float = 0.0

    def line(self) -> str:
        """One summary line: student, status, score and why."""
        if self.status == "graded":
            head = f"{self.student:<20} graded  {self.score:g}/{self.max_score:g}"
            if self.needs_manual_grade:
                head += " (+ manual grading pending)"
        else:
            head = f"{self.student:<20} {self.status:<7}"
        detail = "; ".join(([self.reason] if self.reason else []) + self.notes)
        return f"{head}  {detail}".rstrip()


@dataclass
class AutogradeSummary:
    """All outcomes of one ``autograde`` run."""

    assignment: str
    run_id: str
    outcomes: list[Outcome]
    workers: int
    elapsed_s: float
    isolation: str = "none"

    def by_status(self, status: str) -> list[Outcome]:
        """Outcomes with ``status``."""
        return [o for o in self.outcomes if o.status == status]

    def get(self, student: str) -> Outcome:
        """The outcome of ``student`` (``KeyError`` if none)."""
        for o in self.outcomes:
            if o.student == student:
                return o
        raise KeyError(student)

    def lines(self) -> list[str]:
        """The printed summary: one line per student, then the totals."""
        out = [o.line() for o in sorted(self.outcomes, key=lambda o: (o.status != "graded", o.student))]
        graded = len(self.by_status("graded"))
        rate = graded / self.elapsed_s * 60 if self.elapsed_s > 0 else 0.0
        out.append(
            f"{self.assignment}: {graded} graded, {len(self.by_status('failed'))} failed, "
            f"{len(self.by_status('missing'))} missing in {self.elapsed_s:.1f} s "
            f"({rate:.1f} submissions/min, {self.workers} workers, isolation: {self.isolation})"
        )
        return out


def _students(course: Course, assignment: str, only: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(students with a submission folder, students known elsewhere without one)."""
    submitted = sorted(
        p.name for p in course.submitted_dir.glob("*")
        if (p / assignment).is_dir() and not p.name.startswith(".")
    ) if course.submitted_dir.is_dir() else []
    with open_gradebook(course) as gb:
        known = sorted(s.id for s in gb.students)
    if only:
        wanted = list(dict.fromkeys(only))
        return [s for s in wanted if s in submitted], [s for s in wanted if s not in submitted]
    return submitted, [s for s in known if s not in submitted]


def _execute(job: Job, limits: Limits) -> dict[str, ExecutionResult]:
    """Worker: run the job's notebooks one after another in its working copy."""
    results = {}
    for nb_id, path in job.notebooks.items():
        try:
            # the student's code runs sandboxed; the hidden tests run here, on plain values only
            results[nb_id] = secure_execute(path, job.workdir, limits, job.sources[nb_id], redact=job.redact,
                                            released=job.released.get(nb_id))
        except Exception as exc:  # never let one submission break the pool
            results[nb_id] = ExecutionResult("failed", reason=f"{type(exc).__name__}: {exc}")
    return results


def _process_budget(limits: Limits) -> float:
    """Wall-clock seconds one notebook of a submission may take in its grading process (its time
    limit plus start-up and scoring slack) before the process is killed."""
    return float(limits.notebook_timeout) + 120.0


def is_loopback(address: str) -> bool:
    """Is the Dask scheduler ``address`` on this machine (``tcp://127.0.0.1:8786``, ``localhost``)?"""
    from urllib.parse import urlsplit

    host = urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _run_jobs(prepared: list[Job], limits: Limits, workers: int, cluster: str | None, scheduler: str | None,
              jobs: int, cluster_config: str | os.PathLike[str] | None
              ) -> Iterator[tuple[Job, dict[str, ExecutionResult]]]:
    """The jobs' results as they finish: local grading processes, or Dask tasks."""
    if not prepared:
        return
    if cluster is None and scheduler is None:
        yield from run_in_processes(prepared, lambda j: (_execute, (j, limits)), workers, _process_budget(limits))
        return
    from .cluster import connect, run_on_dask

    client, close = connect(cluster, scheduler, workers, jobs, cluster_config)
    try:
        yield from run_on_dask(prepared, limits, client)
    finally:
        close()


def _child_main(conn: Any, target: Callable[..., Any], args: tuple) -> None:
    try:
        result: tuple[str, Any] = ("ok", target(*args))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as this submission's failure
        result = ("error", f"{type(exc).__name__}: {str(exc)[:500]}")
    try:
        conn.send(result)
    finally:
        conn.close()


def run_in_processes(jobs: list[Job], task: Callable[[Job], tuple[Callable[..., Any], tuple]], workers: int,
                     budget_s: float) -> Iterator[tuple[Job, dict[str, ExecutionResult]]]:
    """Run ``task(job)`` for each job in a fresh process of its own, ``workers`` at a time; yield
    ``(job, results)`` as they finish. A process that dies, raises or outlives ``budget_s`` per
    notebook gives that job a ``failed`` result with the reason; the others are not affected."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["chemdl_utils.grading.autograde"])
    pending = list(jobs)
    running: dict[Any, tuple[Job, Any, float]] = {}  # process sentinel -> (job, parent end, deadline)

    processes: dict[Any, Any] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop(0)
                target, args = task(job)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child_main, args=(child, target, args), daemon=True)
                proc.start()
                child.close()
                running[parent] = (job, proc, time.monotonic() + budget_s * max(1, len(job.notebooks)))
                processes[parent] = proc
            ready = wait(list(running), timeout=5.0)
            now = time.monotonic()
            for conn in list(running):
                job, proc, deadline = running[conn]
                if conn in ready:
                    try:
                        status, payload = conn.recv()
                    except (EOFError, OSError):
                        proc.join(5)
                        status, payload = "error", (f"the grading process died (exit code {proc.exitcode}); "
                                                    "the submission may crash the grader")
                    result = payload if status == "ok" else failed_results(job.notebooks, payload)
                elif now > deadline:
                    proc.kill()
                    result = failed_results(job.notebooks, f"grading took longer than its time budget "
                                         f"({budget_s * max(1, len(job.notebooks)):g} s) and was stopped")
                else:
                    continue
                conn.close()
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
                del running[conn]
                processes.pop(conn, None)
                yield job, result
    finally:
        for proc in processes.values():
            if proc.is_alive():
                proc.kill()


def _finish(course: Course, assignment: str, job: Job, results: dict[str, ExecutionResult],
            graded: dict[str, dict[str, GradedCell]], answers: dict[str, list[str]], run_id: str, gb) -> Outcome:
    """Parent: score, save in one transaction, write the autograded copy."""
    failures = [f"{nb_id}.ipynb: {r.reason}" for nb_id, r in results.items() if not r.ok]
    duration = sum(r.duration_s for r in results.values())
    if failures:
        return Outcome(job.student, "failed", reason="; ".join(failures), notes=job.notes,
                       duration_s=duration)
    scores: list[NotebookScore] = []
    notes = list(job.notes)
    for nb_id, result in results.items():
        scores.append(score_notebook(nb_id, graded[nb_id], result.verdicts, result.blank, result.present,
                                     answers.get(nb_id, ())))
        notes.extend(result.notes)
        notes.extend(f"{nb_id}.ipynb: {p}" for p in result.problems())
    for nb_id in job.missing:
        scores.append(missing_notebook_score(nb_id, graded[nb_id]))
    auto = sum(s.score for s in scores)
    maximum = sum(s.max_score for s in scores)
    history = HistoryRow(run_id, assignment, job.student, "graded", auto, maximum, job.timestamp, job.sha256,
                         "; ".join(notes), duration)
    save_grades(gb, assignment, job.student, job.timestamp, scores, history)
    _write_autograded(course, assignment, job, results)
    return Outcome(job.student, "graded", auto, maximum, notes=notes,
                   needs_manual_grade=any(s.needs_manual_grade for s in scores), duration_s=duration)


def _write_autograded(course: Course, assignment: str, job: Job,
                      results: dict[str, ExecutionResult]) -> None:
    target = course.autograded_dir / job.student / assignment
    tmp = target.with_name(f".{assignment}.writing")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(job.folder, tmp, ignore=lambda d, names: skip_links(d, names)
                    + [n for n in names if n.endswith(".ipynb")])
    for nb_id, result in results.items():
        nbformat.write(result.notebook, tmp / f"{nb_id}.ipynb")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def _has_grade(gb, assignment: str, student: str) -> bool:
    from nbgrader.api import MissingEntry

    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    return True


def autograde_assignment(
    course: Course,
    assignment: str,
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    students: Iterable[str] | None = None,
    scratch_dir: Path | None = None,
    show_progress: bool = True,
    cluster: str | None = None,
    scheduler: str | None = None,
    jobs: int = 2,
    cluster_config: str | os.PathLike[str] | None = None,
) -> AutogradeSummary:
    """Autograde every submission of ``assignment`` (or only ``students``); returns the summary.

    ``workers`` notebooks run at the same time (default: the number of cores), each in a grading
    process of its own. With ``cluster="local"`` they run as tasks on a Dask ``LocalCluster``, with
    ``scheduler="tcp://host:port"`` on an existing Dask scheduler's workers, with
    ``cluster="slurm"`` on ``jobs`` Slurm jobs (``chemdl_utils.grading.cluster``). Grades are
    written to the course's gradebook by this process only; each attempt is appended to the
    history table.
    """
    from .execute import isolation_mode

    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    limits = limits or Limits()
    if (scheduler and not is_loopback(scheduler)) or cluster == "slurm":
        from .cluster import require_shared_gradebook

        require_shared_gradebook(course.db_url, f"a Dask scheduler ({scheduler})" if scheduler else "Slurm")
    course.require_assignment(assignment)
    try:  # fail fast, once, when the required isolation is not available
        isolation = isolation_mode()
    except Exception as exc:
        raise RuntimeError(f"cannot isolate student code: {exc}") from exc
    course.ensure_workspace()
    ensure_assignment(course, assignment)
    start = time.monotonic()
    run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    present, absent = _students(course, assignment, students)
    with open_gradebook(course) as gb:
        known = known_assignments(gb)
        a = gb.find_assignment(assignment)
        graded: dict[str, dict[str, GradedCell]] = {}
        answers: dict[str, list[str]] = {}
        for nb in a.notebooks:  # what each graded cell is worth, from the gradebook only
            solutions = {c.name for c in nb.solution_cells}
            graded[nb.name] = {c.name: GradedCell(float(c.max_score), c.name in solutions, c.cell_type)
                               for c in nb.grade_cells}
            answers[nb.name] = sorted(solutions | {c.name for c in nb.task_cells})
    expected = known.pop(assignment)
    outcomes: list[Outcome] = [
        Outcome(s, "missing", reason=f"no submission folder {course.submitted_dir / s / assignment}")
        for s in absent
    ]
    scratch = Path(tempfile.mkdtemp(prefix=f"chemdl-autograde-{assignment}-", dir=scratch_dir))
    os.chmod(scratch, 0o711)  # sandbox uids must reach their own working copy, nothing else
    try:
        bar = progress(None, total=len(present), desc=f"autograde {assignment}", enabled=show_progress,
                       unit="sub")
        with open_gradebook(course) as gb:
            prepared_jobs: list[Job] = []
            for student in present:
                try:
                    prepared = prepare_submission(course, assignment, student, scratch, expected, known)
                except Exception as exc:  # an unexpected problem with one submission stays with it
                    why = f"could not prepare: {type(exc).__name__}: {exc}"
                    prepared = Outcome(student, "failed", reason=why)
                if isinstance(prepared, Rejected):
                    outcomes.append(Outcome(student, prepared.status, reason=prepared.reason))
                    bar.update(1)
                elif isinstance(prepared, Outcome):
                    outcomes.append(prepared)
                    bar.update(1)
                else:
                    prepared_jobs.append(prepared)
            for job, results in _run_jobs(prepared_jobs, limits, workers, cluster, scheduler, jobs, cluster_config):
                try:
                    outcome = _finish(course, assignment, job, results, graded, answers, run_id, gb)
                except Exception as exc:
                    why = f"could not score: {type(exc).__name__}: {exc}"
                    outcome = Outcome(job.student, "failed", reason=why, notes=job.notes)
                outcomes.append(outcome)
                bar.update(1)
            bar.close()
            for outcome in outcomes:
                if outcome.status != "graded":
                    sub = course.submitted_dir / outcome.student / assignment
                    if _has_grade(gb, assignment, outcome.student):
                        outcome.notes.append("the earlier grade is kept")
                    elif sub.is_dir():  # listed in exports (not submitted) until it is graded
                        gb.update_or_create_student(outcome.student)
                    record_history(gb, HistoryRow(
                        run_id, assignment, outcome.student, outcome.status, None, None,
                        read_timestamp(sub) if sub.is_dir() else None, None,
                        "; ".join([outcome.reason] + outcome.notes), outcome.duration_s,
                    ))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    outcomes.sort(key=lambda o: o.student)
    return AutogradeSummary(assignment, run_id, outcomes, workers, time.monotonic() - start, isolation)
