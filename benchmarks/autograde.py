"""Benchmark: plain ``nbgrader autograde`` vs ``chemdl grade autograde`` (local processes, a Dask
LocalCluster, and a Dask scheduler with two local workers) on the same submissions.

Builds the grading fixture course (tests/fixtures/grading) in a temporary folder, releases it,
writes N submissions (cycling through well-behaved cases: solution, correct answers, blank,
wrong answer, edited locked test, extra files), copies the course twice and grades one copy with
``python -m nbgrader autograde`` (serial, in-process kernels, no isolation) and the other with
``chemdl grade autograde`` three ways: local grading processes (the default), ``--cluster local``
(Dask LocalCluster) and ``--scheduler`` (a ``dask scheduler`` and two ``dask worker`` processes
started on 127.0.0.1). Checks that every student's per-cell grades are identical, then prints the
throughputs (submissions per minute) and their ratios to nbgrader. Exits 1 when grades differ.

    .venv/bin/python benchmarks/autograde.py [-n 8] [--workers N] [--no-dask] [--quick]

``--quick``: 2 submissions, no Dask runs (what ``python -m benchmarks --quick`` uses).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "grading"))

#: cases where plain nbgrader and chemdl agree by design (nbgrader 0.9.6 cannot restore deleted
#: test cells, rename notebooks, or survive a kernel crash, so those cases are not compared)
CASES = ["s_solution", "s_answered", "s_blank", "s_wrong", "s_edited", "s_extra"]

#: the summary rows ``(name, figure, anchor)`` of the last :func:`main` run (read by ``python -m benchmarks``)
LAST_ROWS: list[tuple[str, str, str]] = []


def _grades(course) -> dict[str, dict[str, float | None]]:
    from chemdl_utils.grading.gradebook import open_gradebook

    out: dict[str, dict[str, float | None]] = {}
    with open_gradebook(course) as gb:
        for sub in gb.find_assignment("toy").submissions:
            out[sub.student.id] = {
                f"{nb.name}:{g.cell.name}": g.auto_score for nb in sub.notebooks for g in nb.grades
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=8, help="number of submissions (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="chemdl workers (default: number of cores)")
    parser.add_argument("--cell-timeout", type=float, default=30.0)
    parser.add_argument("--no-dask", action="store_true", help="skip the two Dask runs")
    parser.add_argument("--quick", action="store_true", help="2 submissions, no Dask runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.submissions, args.no_dask = min(args.submissions, 2), True
    LAST_ROWS.clear()
    os.environ.setdefault("CHEMDL_PROGRESS", "0")

    import fixture_course

    from chemdl_utils.grading.autograde import autograde_assignment, default_workers
    from chemdl_utils.grading.course import Course
    from chemdl_utils.grading.execute import isolation_mode
    from chemdl_utils.grading.limits import Limits
    from chemdl_utils.grading.release import release_assignment

    workers = args.workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="chemdl-bench-") as tmp:
        template = Path(tmp) / "template"
        course = fixture_course.make_course(template)
        for name in ("toy", "other"):
            release_assignment(course, name)
        staging = Path(tmp) / "staging"
        cases = [CASES[i % len(CASES)] for i in range(args.submissions)]
        built = fixture_course.write_submissions(course, sorted(set(cases)), staging)
        for i, case in enumerate(cases):
            shutil.copytree(built[case], course.submitted_dir / f"student{i:03d}" / "toy")
        plain_dir, ours_dir = Path(tmp) / "nbgrader", Path(tmp) / "chemdl"
        shutil.copytree(template, plain_dir)
        shutil.copytree(template, ours_dir)
        plain = Course.from_root(plain_dir, workspace=plain_dir / "instructor")
        ours = Course.from_root(ours_dir, workspace=ours_dir / "instructor")
        dask_runs = {}
        if not args.no_dask:
            for name in ("dask-local", "dask-scheduler"):
                shutil.copytree(template, Path(tmp) / name)
                dask_runs[name] = Course.from_root(Path(tmp) / name, workspace=Path(tmp) / name / "instructor")

        env = dict(os.environ, CHEMDL_INSTRUCTOR_DIR=str(plain.workspace), CHEMDL_GRADEBOOK_URL=plain.db_url,
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", "toy", "--force",
             f"--Execute.timeout={int(args.cell_timeout)}", "--log-level=ERROR"],
            cwd=plain_dir, env=env, capture_output=True, text=True,
        )
        t_plain = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            print("nbgrader autograde failed", file=sys.stderr)
            return 1

        start = time.perf_counter()
        summary = autograde_assignment(
            ours, "toy", workers=workers, limits=Limits(cell_timeout=args.cell_timeout), show_progress=False
        )
        t_ours = time.perf_counter() - start
        timings = {f"chemdl grade autograde ({workers} processes, isolation: {isolation_mode()})": (t_ours, ours,
                                                                                                  summary)}
        limits = Limits(cell_timeout=args.cell_timeout)
        if "dask-local" in dask_runs:
            start = time.perf_counter()
            s_local = autograde_assignment(dask_runs["dask-local"], "toy", workers=workers, limits=limits,
                                           show_progress=False, cluster="local")
            timings[f"chemdl --cluster local (Dask LocalCluster, {workers} workers)"] = (
                time.perf_counter() - start, dask_runs["dask-local"], s_local)
        if "dask-scheduler" in dask_runs:
            with _local_scheduler(2) as address:
                start = time.perf_counter()
                s_sched = autograde_assignment(dask_runs["dask-scheduler"], "toy", limits=limits,
                                               show_progress=False, scheduler=address)
                timings["chemdl --scheduler (dask scheduler + 2 dask workers on 127.0.0.1)"] = (
                    time.perf_counter() - start, dask_runs["dask-scheduler"], s_sched)

        n = args.submissions
        g_plain = _grades(plain)
        rate_plain = n / t_plain * 60
        print(f"submissions: {n} ({', '.join(sorted(set(cases)))}); cores: {default_workers()}")
        print(f"nbgrader autograde (serial, no isolation): {t_plain:7.1f} s  {rate_plain:6.1f} submissions/min")
        failed = False
        for label, (seconds, course_run, summ) in timings.items():
            rate = n / seconds * 60
            g_run = _grades(course_run)
            differ = sorted(s for s in set(g_plain) | set(g_run) if g_plain.get(s) != g_run.get(s))
            graded = len(summ.by_status("graded"))
            same = "grades identical" if not differ and graded == n else f"GRADES DIFFER ({', '.join(differ) or '-'})"
            print(f"{label}: {seconds:7.1f} s  {rate:6.1f} submissions/min  "
                  f"ratio to nbgrader {rate / rate_plain:.2f}x  {same}")
            LAST_ROWS.append((f"autograde {label.split(' (')[0]}", f"{rate / rate_plain:.2f}x ({same})",
                              f"nbgrader autograde, serial, {n} submissions"))
            failed = failed or bool(differ) or graded != n
        if failed:
            return 1
        cells = sum(len(v) for v in g_plain.values())
        print(f"grades identical for all {n} submissions in every run ({cells} graded cells)")
    return 0


class _local_scheduler:
    """A ``dask scheduler`` and ``n`` single-threaded ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, n: int) -> None:
        self.n, self.procs = n, []

    def __enter__(self) -> str:
        import socket

        from distributed import Client

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        dask = str(Path(sys.executable).with_name("dask"))
        address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        self.procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                            "--no-dashboard"], **quiet))
        time.sleep(2)
        for i in range(self.n):
            self.procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                                "--no-dashboard", "--name", f"bench{i}"], **quiet))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(self.n, timeout=120)
        return address

    def __exit__(self, *exc: object) -> None:
        import signal

        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
