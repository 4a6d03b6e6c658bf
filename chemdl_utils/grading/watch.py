"""``chemdl grade watch``: grade each new submission as it arrives and write its feedback.

Every ``interval`` seconds: collect what arrived, find the students whose submitted folder changed
since the watcher last graded it (content digest), autograde only those, and write their feedback.
Students get feedback minutes after they submit, instead of after the deadline. Submissions arrive
in two places, both collected with the same rules as ``chemdl grade collect`` (links never
followed, a newer submission replaces an older one, never the reverse):

* the inbox folder given on the command line (an LMS sync folder, a shared drive);
* nbgrader's exchange, where ``nbgrader submit`` (or the JupyterHub assignment list) puts them:
  ``<Exchange.root>/<course_id>/inbound/<student>+<assignment>+<timestamp>[+<random>]/``, with
  ``Exchange.root`` and ``CourseDirectory.course_id`` read from nbgrader's configuration as
  ``nbgrader`` reads it (Jupyter's config path, then the course's ``nbgrader_config.py``;
  :func:`exchange_inbound`). Each student's latest submission is collected.

State (which content was graded) lives in ``<workspace>/.watch-<assignment>.json``, so a restarted
watcher does not regrade unchanged submissions; a submission that failed is not retried until its
content changes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .course import Course
from .limits import Limits

__all__ = ["WatchRound", "changed_students", "exchange_inbound", "stage_exchange", "watch_once", "watch"]

#: nbgrader's default ``Exchange.root``
DEFAULT_EXCHANGE_ROOT = "/srv/nbgrader/exchange"


@dataclass
class WatchRound:
    """What one round of the watcher did."""

    collected: int = 0
    graded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _state_path(course: Course, assignment: str) -> Path:
    return course.workspace / f".watch-{assignment}.json"


def _load_state(course: Course, assignment: str) -> dict[str, str]:
    path = _state_path(course, assignment)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def changed_students(course: Course, assignment: str, state: dict[str, str]) -> dict[str, str]:
    """``{student: digest}`` of every submitted folder whose content differs from ``state``."""
    from .workspace import digest

    out = {}
    if not course.submitted_dir.is_dir():
        return out
    for folder in sorted(course.submitted_dir.glob(f"*/{assignment}")):
        if folder.is_dir() and not folder.is_symlink() and not folder.parent.name.startswith("."):
            content = digest(folder)
            if state.get(folder.parent.name) != content:
                out[folder.parent.name] = content
    return out


def _nbgrader_config(course: Course) -> Any:
    """nbgrader's configuration as ``nbgrader`` itself would see it: every ``nbgrader_config.py``
    on Jupyter's config path (``~/.jupyter``, the hub's ``/etc/jupyter``, ...), then the course's."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first
        if (Path(folder) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    config.merge(course.nbgrader_config())
    return config


def exchange_inbound(course: Course) -> Path:
    """nbgrader's inbound folder of the course: ``<Exchange.root>/<course_id>/inbound``, from
    nbgrader's configuration (nbgrader's default root where nothing sets it)."""
    config = _nbgrader_config(course)
    root = config.Exchange.root if "root" in config.get("Exchange", {}) else DEFAULT_EXCHANGE_ROOT
    course_id = config.CourseDirectory.course_id if "course_id" in config.get("CourseDirectory", {}) else ""
    return Path(str(root)) / str(course_id or course.course_id) / "inbound"


def _latest_submissions(inbound: Path, assignment: str) -> dict[str, tuple[object, Path]]:
    """``{student: (timestamp, folder)}``: each student's newest folder for ``assignment``, named
    as nbgrader names them (``student+assignment+timestamp[+random]``). Entries that are not
    folders (links included) or whose name does not parse are skipped."""
    from nbgrader.utils import parse_utc

    latest: dict[str, tuple[object, Path]] = {}
    with os.scandir(inbound) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            parts = entry.name.rsplit("+", 3)  # as nbgrader's ExchangeCollect reads them
            if len(parts) < 3 or parts[1] != assignment or not parts[0] or parts[0].startswith("."):
                continue
            try:
                when = parse_utc(parts[2])
            except (ValueError, OverflowError):  # not a time: not a submission folder
                continue
            if when is None:
                continue
            if parts[0] not in latest or when > latest[parts[0]][0]:  # type: ignore[operator]
                latest[parts[0]] = (when, Path(entry.path))
    return latest


def stage_exchange(course: Course, assignment: str, staging: Path) -> list[str]:
    """Copy each student's latest exchange submission of ``assignment`` into ``staging/<student>/``
    (the "folder per student" layout ``collect`` reads), every file dated with the submission's
    time. Only regular files are read, never through a link (``collect``'s own reader); returns
    the problems found (refused files), one line each. Nothing happens when the exchange has no
    inbound folder."""
    from .collect import _folder_entries

    inbound = exchange_inbound(course)
    if not inbound.is_dir():
        return []
    problems = []
    for student, (when, folder) in sorted(_latest_submissions(inbound, assignment).items()):
        stamp = when.replace(tzinfo=dt.timezone.utc).timestamp()  # type: ignore[union-attr]
        for raw in _folder_entries(folder):
            if raw.rel == "timestamp.txt":
                continue
            if raw.problem:
                problems.append(f"ERROR exchange {folder.name}/{raw.rel}: {raw.problem}")
                continue
            target = staging / student / raw.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.write_bytes(raw.read())
            except OSError as exc:
                problems.append(f"ERROR exchange {folder.name}/{raw.rel}: {exc}")
                continue
            os.utime(target, (stamp, stamp))
    return problems


def watch_once(course: Course, assignment: str, inbox: Path | None, *, workers: int | None = None,
               limits: Limits | None = None, exchange: bool = True) -> WatchRound:
    """One round: collect ``inbox`` (if given) and nbgrader's exchange (if ``exchange`` and the
    course has an inbound folder), grade the changed submissions, write feedback."""
    from .autograde import autograde_assignment
    from .collect import collect_submissions
    from .feedback import generate_feedback

    result = WatchRound()
    if inbox is not None:
        report = collect_submissions(course, assignment, inbox)
        result.collected += len(report.collected)
        result.lines += [line for line in report.lines() if line.startswith("ERROR")]
    if exchange:
        staging = Path(tempfile.mkdtemp(prefix="chemdl-exchange-"))
        try:
            result.lines += stage_exchange(course, assignment, staging)
            if any(staging.iterdir()):
                report = collect_submissions(course, assignment, staging, fmt="plain")
                result.collected += len(report.collected)
                result.lines += [line for line in report.lines() if line.startswith("ERROR")]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    state = _load_state(course, assignment)
    changed = changed_students(course, assignment, state)
    if not changed:
        return result
    summary = autograde_assignment(course, assignment, workers=workers, limits=limits, students=sorted(changed),
                                   show_progress=False)
    result.lines += [o.line() for o in summary.outcomes]
    result.graded = [o.student for o in summary.outcomes if o.status == "graded"]
    result.failed = [o.student for o in summary.outcomes if o.status != "graded"]
    if result.graded:
        written = generate_feedback(course, assignment, result.graded)
        result.feedback = sorted(written)
    state.update(changed)  # failed ones too: retried only when their content changes
    path = _state_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(path)
    return result


def watch(course: Course, assignment: str, inbox: Path | None, *, interval: float = 60.0,
          rounds: int | None = None, workers: int | None = None, limits: Limits | None = None,
          say: Callable[[str], None] = print) -> None:
    """Run :func:`watch_once` every ``interval`` seconds (``rounds`` times, or until interrupted)."""
    if interval <= 0:
        raise ValueError(f"--interval must be positive, got {interval!r}")
    course.require_assignment(assignment)
    inbound = exchange_inbound(course)
    if inbound.is_dir():
        say(f"watching nbgrader's exchange {inbound}" + (f" and {inbox}" if inbox is not None else ""))
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        result = watch_once(course, assignment, inbox, workers=workers, limits=limits)
        for line in result.lines:
            say(line)
        if result.feedback:
            say(f"feedback written for {', '.join(result.feedback)}")
        done += 1
        if rounds is not None and done >= rounds:
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
