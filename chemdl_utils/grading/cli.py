"""``chemdl grade ...``: the instructor's subcommands (registered by ``chemdl_utils.cli``).

    chemdl grade release [ASSIGNMENT] [--check]
    chemdl grade collect ASSIGNMENT SOURCE [--map CSV] [--format F] [--dry-run]
    chemdl grade autograde ASSIGNMENT [--workers N] [--student ID ...] [--cluster local|slurm | --scheduler ADDR]
                           [--cell-timeout S] [--timeout S] [--memory MB]
    chemdl grade watch ASSIGNMENT [INBOX] [--interval S] [--rounds N]
    chemdl grade feedback ASSIGNMENT [--student ID ...]
    chemdl grade export [--assignment A ...] [--by-question] [--history] [-o FILE]
    chemdl grade report ASSIGNMENT [-o DIR]

Every subcommand takes ``--course DIR`` (default: found from cwd), ``--workspace DIR`` (default
``instructor/``) and ``--db URL`` (default SQLite in the workspace; ``postgresql://...`` works).
Everything printed goes through :func:`~chemdl_utils.grading.safe_text.printable` (no terminal
escape sequences from file names or messages a student chose).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .safe_text import printable

__all__ = ["register"]


def _say(text: object = "") -> None:
    """Print one line of output with control characters and escape sequences removed."""
    print(printable(text))


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("course")
    g.add_argument("--course", type=Path, default=None,
                   help="course root with solutions/ (default: found from cwd)")
    g.add_argument("--workspace", type=Path, default=None,
                   help="instructor workspace (default: $CHEMDL_INSTRUCTOR_DIR or COURSE/instructor)")
    g.add_argument("--db", default=None, metavar="URL",
                   help="gradebook URL (default: $CHEMDL_GRADEBOOK_URL or sqlite:///WORKSPACE/gradebook.db)")


def _course(args: argparse.Namespace):
    from .course import Course

    return Course.from_root(args.course, workspace=args.workspace, db_url=args.db)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``grade`` and its subcommands to the ``chemdl`` parser."""
    grade = subparsers.add_parser(
        "grade", help="release, collect, autograde, feedback, export, report (nbgrader)",
        description="The instructor's grading pipeline on nbgrader: release -> collect -> autograde -> "
                    "feedback -> export/report.",
    )
    sub = grade.add_subparsers(dest="grade_command", metavar="STEP")

    p = sub.add_parser("release", help="generate exercises/ from solutions/ (or --check they are in sync)",
                       description="Run nbgrader generate_assignment from solutions/ into exercises/ and "
                                   "record the assignment in the gradebook. With --check, only compare "
                                   "and exit 1 on drift.")
    p.add_argument("assignment", nargs="?", help="assignment folder name (default: every assignment)")
    p.add_argument("--check", action="store_true",
                   help="verify exercises/ matches a fresh generation; change nothing")
    _common(p)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("collect",
                       help="copy submissions (folder or LMS zip) into submitted/<student>/<assignment>/",
                       description="Map downloaded files (Moodle, Canvas, studentid_notebook.ipynb, folder "
                                   "per student) to student ids and write nbgrader's submitted/ layout "
                                   "with timestamps. The download's own format decides how every file is "
                                   "read; ambiguous owners, links and unsafe paths are listed as ERROR, "
                                   "filed nowhere, and make the exit status 1.")
    p.add_argument("assignment", help="assignment the files belong to")
    p.add_argument("source", type=Path, help="folder or .zip with the downloaded submissions")
    p.add_argument("--map", type=Path, default=None, dest="mapping",
                   help="CSV with student_id and lms_id and/or name columns")
    p.add_argument("--format", default="auto", choices=("auto", "moodle", "canvas", "plain"), dest="fmt",
                   help="download format (default auto: the one every file name fits)")
    p.add_argument("--dry-run", action="store_true", help="report what would be collected; write nothing")
    _common(p)
    p.set_defaults(func=_cmd_collect)

    p = sub.add_parser("watch", help="grade each new submission as it arrives and write its feedback",
                       description="Every --interval seconds: collect INBOX and nbgrader's exchange (each student's "
                                   "latest submission in <Exchange.root>/<course_id>/inbound, as `collect` does), "
                                   "autograde the students whose submission changed, write their feedback. "
                                   "Ctrl-C stops.")
    p.add_argument("assignment", help="assignment to watch")
    p.add_argument("inbox", type=Path, nargs="?", default=None,
                   help="folder (or zip) where submissions arrive; nbgrader's exchange (inbound) is always read too")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between rounds (default 60)")
    p.add_argument("--rounds", type=int, default=None, help="stop after this many rounds (default: run until Ctrl-C)")
    p.add_argument("--workers", type=int, default=None, help="notebooks graded at once (default: number of cores)")
    _common(p)
    p.set_defaults(func=_cmd_watch)

    p = sub.add_parser("autograde", help="execute and score every submission in parallel, isolated",
                       description="Grade every submission of ASSIGNMENT in its own working copy and "
                                   "process: "
                                   "locked cells restored, per-cell and per-notebook timeouts, memory limit. "
                                   "Prints one line per student: graded, failed (with the reason) or "
                                   "missing.")
    p.add_argument("assignment", help="assignment to grade")
    p.add_argument("--workers", type=int, default=None,
                   help="notebooks run at once (default: number of cores)")
    p.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds per cell (default: Execute.timeout of nbgrader_config.py, else 120)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per notebook (default 900)")
    p.add_argument("--memory", type=int, default=None, metavar="MB",
                   help="memory limit per kernel (default 4096)")
    p.add_argument("--cluster", choices=("local", "slurm"), default=None,
                   help="grade as Dask tasks: 'local' (a LocalCluster of --workers processes) or 'slurm' "
                        "(dask-jobqueue, settings in Dask's jobqueue.yaml or --cluster-config)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on the workers of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(needs a PostgreSQL gradebook)")
    p.add_argument("--jobs", type=int, default=2, help="Slurm jobs to start with --cluster slurm (default 2)")
    p.add_argument("--cluster-config", default=None, metavar="YAML",
                   help="Dask configuration file with a 'jobqueue: slurm:' section (--cluster slurm)")
    _common(p)
    p.set_defaults(func=_cmd_autograde)

    p = sub.add_parser("feedback", help="write one feedback HTML per student notebook",
                       description="Generate feedback/<student>/<assignment>/<notebook>.html from the "
                                   "autograded "
                                   "notebooks and the gradebook (nbgrader generate_feedback).")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None, help="only this student (repeatable)")
    _common(p)
    p.set_defaults(func=_cmd_feedback)

    p = sub.add_parser("export", help="grades (or the autograde history) as CSV",
                       description="One row per student and assignment: score, max_score, percent, "
                                   "whether manual "
                                   "grading is pending. --history writes every autograde attempt instead.")
    p.add_argument("--assignment", action="append", default=None, help="only this assignment (repeatable)")
    p.add_argument("--by-question", action="store_true", help="add one column per graded cell")
    p.add_argument("--history", action="store_true", help="export the autograde history instead of grades")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="CSV file (default: WORKSPACE/reports/grades.csv)")
    _common(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("report", help="per-question score distributions and the hardest questions",
                       description="Write ASSIGNMENT-questions.csv/.md/.png: statistics per graded cell, "
                                   "hardest first, and a plot of the score distributions.")
    p.add_argument("assignment")
    p.add_argument("-o", "--output", type=Path, default=None, help="folder (default: WORKSPACE/reports)")
    p.add_argument("--hardest", type=int, default=3, help="how many hardest questions to name (default 3)")
    _common(p)
    p.set_defaults(func=_cmd_report)

    grade.set_defaults(func=lambda args: (grade.print_help(), 2)[1])
    return grade


def _cmd_release(args: argparse.Namespace) -> int:
    from .release import check_release, release_assignment

    course = _course(args)
    names = [args.assignment] if args.assignment else course.assignments()
    if not names:
        raise FileNotFoundError(f"no assignments in {course.source_dir}")
    status = 0
    for name in names:
        if args.check:
            problems = check_release(course, name)
            for line in problems:
                _say(line)
            _say(f"{name}: {'in sync' if not problems else f'{len(problems)} difference(s)'}")
            status = status or (1 if problems else 0)
        else:
            files = release_assignment(course, name)
            _say(f"{name}: released {len(files)} file(s) to {course.release_dir / name}")
    return status


def _cmd_collect(args: argparse.Namespace) -> int:
    from .collect import collect_submissions

    report = collect_submissions(_course(args), args.assignment, args.source, args.mapping,
                                 dry_run=args.dry_run, fmt=args.fmt)
    for line in report.lines():
        _say(line)
    _say(f"{args.assignment}: {len(report.collected)} collected, {len(report.unchanged)} unchanged, "
         f"{len(report.unmatched)} unmatched file(s), {len(report.errors)} error(s)"
         + (f" [{report.format} download]" if report.format else "")
         + (" (dry run)" if args.dry_run else ""))
    return 0 if report.ok else 1


def _cmd_watch(args: argparse.Namespace) -> int:
    from .limits import Limits
    from .watch import watch

    course = _course(args)
    try:
        watch(course, args.assignment, args.inbox, interval=args.interval, rounds=args.rounds,
              workers=args.workers, limits=Limits.from_options(course.nbgrader_config()), say=_say)
    except KeyboardInterrupt:
        _say("watch stopped")
    return 0


def _cmd_autograde(args: argparse.Namespace) -> int:
    from .autograde import autograde_assignment
    from .limits import Limits

    course = _course(args)
    limits = Limits.from_options(course.nbgrader_config(), cell_timeout=args.cell_timeout,
                                 notebook_timeout=args.timeout, memory_mb=args.memory)
    summary = autograde_assignment(course, args.assignment, workers=args.workers, limits=limits,
                                   students=args.student, cluster=args.cluster, scheduler=args.scheduler,
                                   jobs=args.jobs, cluster_config=args.cluster_config)
    for line in summary.lines():
        _say(line)
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import generate_feedback

    out = generate_feedback(_course(args), args.assignment, args.student)
    for student, files in out.items():
        _say(f"{student}: {', '.join(str(f) for f in files)}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_grades, export_history

    course = _course(args)
    if args.history:
        path = args.output or course.reports_dir / "history.csv"
        one = args.assignment[0] if args.assignment and len(args.assignment) == 1 else None
        _say(f"wrote {export_history(course, path, one)}")
    else:
        path = args.output or course.reports_dir / "grades.csv"
        _say(f"wrote {export_grades(course, path, args.assignment, by_question=args.by_question)}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    paths = write_report(_course(args), args.assignment, args.output, hardest=args.hardest)
    for kind, path in paths.items():
        _say(f"{kind}: {path}")
    _say(Path(paths["md"]).read_text().splitlines()[-1])
    return 0
