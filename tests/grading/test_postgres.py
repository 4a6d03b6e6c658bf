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


def _new_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the test server; return its plain ``postgresql://`` URL."""
    from sqlalchemy import create_engine, text

    from chemdl_utils.grading.course import normalize_db_url

    engine = create_engine(normalize_db_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def test_documented_url_works_for_nbgrader_and_chemdl(postgres_url, released_template, tmp_path):
    """The guide's ``CHEMDL_GRADEBOOK_URL=postgresql://...`` (no driver named) drives nbgrader's own
    ``generate_assignment`` (SQLAlchemy's default PostgreSQL driver) and chemdl's commands alike."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from chemdl_utils.cli import main

    url = _new_database(postgres_url, "chemdl_nbgrader_cli")
    assert url.startswith("postgresql://") and "+" not in url.split("://")[0]
    course = copy_course(released_template, tmp_path / "pg", db_url=url)
    env = dict(os.environ, CHEMDL_GRADEBOOK_URL=url, CHEMDL_INSTRUCTOR_DIR=str(course.workspace))
    nbgrader = Path(sys.executable).with_name("nbgrader")
    proc = subprocess.run([str(nbgrader), "generate_assignment", "toy", "--force"], cwd=course.root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open_gradebook(course) as gb:  # chemdl reads what nbgrader wrote
        assert gb.engine.dialect.name == "postgresql"
        assert [nb.name for nb in gb.find_assignment("toy").notebooks] == ["toy"]
    proc = subprocess.run([str(nbgrader), "db", "student", "add", "s_pg"], cwd=course.root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "grades.csv"
    args = ["--course", str(course.root), "--workspace", str(course.workspace), "--db", url]
    assert main(["grade", "export", "--assignment", "toy", "-o", str(out), *args]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["student_id"], r["submitted"]) for r in rows] == [("s_pg", "no")]
