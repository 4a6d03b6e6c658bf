"""Autograde of every bad-input case: the outcome, the score, the reason, and what the gradebook holds."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import copy_course
from fixture_course import AUTO_MAX, EXPECTED, TOTAL_MAX, write_submissions

from chemdl_utils.grading.autograde import autograde_assignment
from chemdl_utils.grading.gradebook import HistoryRow, open_gradebook, read_history, save_grades
from chemdl_utils.grading.score import CellScore, NotebookScore


def _grades(course, student: str) -> dict[str, float | None]:
    with open_gradebook(course) as gb:
        sub = gb.find_submission("toy", student)
        return {g.cell.name: g.auto_score for nb in sub.notebooks for g in nb.grades}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_outcome_of_each_case(graded_all, student):
    course, summary = graded_all
    status, score, words = EXPECTED[student]
    outcome = summary.get(student)
    assert outcome.status == status, outcome.line()
    if score is not None:
        assert outcome.score == pytest.approx(score)
        assert outcome.max_score == pytest.approx(TOTAL_MAX)
    line = next(line for line in summary.lines() if line.startswith(student + " "))
    assert status in line
    for word in words:
        assert word in line, line


def test_summary_totals_line(graded_all):
    _, summary = graded_all
    graded = sum(1 for s, _, _ in EXPECTED.values() if s == "graded")
    assert summary.lines()[-1].startswith(f"toy: {graded} graded, 2 failed, 1 missing")
    assert "submissions/min" in summary.lines()[-1]


def test_solution_full_marks_blank_zero(graded_all):
    course, _ = graded_all
    full = _grades(course, "s_solution")
    assert full == {"q1_test": 2, "q2_visible": 1, "q2_hidden": 2, "q3_test": 2, "q4_explain": None}
    blank = _grades(course, "s_blank")
    assert blank == {"q1_test": 0, "q2_visible": 0, "q2_hidden": 0, "q3_test": 0, "q4_explain": 0}
    with open_gradebook(course) as gb:
        comment = gb.find_comment("q4_explain", "toy", "toy", "s_blank")
        assert comment.auto_comment == "No response."
        assert gb.find_grade("q4_explain", "toy", "toy", "s_solution").needs_manual_grade


def test_wrong_answer_loses_exactly_the_hidden_test(graded_all):
    course, _ = graded_all
    assert _grades(course, "s_wrong") == {"q1_test": 2, "q2_visible": 1, "q2_hidden": 0, "q3_test": 2,
                                          "q4_explain": None}


def test_edited_and_deleted_locked_tests_are_restored_and_run(graded_all):
    course, _ = graded_all
    assert _grades(course, "s_edited")["q1_test"] == 0  # 'assert True' was replaced by the real test
    assert _grades(course, "s_deleted")["q3_test"] == 0  # the deleted test came back and failed
    graded = course.autograded_dir / "s_edited" / "toy" / "toy.ipynb"
    assert "assert True" not in graded.read_text()
    # the hidden test ran (s_wrong lost its points) but its source never reaches the graded copy
    assert _grades(course, "s_wrong")["q2_hidden"] == 0
    assert "Cl2" not in (course.autograded_dir / "s_wrong" / "toy" / "toy.ipynb").read_text()


def test_infinite_loop_and_crash_zero_only_that_question(graded_all):
    course, _ = graded_all
    loop = _grades(course, "s_loop")
    assert loop["q1_test"] == 0 and loop["q2_hidden"] == 2 and loop["q3_test"] == 2
    crash = _grades(course, "s_crash")
    assert crash["q3_test"] == 0 and crash["q1_test"] == 2 and crash["q2_hidden"] == 2


def test_failed_submissions_leave_no_grade_and_no_autograded_copy(graded_all):
    course, _ = graded_all
    with open_gradebook(course) as gb:
        submitted = {s.student.id for s in gb.find_assignment("toy").submissions}
        assert {"s_badjson", "s_otherassign", "s_nonotebook"}.isdisjoint(submitted)
        assert "s_badjson" in {s.id for s in gb.students}  # listed, so exports show "not submitted"
    assert not (course.autograded_dir / "s_badjson").exists()
    assert (course.autograded_dir / "s_extra" / "toy" / "scratch.py").is_file()


def test_history_has_one_row_per_student_with_reasons(graded_all):
    course, summary = graded_all
    rows = read_history(course, "toy")
    assert {r["student"] for r in rows} == set(EXPECTED)
    assert {r["run_id"] for r in rows} == {summary.run_id}
    bad = next(r for r in rows if r["student"] == "s_badjson")
    assert bad["status"] == "failed" and "not valid JSON" in bad["reason"] and bad["score"] is None
    good = next(r for r in rows if r["student"] == "s_wrong")
    assert good["score"] == 5.0 and good["max_score"] == TOTAL_MAX and len(good["sha256"]) == 64


def test_serial_grading_gives_identical_grades(graded_all, released_template, tmp_path, limits):
    course, _ = graded_all
    cases = ["s_wrong", "s_deleted"]
    serial = copy_course(released_template, tmp_path / "serial")
    write_submissions(serial, cases)
    summary = autograde_assignment(serial, "toy", workers=1, limits=limits, show_progress=False)
    assert [o.status for o in summary.outcomes] == ["graded"] * 2
    for student in cases:
        assert _grades(serial, student) == _grades(course, student)


def test_resubmission_latest_wins_and_history_keeps_earlier(course, limits, tmp_path):
    from fixture_course import released_notebook, wrong_q2, answered
    import nbformat
    import os

    from chemdl_utils.grading.collect import collect_submissions

    release = released_notebook(course)
    first, second = tmp_path / "first", tmp_path / "second"
    versions = ((first, wrong_q2(release), 1_700_000_000), (second, answered(release), 1_700_100_000))
    for folder, nb, when in versions:
        folder.mkdir()
        path = folder / "ana_toy.ipynb"
        nbformat.write(nb, path)
        os.utime(path, (when, when))
    collect_submissions(course, "toy", first)
    assert autograde_assignment(course, "toy", workers=1, limits=limits).get("ana").score == 5.0
    collect_submissions(course, "toy", second)
    assert autograde_assignment(course, "toy", workers=1, limits=limits).get("ana").score == AUTO_MAX
    with open_gradebook(course) as gb:
        sub = gb.find_submission("toy", "ana")
        assert sub.timestamp == dt.datetime.fromtimestamp(1_700_100_000, dt.timezone.utc).replace(tzinfo=None)
    history = [r for r in read_history(course, "toy", "ana")]
    assert [r["score"] for r in history] == [5.0, AUTO_MAX]
    assert history[0]["sha256"] != history[1]["sha256"]
    # an older download does not replace the newer submission
    report = collect_submissions(course, "toy", first)
    assert report.kept_newer == ["ana"]


def test_save_grades_is_one_transaction(course):
    class Exploding(NotebookScore):
        def auto_score(self, grade_id):
            if grade_id == "q3_test":
                raise RuntimeError("boom")
            return 1.0

    from chemdl_utils.grading.gradebook import ensure_assignment

    ensure_assignment(course, "toy")
    with open_gradebook(course) as gb:
        with pytest.raises(RuntimeError, match="boom"):
            save_grades(gb, "toy", "zoe", None, [Exploding("toy", [CellScore("q1_test", 1.0, 2.0, "code")])],
                        HistoryRow("r1", "toy", "zoe", "graded", 1.0, 9.0))
    with open_gradebook(course) as gb:
        assert "zoe" not in {s.id for s in gb.students}
        assert gb.find_assignment("toy").num_submissions == 0
    assert read_history(course, "toy", "zoe") == []


def test_manual_scores_survive_a_regrade(course):
    from chemdl_utils.grading.gradebook import ensure_assignment

    ensure_assignment(course, "toy")
    cells = [CellScore("q1_test", 2.0, 2.0, "code"), CellScore("q4_explain", None, 2.0, "markdown")]
    with open_gradebook(course) as gb:
        save_grades(gb, "toy", "ana", None, [NotebookScore("toy", cells)],
                    HistoryRow("r1", "toy", "ana", "graded"))
        gb.find_grade("q4_explain", "toy", "toy", "ana").manual_score = 1.5
        gb.db.commit()
        total = save_grades(gb, "toy", "ana", None, [NotebookScore("toy", cells)],
                            HistoryRow("r2", "toy", "ana", "graded"))
    assert total == 3.5
    with open_gradebook(course) as gb:
        grade = gb.find_grade("q4_explain", "toy", "toy", "ana")
        assert grade.manual_score == 1.5 and grade.needs_manual_grade  # flagged for review, as nbgrader does
        assert gb.find_grade("q3_test", "toy", "toy", "ana").auto_score == 0  # absent cell scores zero
        assert gb.find_submission("toy", "ana").score == pytest.approx(3.5)


def test_bad_arguments_raise_clear_errors(course):
    with pytest.raises(FileNotFoundError, match="no assignment 'nope'.*known: other, toy"):
        autograde_assignment(course, "nope")
    with pytest.raises(ValueError, match="--workers must be at least 1"):
        autograde_assignment(course, "toy", workers=0)


def test_missing_isolation_stops_before_grading(course, monkeypatch):
    import chemdl_utils.grading.execute as execute

    def refuse():
        raise RuntimeError("isolation level 'bwrap' does not work on this machine")

    monkeypatch.setattr(execute, "isolation_mode", refuse)
    write_submissions(course, ["s_wrong"])
    with pytest.raises(RuntimeError, match="cannot isolate student code: isolation level 'bwrap'"):
        autograde_assignment(course, "toy")
    assert read_history(course, "toy") == []


def test_symlinks_in_a_submission_are_not_followed(course, limits, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only")
    folders = write_submissions(course, ["s_solution"])
    (folders["s_solution"] / "peek.txt").symlink_to(secret)
    (folders["s_solution"] / "toy (2).ipynb").symlink_to(course.source_dir / "toy" / "toy.ipynb")
    outcome = autograde_assignment(course, "toy", workers=1, limits=limits).get("s_solution")
    assert outcome.status == "graded" and outcome.score == AUTO_MAX
    graded = course.autograded_dir / "s_solution" / "toy"
    assert not (graded / "peek.txt").exists() and not (graded / "toy (2).ipynb").exists()
