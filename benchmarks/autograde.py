"""Benchmark: plain ``nbgrader autograde`` vs ``chemdl grade autograde`` on the same submissions.

Builds the grading fixture course (tests/fixtures/grading) in a temporary folder, releases it,
writes N submissions (cycling through well-behaved cases: solution, correct answers, blank,
wrong answer, edited locked test, extra files), copies the course twice and grades one copy with
``python -m nbgrader autograde`` (serial, in-process kernels, no isolation) and the other with
``chemdl grade autograde`` (parallel workers, one limited and isolated process per notebook).
Checks that every student's per-cell grades are identical, then prints both throughputs
(submissions per minute) and their ratio. Exits 1 when grades differ.

    .venv/bin/python benchmarks/autograde.py [-n 8] [--workers N]
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
    args = parser.parse_args(argv)
    os.environ.setdefault("CHEMDL_PROGRESS", "0")

    import fixture_course

    from chemdl_utils.grading.autograde import autograde_assignment, default_workers
    from chemdl_utils.grading.course import Course
    from chemdl_utils.grading.execute import Limits, isolation_mode
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

        g_plain, g_ours = _grades(plain), _grades(ours)
        differ = sorted(s for s in set(g_plain) | set(g_ours) if g_plain.get(s) != g_ours.get(s))
        n = args.submissions
        rate_plain, rate_ours = n / t_plain * 60, n / t_ours * 60
        print(f"submissions: {n} ({', '.join(sorted(set(cases)))}); cores: {default_workers()}")
        print(f"nbgrader autograde (serial, no isolation): "
              f"{t_plain:7.1f} s  {rate_plain:6.1f} submissions/min")
        print(f"chemdl grade autograde ({workers} workers, isolation: {isolation_mode()}): "
              f"{t_ours:7.1f} s  {rate_ours:6.1f} submissions/min")
        print(f"ratio chemdl / nbgrader: {rate_ours / rate_plain:.2f}x")
        graded = len(summary.by_status("graded"))
        if differ or graded != n:
            print(f"GRADES DIFFER for {', '.join(differ) or '-'} (chemdl graded {graded}/{n})")
            for s in differ[:5]:
                print(f"  {s}: nbgrader {g_plain.get(s)} chemdl {g_ours.get(s)}")
            return 1
        cells = sum(len(v) for v in g_ours.values())
        print(f"grades identical for all {n} submissions ({cells} graded cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
