"""``chemdl grade watch``: grade each new submission as it arrives and write its feedback.

Every ``interval`` seconds: collect the inbox folder (an LMS sync folder, a shared drive where
students drop notebooks; the same rules as ``chemdl grade collect``), find the students whose
submitted folder changed since the watcher last graded it (content digest), autograde only
those, and write their feedback. Students get feedback minutes after they submit, instead of after
the deadline. State (which content was graded) lives in ``<workspace>/.watch-<assignment>.json``,
so a restarted watcher does not regrade unchanged submissions; a submission that failed is not
retried until its content changes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .course import Course
from .limits import Limits

__all__ = ["WatchRound", "changed_students", "watch_once", "watch"]


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


def watch_once(course: Course, assignment: str, inbox: Path | None, *, workers: int | None = None,
               limits: Limits | None = None) -> WatchRound:
    """One round: collect ``inbox`` (if given), grade the changed submissions, write feedback."""
    from .autograde import autograde_assignment
    from .collect import collect_submissions
    from .feedback import generate_feedback

    result = WatchRound()
    if inbox is not None:
        report = collect_submissions(course, assignment, inbox)
        result.collected = len(report.collected)
        result.lines += [line for line in report.lines() if line.startswith("ERROR")]
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
