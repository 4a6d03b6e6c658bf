"""feedback, export and report on the shared autograde run."""

from __future__ import annotations

import csv

import pytest
from fixture_course import EXPECTED

from chemdl_utils.grading.export import export_grades, export_history
from chemdl_utils.grading.feedback import generate_feedback
from chemdl_utils.grading.report import question_table, write_report


def test_feedback_html_per_student(graded_all):
    course, _ = graded_all
    out = generate_feedback(course, "toy", ["s_wrong", "s_solution"])
    html = out["s_wrong"][0].read_text()
    assert out["s_wrong"][0] == course.feedback_dir / "s_wrong" / "toy" / "toy.html"
    assert "q2_hidden" in html and "count_carbons" in html  # the student's answer and the graded cells
    assert "Score: 5.0 / 9.0" in html or "5.0 / 9.0" in html
    with pytest.raises(FileNotFoundError, match="no autograded 'toy' for s_badjson"):
        generate_feedback(course, "toy", ["s_badjson"])


def test_export_grades_csv(graded_all, tmp_path):
    course, _ = graded_all
    path = export_grades(course, tmp_path / "grades.csv", ["toy"], by_question=True)
    rows = {r["student_id"]: r for r in csv.DictReader(path.open())}
    assert set(rows) == set(EXPECTED)  # failed and missing students are listed too
    assert rows["s_wrong"]["score"] == "5.0" and rows["s_wrong"]["max_score"] == "9.0"
    assert rows["s_wrong"]["toy:q2_hidden"] == "0.0" and rows["s_wrong"]["toy:q1_test"] == "2.0"
    assert rows["s_wrong"]["needs_manual_grade"] == "yes" and rows["s_blank"]["needs_manual_grade"] == "no"
    assert rows["s_badjson"]["submitted"] == "no" and rows["s_badjson"]["score"] == "0.0"


def test_export_history_csv(graded_all, tmp_path):
    course, _ = graded_all
    rows = list(csv.DictReader(export_history(course, tmp_path / "h.csv", "toy").open()))
    assert len(rows) == len(EXPECTED)
    assert {r["status"] for r in rows} == {"graded", "failed", "missing"}


def test_report_table_plot_and_hardest(graded_all, tmp_path):
    course, _ = graded_all
    rows = question_table(course, "toy")
    fractions = [r["mean_fraction"] for r in rows if r["mean_fraction"] is not None]
    assert fractions == sorted(fractions)
    q1 = next(r for r in rows if r["question"] == "q1_test")
    assert q1["submissions"] == 9
    assert q1["zero_marks"] == pytest.approx(3 / 9, abs=1e-3)  # blank, edited, loop
    assert next(r for r in rows if r["question"] == "q4_explain")["manual_pending"] == 8
    paths = write_report(course, "toy", tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = paths["md"].read_text()
    assert md.count("\n|") >= 6 and "Hardest: " + rows[0]["question"] in md
    assert next(csv.DictReader(paths["csv"].open()))["question"] == rows[0]["question"]
