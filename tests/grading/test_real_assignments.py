"""The course's real assignments through the whole secure pipeline, as an instructor runs it:
release check, collect (LMS-style names), parallel sandboxed autograde, feedback, export, report.
The instructor's solution earns every autograded point and the blank release earns none."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from chemdl_utils.cli import main

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
AUTOGRADED_MAX = {"neurons": 21.0, "graphs": 21.0}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], dict[str, str]]]:
    workspace = tmp_path_factory.mktemp("workspace")
    inbox = tmp_path_factory.mktemp("lms")
    for assignment in AUTOGRADED_MAX:
        shutil.copy(REPO / "solutions" / assignment / f"{assignment}.ipynb", inbox / f"ada_{assignment}.ipynb")
        shutil.copy(REPO / "exercises" / assignment / f"{assignment}.ipynb", inbox / f"blank_{assignment}.ipynb")
    _write_mallory(inbox / "mallory_neurons.ipynb")
    common = ["--course", str(REPO), "--workspace", str(workspace)]
    assert main(["grade", "release", "--check", *common]) == 0
    for assignment in AUTOGRADED_MAX:
        assert main(["grade", "collect", assignment, str(inbox), *common]) == 0
        assert main(["grade", "autograde", assignment, "--workers", "2", *common]) == 0
        assert main(["grade", "feedback", assignment, *common]) == 0
        assert main(["grade", "report", assignment, "-o", str(workspace / "reports" / assignment), *common]) == 0
    out = workspace / "grades.csv"
    assert main(["grade", "export", "-o", str(out), *common]) == 0
    with out.open() as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    return workspace, rows


def _write_mallory(path: Path) -> None:
    """The neurons solution with a wrong Q1 (no sigmoid) and the check helpers redefined as no-ops
    in the student's kernel, the way a student who read the test cells would try to pass them."""
    import nbformat

    nb = nbformat.read(REPO / "solutions" / "neurons" / "neurons.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q1-neuron-forward":
            cell.source = "def neuron(x, w, b):\n    return float(np.dot(w, x)) + float(b)\n"
    disable = ("def _ok(*args, **kwargs):\n    return None\n"
               "check_array = check_callable = check_float = check_module = check_tensor = _ok\n"
               "import chemdl_utils.checks\nchemdl_utils.checks.check_float = _ok\n")
    nb.cells.insert(2, nbformat.v4.new_code_cell(disable))
    nbformat.write(nb, path)


def test_redefined_check_helpers_do_not_pass_a_wrong_answer(graded):
    _, rows = graded
    assert float(rows[("mallory", "neurons")]["score"]) == AUTOGRADED_MAX["neurons"] - 2  # Q1's 2 points


def test_a_notebook_named_for_another_assignment_is_not_collected(graded):
    _, rows = graded
    assert rows[("mallory", "graphs")]["submitted"] == "no"  # mallory_neurons.ipynb stays with neurons


@pytest.mark.parametrize("assignment", sorted(AUTOGRADED_MAX))
def test_solution_full_marks_and_blank_zero(graded, assignment):
    _, rows = graded
    ada, blank = rows[("ada", assignment)], rows[("blank", assignment)]
    assert float(ada["score"]) == AUTOGRADED_MAX[assignment]  # manual points are still pending
    assert ada["needs_manual_grade"] == "yes"
    assert float(blank["score"]) == 0.0


@pytest.mark.parametrize("assignment", sorted(AUTOGRADED_MAX))
def test_feedback_shows_results_but_no_hidden_tests_or_paths(graded, assignment):
    workspace, _ = graded
    page = (workspace / "feedback" / "ada" / assignment / f"{assignment}.html").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in page and str(REPO) not in page
    hidden_line = "_renumber(g, seed)" if assignment == "graphs" else "_lins = [_mod for _mod in _m.modules()"
    assert hidden_line not in page


def test_report_files_exist(graded):
    workspace, _ = graded
    for assignment in AUTOGRADED_MAX:
        produced = {p.suffix for p in (workspace / "reports" / assignment).iterdir()}
        assert {".png", ".csv"} <= produced
