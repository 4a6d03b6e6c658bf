"""The same pipeline against a real PostgreSQL gradebook (``--db postgresql://...``)."""

from __future__ import annotations

import csv

import pytest
from conftest import copy_course
from fixture_course import write_submissions

from chemdl_utils.grading.autograde import autograde_assignment
from chemdl_utils.grading.export import export_grades
from chemdl_utils.grading.gradebook import open_gradebook, read_history

pytestmark = pytest.mark.postgres


def test_autograde_into_postgres(postgres_url, released_template, tmp_path, limits):
    course = copy_course(released_template, tmp_path / "pg", db_url=postgres_url)
    write_submissions(course, ["s_solution", "s_wrong", "s_badjson"])
    # the PostgreSQL gradebook is new: autograde records the assignments itself
    summary = autograde_assignment(course, "toy", workers=2, limits=limits)
    assert {o.student: (o.status, o.score) for o in summary.outcomes} == {
        "s_solution": ("graded", 7.0), "s_wrong": ("graded", 5.0), "s_badjson": ("failed", None)}
    with open_gradebook(course) as gb:
        assert gb.engine.dialect.name == "postgresql"
        assert gb.find_grade("q2_hidden", "toy", "toy", "s_wrong").auto_score == 0
        assert gb.find_assignment("toy").num_submissions == 2
    assert [r["status"] for r in read_history(course, "toy", "s_badjson")] == ["failed"]
    rows = {r["student_id"]: r for r in csv.DictReader(export_grades(course, tmp_path / "g.csv").open())}
    assert rows["s_solution"]["score"] == "7.0" and rows["s_badjson"]["submitted"] == "no"
