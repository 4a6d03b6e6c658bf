"""Autograding beyond one machine, on ``dask.distributed``.

``chemdl grade autograde`` grades each submission as one Dask task when asked to:

* ``--cluster local``: a ``LocalCluster`` on this machine (one single-threaded worker process per
  ``--workers``);
* ``--scheduler tcp://host:8786``: the workers of an existing Dask scheduler;
* ``--cluster slurm``: a Slurm allocation through ``dask-jobqueue`` (``--jobs N`` batch jobs), set
  up from Dask's own configuration file (``~/.config/dask/jobqueue.yaml``, or the file named by
  ``--cluster-config``), as ``docs/instructor-guide.md`` shows.

Each task carries everything it needs (workers need no shared file system): the working copy's
files (the student's submission with the released files laid over it), the instructor's source
notebooks (hidden tests: they travel to the worker's memory and are never written into the working
copy) and the limits. A worker grades in a scratch folder of its own with the same sandbox as a
local run (:func:`grade_payload`) and sends back the results; only the client writes the gradebook,
so a task retried after its worker died is still recorded exactly once. A submission whose task
kills its worker again and again (Dask's ``allowed-failures``, 3 by default) fails with that reason
and the others finish.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import nbformat

from .execute import ExecutionResult, failed_results
from .limits import Limits

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import Job

__all__ = ["CLUSTERS", "job_payload", "grade_payload", "connect", "run_on_dask", "require_shared_gradebook"]

#: the values ``--cluster`` accepts
CLUSTERS = ("local", "slurm")
#: largest working copy sent with one task
MAX_PAYLOAD_BYTES = 256 * 2**20


def job_payload(job: "Job") -> dict[str, Any]:
    """The task's input: the working copy's regular files (links never followed), which file is
    which notebook, the instructor's source notebooks as text, and the strings to redact."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(job.workdir.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        total += len(data)
        if total > MAX_PAYLOAD_BYTES:
            raise ValueError(f"the working copy of {job.student} is larger than {MAX_PAYLOAD_BYTES >> 20} MiB; "
                             "remove large files from the submission or the released folder")
        files[path.relative_to(job.workdir).as_posix()] = data
    return {
        "student": job.student,
        "files": files,
        "notebooks": {nb_id: p.relative_to(job.workdir).as_posix() for nb_id, p in job.notebooks.items()},
        "sources": {nb_id: p.read_text(encoding="utf-8") for nb_id, p in job.sources.items()},
        "released": {nb_id: p.read_text(encoding="utf-8") for nb_id, p in job.released.items()},
        "redact": list(job.redact),
    }


def grade_payload(payload: dict[str, Any], limits: Limits) -> dict[str, ExecutionResult]:
    """Run on a worker: rebuild the working copy in a private scratch folder, grade each notebook
    with :func:`~chemdl_utils.grading.grader.secure_execute`, remove the folder."""
    from .grader import secure_execute

    scratch = Path(tempfile.mkdtemp(prefix="chemdl-task-"))
    os.chmod(scratch, 0o711)  # the sandbox uid reaches its own working copy, nothing else
    try:
        workdir = scratch / "work"
        workdir.mkdir()
        for rel, data in payload["files"].items():
            target = (workdir / rel).resolve()
            if workdir.resolve() not in target.parents:
                raise ValueError(f"a file of the task points outside its working copy: {rel!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        results: dict[str, ExecutionResult] = {}
        for nb_id, rel in payload["notebooks"].items():
            source = nbformat.reads(payload["sources"][nb_id], as_version=4)
            text = payload.get("released", {}).get(nb_id)
            released = nbformat.reads(text, as_version=4) if text else None
            try:
                results[nb_id] = secure_execute(workdir / rel, workdir, limits, source,
                                                redact=payload["redact"], released=released)
            except Exception as exc:  # noqa: BLE001 - one notebook's failure stays with it
                results[nb_id] = ExecutionResult("failed", reason=f"{type(exc).__name__}: {exc}")
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def require_shared_gradebook(db_url: str, where: str) -> None:
    """More than one machine grades: refuse SQLite (a file on one machine) with the fix."""
    if db_url.startswith("sqlite"):
        raise ValueError(f"grading on {where} needs a gradebook every machine can reach: SQLite is a file on "
                         "this machine. Use PostgreSQL: --db postgresql://user@host/gradebook (or "
                         "CHEMDL_GRADEBOOK_URL); see docs/instructor-guide.md, 'Grading on a cluster'")


def connect(cluster: str | None, scheduler: str | None, workers: int, jobs: int = 2,
            cluster_config: str | os.PathLike[str] | None = None) -> tuple[Any, Callable[[], None]]:
    """A ``distributed.Client`` and the function that closes it (and the cluster we started)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise RuntimeError("dask.distributed is not installed: pip install 'distributed'") from exc
    if scheduler and cluster:
        raise ValueError("give either --scheduler (an existing Dask scheduler) or --cluster, not both")
    if scheduler:
        client = Client(scheduler, timeout="30s")
        return client, client.close
    if cluster == "local":
        local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                             host="127.0.0.1")
        client = Client(local)

        def close() -> None:
            client.close()
            local.close()

        return client, close
    if cluster == "slurm":
        slurm = slurm_cluster(cluster_config)
        slurm.scale(jobs=jobs)
        client = Client(slurm)

        def close_slurm() -> None:
            client.close()
            slurm.close()

        return client, close_slurm
    raise ValueError(f"--cluster must be one of {', '.join(CLUSTERS)}, got {cluster!r}")


def slurm_cluster(config: str | os.PathLike[str] | None = None) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` set up from Dask's ``jobqueue.slurm`` configuration (the
    default file ``~/.config/dask/jobqueue.yaml``, or ``config``)."""
    import dask
    import yaml

    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise RuntimeError("dask-jobqueue is not installed: pip install dask-jobqueue") from exc
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"cluster configuration {path} does not exist; see docs/instructor-guide.md")
        settings = yaml.safe_load(path.read_text()) or {}
        if "jobqueue" not in settings:
            raise ValueError(f"{path} has no 'jobqueue:' section (expected jobqueue: slurm: cores: ...)")
        dask.config.update(dask.config.config, settings, priority="new")
    return SLURMCluster()


