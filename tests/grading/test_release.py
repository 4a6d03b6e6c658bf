"""release: generate_assignment output, the gradebook entry, and the exercises/ drift check."""

from __future__ import annotations

import json

import pytest

from chemdl_utils.cli import main
from chemdl_utils.grading.course import Course
from chemdl_utils.grading.gradebook import open_gradebook
from chemdl_utils.grading.release import check_release, normalize_notebook

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_release_strips_solutions_and_hidden_tests(course):
    text = (course.release_dir / "toy" / "toy.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "Cl2" not in text
    assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text
    assert (course.release_dir / "toy" / "elements.csv").is_file()
    with open_gradebook(course) as gb:
        a = gb.find_assignment("toy")
        assert a.max_score == 9 and a.max_code_score == 7 and a.max_written_score == 2


def test_released_notebook_has_stable_cell_ids(course):
    nb = json.loads((course.release_dir / "toy" / "toy.ipynb").read_text())
    assert [c["id"] for c in nb["cells"]][:3] == ["intro", "imports", "q1_text"]


def test_check_is_clean_then_catches_drift(course):
    assert check_release(course, "toy") == []
    path = course.release_dir / "toy" / "toy.ipynb"
    nb = json.loads(path.read_text())
    # volatile differences are ignored
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"random-{i}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
    path.write_text(json.dumps(nb, indent=2))
    assert check_release(course, "toy") == []
    # a hand edit is not
    nb["cells"][4]["source"] = "assert True"
    path.write_text(json.dumps(nb))
    problems = check_release(course, "toy")
    assert len(problems) == 1 and "toy.ipynb: differs" in problems[0]
    assert "cell 4 differs in source" in problems[0]
    (course.release_dir / "toy" / "elements.csv").unlink()
    (course.release_dir / "toy" / "stray.txt").write_text("x")
    problems = check_release(course, "toy")
    assert any("elements.csv: missing" in p for p in problems)
    assert any("stray.txt: not made by generate_assignment" in p for p in problems)


def test_cli_check_exit_status(course, capsys):
    args = ["--course", str(course.root), "--workspace", str(course.workspace)]
    assert main(["grade", "release", "other", "--check", *args]) == 0
    assert "other: in sync" in capsys.readouterr().out
    (course.release_dir / "other" / "other.ipynb").write_text("{not json")
    assert main(["grade", "release", "other", "--check", *args]) == 1
    assert "not valid JSON" in capsys.readouterr().out


def test_normalize_keeps_what_students_see():
    a = {"cells": [{"cell_type": "code", "id": "x", "source": ["a\n", "b"], "outputs": [1], "metadata": {}}],
         "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    b = json.loads(json.dumps(a))
    b["cells"][0]["id"] = "y"
    assert normalize_notebook(a) == normalize_notebook(b)
    b["cells"][0]["source"] = "a\nc"
    assert normalize_notebook(a) != normalize_notebook(b)


def _repo_assignments() -> list[str]:
    return Course.from_root(REPO, workspace=REPO / "instructor").assignments()


@pytest.mark.parametrize("assignment", _repo_assignments() or [pytest.param(None, marks=pytest.mark.skip(
    reason="solutions/ has no assignments yet"))])
def test_course_exercises_are_in_sync_with_solutions(assignment, tmp_path):
    """The real course: exercises/ must be exactly what generate_assignment makes from solutions/."""
    course = Course.from_root(REPO, workspace=tmp_path / "ws", db_url=f"sqlite:///{tmp_path}/gb.db")
    problems = check_release(course, assignment)
    assert problems == [], (
        "exercises/ is out of sync with solutions/ (run 'chemdl grade release'):\n" + "\n".join(problems)
    )


def test_unknown_assignment_is_a_clear_error(course):
    with pytest.raises(FileNotFoundError, match="no assignment 'nope'"):
        check_release(course, "nope")
