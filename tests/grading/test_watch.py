"""``chemdl grade watch``: a submission dropped into the inbox is graded and gets feedback in the
next round; unchanged submissions are not graded again; a resubmission is."""

from __future__ import annotations

import nbformat
import pytest
from conftest import copy_course
from fixture_course import answered, released_notebook, wrong_q2

from chemdl_utils.cli import main
from chemdl_utils.grading.gradebook import read_history
from chemdl_utils.grading.watch import watch_once

pytestmark = pytest.mark.slow


def _drop(inbox, student: str, nb) -> None:
    nbformat.write(nb, inbox / f"{student}_toy.ipynb")


def test_new_and_changed_submissions_are_graded_once_with_feedback(released_template, tmp_path, limits):
    course = copy_course(released_template, tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    released = released_notebook(course)
    _drop(inbox, "ada", answered(released))

    first = watch_once(course, "toy", inbox, workers=1, limits=limits)
    assert first.graded == ["ada"] and first.feedback == ["ada"]
    assert list((course.feedback_dir / "ada" / "toy").glob("*.html"))

    again = watch_once(course, "toy", inbox, workers=1, limits=limits)
    assert again.graded == [] and len(read_history(course, "toy", "ada")) == 1  # nothing new: no regrade

    _drop(inbox, "bob", wrong_q2(released))
    third = watch_once(course, "toy", inbox, workers=1, limits=limits)
    assert third.graded == ["bob"]
    assert [o.split()[0] for o in third.lines if "graded" in o] == ["bob"]


def test_the_command_runs_a_given_number_of_rounds(released_template, tmp_path, capsys):
    course = copy_course(released_template, tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _drop(inbox, "cy", answered(released_notebook(course)))
    common = ["--course", str(course.root), "--workspace", str(course.workspace)]
    assert main(["grade", "watch", "toy", str(inbox), "--rounds", "1", "--interval", "1", "--workers", "1",
                 *common]) == 0
    out = capsys.readouterr().out
    assert "cy" in out and "graded" in out and "feedback written for cy" in out
    with pytest.raises(ValueError, match="interval"):
        from chemdl_utils.grading.watch import watch

        watch(course, "toy", inbox, interval=0, rounds=1)


def test_submissions_in_the_nbgrader_exchange_are_collected_and_graded(released_template, tmp_path, limits):
    """``nbgrader submit`` puts submissions in the exchange's inbound folder; the watcher grades each
    student's latest one, never follows a link in it, and ignores other assignments."""
    import datetime as dt

    from chemdl_utils.grading.collect import read_timestamp
    from chemdl_utils.grading.watch import exchange_inbound

    course = copy_course(released_template, tmp_path / "course")
    exchange = tmp_path / "exchange"
    inbound = exchange / "chemdl" / "inbound"
    inbound.mkdir(parents=True)
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n")
    assert exchange_inbound(course) == inbound
    released = released_notebook(course)
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only")
    older = inbound / "ada+toy+2026-11-30 08:00:00.000000 UTC+AbC1"
    latest = inbound / "ada+toy+2026-11-30 09:00:00.000000 UTC+dEf2"
    other = inbound / "bob+other+2026-11-30 09:00:00.000000 UTC+xYz3"
    for folder, nb in ((older, answered(released)), (latest, wrong_q2(released)), (other, answered(released))):
        folder.mkdir()
        nbformat.write(nb, folder / "toy.ipynb")
        (folder / "timestamp.txt").write_text(folder.name.split("+")[2])
    (latest / "peek.txt").symlink_to(secret)

    first = watch_once(course, "toy", None, workers=1, limits=limits)
    assert first.graded == ["ada"] and first.feedback == ["ada"], first.lines
    assert any("peek.txt" in line and "link" in line for line in first.lines), first.lines
    submitted = course.submitted_dir / "ada" / "toy"
    assert not (submitted / "peek.txt").exists() and not (course.submitted_dir / "bob").exists()
    assert read_timestamp(submitted) == dt.datetime(2026, 11, 30, 9, 0)
    assert [r["score"] for r in read_history(course, "toy", "ada")] == [5.0]  # the latest: wrong q2

    again = watch_once(course, "toy", None, workers=1, limits=limits)
    assert again.graded == [] and len(read_history(course, "toy", "ada")) == 1
