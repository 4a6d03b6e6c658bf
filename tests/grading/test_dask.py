"""Autograding on dask.distributed with real processes on 127.0.0.1: a ``dask scheduler``, two
``dask worker``s and a PostgreSQL gradebook. One worker is killed while it grades; every
submission is still graded exactly once, with the grades of a local (serial) run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import copy_course
from fixture_course import write_submissions

from chemdl_utils.grading.autograde import autograde_assignment
from chemdl_utils.grading.cluster import grade_payload, run_on_dask, slurm_cluster
from chemdl_utils.grading.gradebook import open_gradebook, read_history

pytestmark = pytest.mark.slow

CASES = ["s_solution", "s_wrong", "s_edited", "s_deleted", "s_crash", "s_extra", "s_badjson", "s_renamed"]
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = {"scheduler": subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                            "--no-dashboard"], stdout=subprocess.DEVNULL,
                                           stderr=open(tmp_path / "scheduler.log", "w"), env=env,
                                           start_new_session=True)}
    _wait_for_port(port)
    for name in ("w1", "w2"):
        procs[name] = subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--name", name,
                                        "--host", "127.0.0.1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                       stderr=open(tmp_path / f"{name}.log", "w"), env=env,
                                       start_new_session=True)
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address, procs
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _grades(course, students):
    with open_gradebook(course) as gb:
        out = {}
        for student in students:
            sub = gb.find_submission("toy", student)
            out[student] = {g.cell.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
        return out


def _kill_a_busy_worker(address: str, procs: dict, done: threading.Event, killed: list[str]) -> None:
    """As soon as worker w1 is grading something, SIGKILL it."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        while not done.is_set():
            for worker, tasks in client.processing().items():
                info = client.scheduler_info()["workers"].get(worker, {})
                if tasks and info.get("name") == "w1":
                    os.killpg(procs["w1"].pid, signal.SIGKILL)
                    killed.append(worker)
                    return
            time.sleep(0.2)


def test_a_class_on_a_scheduler_survives_a_killed_worker(dask_cluster, released_template, tmp_path, limits,
                                                          postgres_url):
    from test_postgres import _new_database

    address, procs = dask_cluster
    url = _new_database(postgres_url, "chemdl_dask_class")
    course = copy_course(released_template, tmp_path / "dask", db_url=url)
    write_submissions(course, CASES)
    done, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(address, procs, done, killed), daemon=True)
    killer.start()
    try:
        summary = autograde_assignment(course, "toy", limits=limits, scheduler=address, show_progress=False)
    finally:
        done.set()
        killer.join(30)
    assert killed, "worker w1 was never seen grading: the test did not exercise a lost worker"
    assert procs["w1"].poll() is not None

    serial = copy_course(released_template, tmp_path / "serial")
    write_submissions(serial, CASES)
    reference = autograde_assignment(serial, "toy", workers=1, limits=limits, show_progress=False)
    status = {o.student: (o.status, o.score) for o in summary.outcomes}
    assert status == {o.student: (o.status, o.score) for o in reference.outcomes}
    graded = [o.student for o in reference.outcomes if o.status == "graded"]
    assert _grades(course, graded) == _grades(serial, graded)
    for student in CASES:  # graded exactly once: one history row each
        assert len(read_history(course, "toy", student)) == 1, student


def test_a_remote_scheduler_refuses_an_sqlite_gradebook(released_template, tmp_path, limits):
    from chemdl_utils.grading.autograde import is_loopback

    course = copy_course(released_template, tmp_path / "sqlite")
    # refused before any connection is made (nothing is sent to this address)
    with pytest.raises(ValueError, match="PostgreSQL"):
        autograde_assignment(course, "toy", limits=limits, scheduler="tcp://grading.example.edu:8786")
    with pytest.raises(ValueError, match="PostgreSQL"):
        autograde_assignment(course, "toy", limits=limits, cluster="slurm")
    assert is_loopback("tcp://127.0.0.1:8786") and is_loopback("localhost:8786")
    assert not is_loopback("tcp://grading.example.edu:8786")


def test_a_submission_that_kills_every_worker_fails_alone(released_template, tmp_path, limits):
    """On a LocalCluster: the task that kills its worker fails with the reason once Dask gives up on
    it (``allowed-failures`` 0 here: at once, so the test does not depend on how fast the nanny
    restarts a worker on a busy machine); the other submission is graded on the other worker."""
    import dask
    from distributed import Client, LocalCluster

    def kill_the_worker(payload, limits):
        # Defined here so that cloudpickle sends it by value: a worker cannot import this test module
        # (its ``from conftest import ...`` resolves against the worker's sys.path, not pytest's).
        if payload["student"] == "s_wrong":
            os._exit(1)  # what a submission that crashes the grading process does to its worker
        return grade_payload(payload, limits)

    from chemdl_utils.grading import autograde

    course = copy_course(released_template, tmp_path / "killer")
    write_submissions(course, ["s_solution", "s_wrong"])
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as local, \
            Client(local) as client:
        original = autograde._run_jobs

        def via_killer(prepared, lim, *rest):
            yield from run_on_dask(prepared, lim, client, task=kill_the_worker)

        autograde._run_jobs = via_killer
        try:
            summary = autograde_assignment(course, "toy", limits=limits, cluster="local", show_progress=False)
        finally:
            autograde._run_jobs = original
    outcome = {o.student: o for o in summary.outcomes}
    assert outcome["s_solution"].status == "graded" and outcome["s_solution"].score == 7.0
    assert outcome["s_wrong"].status == "failed" and "KilledWorker" in outcome["s_wrong"].reason


def test_slurm_settings_come_from_the_config_file(tmp_path):
    pytest.importorskip("dask_jobqueue")
    config = tmp_path / "jobqueue.yaml"
    config.write_text("jobqueue:\n  slurm:\n    cores: 4\n    memory: 16GB\n    queue: grading\n"
                      "    walltime: '02:00:00'\n    job-extra-directives: ['--account=chem101']\n")
    cluster = slurm_cluster(config)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p grading" in script and "--account=chem101" in script and "02:00:00" in script
    with pytest.raises(FileNotFoundError, match="does not exist"):
        slurm_cluster(tmp_path / "missing.yaml")


def test_grading_never_waits_forever_for_a_cluster_without_workers(released_template, tmp_path, limits):
    """All workers gone: the pending submissions fail with the reason instead of hanging."""
    from distributed import Client, LocalCluster

    from chemdl_utils.grading import autograde

    course = copy_course(released_template, tmp_path / "empty")
    write_submissions(course, ["s_solution"])
    with LocalCluster(n_workers=0, dashboard_address=None, host="127.0.0.1") as empty, Client(empty) as client:
        original = autograde._run_jobs

        def on_empty(prepared, lim, *rest):
            yield from run_on_dask(prepared, lim, client, no_worker_grace_s=2.0)

        autograde._run_jobs = on_empty
        try:
            summary = autograde_assignment(course, "toy", limits=limits, cluster="local", show_progress=False)
        finally:
            autograde._run_jobs = original
    (outcome,) = summary.outcomes
    assert outcome.status == "failed" and "no worker" in outcome.reason