def run_on_dask(jobs: list["Job"], limits: Limits, client: Any,
                task: Callable[[dict[str, Any], Limits], dict[str, ExecutionResult]] = grade_payload,
                no_worker_grace_s: float = 300.0) -> Iterator[tuple["Job", dict[str, ExecutionResult]]]:
    """Submit one task per job; yield ``(job, results)`` as tasks finish. A task whose payload
    cannot be built, that raises, or that killed its workers too often gives that job a
    ``failed`` result with the reason. Grading never waits forever: jobs still pending when the
    cluster has had no worker for ``no_worker_grace_s`` seconds, or past every notebook's time
    budget (``limits.notebook_timeout`` + 120 s per notebook, all jobs in a row), fail with that
    reason."""
    import time

    from distributed import wait

    futures = {}
    budget = 0.0
    for job in jobs:
        try:
            payload = job_payload(job)
        except (OSError, ValueError) as exc:
            yield job, failed_results(job.notebooks, f"could not send to the cluster: {exc}")
            continue
        key = f"chemdl-grade-{job.student}-{uuid.uuid4().hex[:8]}"
        futures[client.submit(task, payload, limits, key=key, pure=False)] = job
        budget += (float(limits.notebook_timeout) + 120.0) * max(1, len(job.notebooks))
    deadline = time.monotonic() + budget
    no_workers_since: float | None = None
    pending = set(futures)
    while pending:
        try:
            done, pending = wait(list(pending), timeout=5, return_when="FIRST_COMPLETED")
        except TimeoutError:  # nothing finished in these 5 s: look at the cluster, then wait again
            done = set()
        for future in done:
            yield futures[future], _result(futures[future], future)
        if not pending:
            break
        now = time.monotonic()
        has_workers = bool(client.scheduler_info().get("workers"))
        no_workers_since = None if has_workers else (no_workers_since or now)
        why = None
        if no_workers_since is not None and now - no_workers_since > no_worker_grace_s:
            why = f"the Dask cluster had no worker for {no_worker_grace_s:g} s; start workers and grade again"
        elif now > deadline:
            why = f"the Dask cluster did not grade it within the time budget ({budget:g} s)"
        if why:
            for future in pending:
                future.cancel()
                yield futures[future], failed_results(futures[future].notebooks, why)
            pending = set()


def _result(job: "Job", future: Any) -> dict[str, ExecutionResult]:
    """A finished task's results, or a ``failed`` result that says why the task failed."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, a task error: this job only
        name = type(exc).__name__
        if name == "KilledWorker":
            why = "its grading task killed a Dask worker again and again (KilledWorker); it may crash the grader"
        else:
            why = f"the grading task failed: {name}: {str(exc)[:300]}"
        return failed_results(job.notebooks, why)
    finally:
        future.release()
