"""Grading round trip of the course's nbgrader assignments (run in CI).

Every assignment with an answer suite ``tests/answers/<name>.py`` is graded inside a temporary
course directory configured from the repository's ``nbgrader_config.py`` (nothing is written into
the repository):

1. ``generate_assignment`` reproduces ``exercises/<name>/`` exactly (volatile metadata aside), so
   the released notebooks are never hand-edited or stale;
2. the solution notebook scores full marks on every autograded cell;
3. the released notebook, unmodified, scores zero on every autograded cell;
4. plausible wrong answers (``WRONG``, substituted into the released notebook's answer cells) lose
   exactly the points of the test cells they break, and nothing else, and each failing cell says
   why (its output contains the phrase the suite names);
5. correct alternative solutions (``CORRECT``) earn full marks;
6. every submission graded by nbgrader's own ``autograde`` is graded again by ``chemdl grade
   autograde`` (sandboxed kernel, hidden tests in the trusted process): the two must agree on
   every cell, so the hardened path never changes what a test means.

Each notebook is executed once per submission; one module-level fixture runs all submissions of
every assignment, and the tests only read the gradebook and the autograded notebooks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
ANSWERS = REPO / "tests" / "answers"


def _load_suite(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"answers_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in ("EXPECTED_POINTS", "MANUAL", "WRONG", "CORRECT"):
        assert hasattr(module, attr), f"{path} has no {attr} (format: tests/answers/README.md)"
    return module


SUITES: dict[str, ModuleType] = {p.stem: _load_suite(p) for p in sorted(ANSWERS.glob("[a-z]*.py"))}
ASSIGNMENTS = tuple(SUITES)


@dataclass
class Course:
    """A temporary nbgrader course with the results of grading every submission of one assignment."""

    root: Path
    name: str
    db_url: str
    generated: Path
    scores: dict[str, dict[str, tuple[float | None, float]]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    # student -> graded cell id -> the text of that cell's outputs in the autograded notebook
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    # the same submissions graded by ``chemdl grade autograde``: student -> cell id -> score
    chemdl_scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    chemdl_failures: list[str] = field(default_factory=list)


def _config(root: Path):
    """The repository's nbgrader configuration, redirected into ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.submitted_directory = "submitted"
    config.CourseDirectory.autograded_directory = "autograded"
    config.CourseDirectory.feedback_directory = "feedback"
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Exchange.root = str(root / "exchange")
    return config


def _notebook_name(name: str) -> str:
    notebooks = sorted(p.name for p in (REPO / "solutions" / name).glob("*.ipynb"))
    assert notebooks == [f"{name}.ipynb"], f"solutions/{name}/ should hold exactly {name}.ipynb, found {notebooks}"
    return notebooks[0]


def _solution_answers(solution: Path) -> dict[str, str]:
    """The instructor's answer cells without the solution markers, as a student would hand them in."""
    answers = {}
    for cell in nbformat.read(solution, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade"):
            lines = [line for line in cell.source.splitlines() if line.strip() not in ("### BEGIN SOLUTION",
                                                                                     "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def _substitute(released: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(released, as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            found.add(grade_id)
    missing = set(answers) - found
    assert not missing, f"no answer cells {sorted(missing)} in {released}"
    return nb


def _grade_course(tmp: Path, name: str) -> Course:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = tmp / "course"
    (root / "source").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / name, root / "source" / name)
    config = _config(root)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    nb_name = _notebook_name(name)

    result = api.generate_assignment(name, force=True)
    assert result["success"], f"generate_assignment {name} failed:\n{result['error']}\n{result['log']}"
    generated = root / "release" / name / nb_name
    course = Course(root=root, name=name, db_url=config.CourseDirectory.db_url, generated=generated)

    submissions: dict[str, nbformat.NotebookNode] = {
        "solution": nbformat.read(REPO / "solutions" / name / nb_name, as_version=4),
        "released": nbformat.read(REPO / "exercises" / name / nb_name, as_version=4),
    }
    # wrong answers: the released notebook with every question answered correctly except the wrong ones
    correct = _solution_answers(REPO / "solutions" / name / nb_name)
    suite = SUITES[name]
    for student, (answers, _) in suite.WRONG.items():
        submissions[student] = _substitute(REPO / "exercises" / name / nb_name, {**correct, **answers})
    for student, answers in suite.CORRECT.items():
        assert student not in submissions, f"{name}: submission name {student} used twice"
        submissions[student] = _substitute(REPO / "exercises" / name / nb_name, {**correct, **answers})

    for student, nb in submissions.items():
        folder = root / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / nb_name)
        result = api.autograde(name, student, force=True, create=True)
        course.logs[student] = result["log"] + (result.get("error") or "")
        assert result["success"], f"autograde of {student}/{name} failed:\n{course.logs[student]}"

    with Gradebook(course.db_url) as gb:
        for student in submissions:
            notebook = gb.find_submission_notebook(nb_name.removesuffix(".ipynb"), name, student)
            course.scores[student] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    for student in submissions:
        graded_nb = nbformat.read(root / "autograded" / student / name / nb_name, as_version=4)
        course.outputs[student] = {
            cell.metadata["nbgrader"]["grade_id"]: _output_text(cell)
            for cell in graded_nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
        }
    _grade_with_chemdl(course, tmp, submissions, nb_name)
    return course


def _grade_with_chemdl(course: Course, tmp: Path, submissions: dict[str, nbformat.NotebookNode],
                       nb_name: str) -> None:
    """Grade the same submissions through the instructor pipeline (``chemdl grade autograde``)."""
    from nbgrader.api import Gradebook

    from chemdl_utils.grading.autograde import autograde_assignment
    from chemdl_utils.grading.course import Course as GradingCourse

    workspace = tmp / "chemdl-workspace"
    grading = GradingCourse.from_root(REPO, workspace=workspace, db_url=f"sqlite:///{workspace / 'gradebook.db'}")
    for student, nb in submissions.items():
        folder = grading.submitted_dir / student / course.name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / nb_name)
    summary = autograde_assignment(grading, course.name, workers=2, show_progress=False)
    course.chemdl_failures = [o.line() for o in summary.outcomes if o.status != "graded"]
    with Gradebook(grading.db_url) as gb:
        for o in summary.outcomes:
            if o.status == "graded":
                notebook = gb.find_submission_notebook(nb_name.removesuffix(".ipynb"), course.name, o.student)
                course.chemdl_scores[o.student] = {g.name: g.auto_score for g in notebook.grades}


def _output_text(cell: nbformat.NotebookNode) -> str:
    """Everything a student sees under a cell: streams, results and the error with its traceback."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts += [out.get("ename", ""), out.get("evalue", ""), *out.get("traceback", [])]
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _grade_in_subprocess(tmp: Path, name: str) -> Course:
    """Grade one assignment; run in a worker process so that assignments are graded in parallel."""
    # nbgrader runs `alembic` (installed next to this Python) when it creates a gradebook
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return _grade_course(tmp, name)


def _requested(request: pytest.FixtureRequest) -> list[str]:
    """The assignments that the selected tests of this module need (all of them by default)."""
    names: set[str] = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and getattr(item, "module", None) is request.module:
            names |= {callspec.params[k] for k in ("name", "course") if k in callspec.params}
    return [n for n in ASSIGNMENTS if n in names] or list(ASSIGNMENTS)


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Course]:
    """Every requested assignment graded once. ``CHEMDL_GRADE_JOBS`` (default 2) assignments run at a
    time, each in its own process (nbgrader changes the working directory, so threads would not do)."""
    names = _requested(request)
    for name in names:
        if not (REPO / "exercises" / name).is_dir():
            pytest.fail(f"exercises/{name}/ is missing: run `nbgrader generate_assignment {name} --force`")
    jobs = max(1, int(os.environ.get("CHEMDL_GRADE_JOBS", "2")))
    tmps = {name: tmp_path_factory.mktemp(name) for name in names}
    if jobs == 1 or len(names) == 1:
        old_path = os.environ.get("PATH", "")
        try:
            return {name: _grade_in_subprocess(tmps[name], name) for name in names}
        finally:
            os.environ["PATH"] = old_path
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(names)), mp_context=context) as pool:
        futures = {name: pool.submit(_grade_in_subprocess, tmps[name], name) for name in names}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(params=ASSIGNMENTS)
def course(request: pytest.FixtureRequest, graded: dict[str, Course]) -> Course:
    return graded[request.param]


def _normalized(path: Path) -> str:
    """A notebook's content without outputs, execution counts or environment-specific metadata."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("language_info", None)
    for cell in nb["cells"]:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        cell.get("metadata", {}).pop("execution", None)
    return json.dumps(nb, indent=1, sort_keys=True)


def test_exercises_are_generated_from_solutions(course: Course) -> None:
    released = REPO / "exercises" / course.name / course.generated.name
    expected, actual = _normalized(course.generated), _normalized(released)
    if expected != actual:
        import difflib

        diff = "\n".join(list(difflib.unified_diff(actual.splitlines(), expected.splitlines(), "exercises (repo)",
                                                   "generate_assignment (now)", lineterm=""))[:60])
        pytest.fail(f"exercises/{course.name} is stale or hand-edited; regenerate it with "
                    f"`nbgrader generate_assignment {course.name} --force`:\n{diff}")


def test_graded_cells_have_stable_ids_and_points(course: Course) -> None:
    assert {k: v[1] for k, v in course.scores["solution"].items()} == SUITES[course.name].EXPECTED_POINTS
    nb = nbformat.read(REPO / "solutions" / course.name / course.generated.name, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "duplicate grade ids"
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta["grade_id"]
        if meta.get("grade") and cell.cell_type == "code":
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']} has no hidden tests"
    autograded = [k for k in SUITES[course.name].EXPECTED_POINTS if k not in SUITES[course.name].MANUAL]
    assert len(autograded) >= 5


def test_solution_scores_full_marks(course: Course) -> None:
    scores = course.scores["solution"]
    lost = {k: v for k, v in scores.items() if k not in SUITES[course.name].MANUAL and v[0] != v[1]}
    assert not lost, f"solution of {course.name} loses points on {lost}:\n{course.logs['solution'][-3000:]}"
    for manual in SUITES[course.name].MANUAL:
        assert scores[manual][0] is None, f"{manual} should be graded by hand, got auto score {scores[manual][0]}"


def test_released_notebook_scores_zero(course: Course) -> None:
    scores = course.scores["released"]
    earned = {k: v for k, v in scores.items() if k not in SUITES[course.name].MANUAL and v[0] != 0}
    assert not earned, f"the unmodified exercise of {course.name} earns points on {earned}"


def _wrong_cases() -> list[tuple[str, str]]:
    return [(name, student) for name, suite in SUITES.items() for student in suite.WRONG]


def _correct_cases() -> list[tuple[str, str]]:
    return [(name, student) for name, suite in SUITES.items() for student in suite.CORRECT]


def test_every_suite_is_big_enough() -> None:
    """At least 10 plausible wrong answers and 3 correct alternatives per assignment, each wrong
    answer naming the message its student will see."""
    for name, suite in SUITES.items():
        n_wrong = sum(len(answers) for answers, _ in suite.WRONG.values())
        n_correct = sum(len(answers) for answers in suite.CORRECT.values())
        assert n_wrong >= 10, f"{name}: only {n_wrong} wrong answers in tests/answers/{name}.py"
        assert n_correct >= 3, f"{name}: only {n_correct} correct alternatives in tests/answers/{name}.py"
        for student, (_, breaks) in suite.WRONG.items():
            assert breaks, f"{name}/{student} breaks no test cell"
            unnamed = [cell for cell, phrase in breaks.items() if not phrase.strip()]
            assert not unnamed, f"{name}/{student}: no expected message for {unnamed}"


@pytest.mark.parametrize(("name", "student"), _wrong_cases())
def test_wrong_answers_lose_exactly_their_points_with_a_message(graded, name: str, student: str) -> None:
    course = graded[name]
    _, breaks = SUITES[name].WRONG[student]
    scores = course.scores[student]
    unknown = set(breaks) - set(scores)
    assert not unknown, f"{name}/{student} names test cells that do not exist: {sorted(unknown)}"
    for grade_id, (score, max_score) in scores.items():
        if grade_id in SUITES[name].MANUAL:
            continue
        expected = 0.0 if grade_id in breaks else max_score
        assert score == expected, (
            f"{name}/{student}: {grade_id} scored {score}/{max_score}, expected {expected} "
            f"(broken questions: {sorted(breaks)})\n{course.outputs[student].get(grade_id, '')[-1500:]}"
        )
    for grade_id, phrase in breaks.items():
        text = course.outputs[student][grade_id]
        assert phrase.lower() in text.lower(), (
            f"{name}/{student}: the failure of {grade_id} does not say {phrase!r}; the student sees:\n{text[-1500:]}")


@pytest.mark.parametrize(("name", "student"), _correct_cases())
def test_correct_alternatives_earn_full_marks(graded, name: str, student: str) -> None:
    scores = graded[name].scores[student]
    lost = {k: v for k, v in scores.items() if k not in SUITES[name].MANUAL and v[0] != v[1]}
    assert not lost, f"{name}/{student} (a correct alternative) loses points on {lost}:\n" + "\n".join(
        graded[name].outputs[student].get(k, "")[-800:] for k in lost)


def test_chemdl_autograde_agrees_with_nbgrader_on_every_submission(course: Course) -> None:
    assert not course.chemdl_failures, f"chemdl grade autograde failed: {course.chemdl_failures}"
    manual = SUITES[course.name].MANUAL
    for student, scores in course.scores.items():
        ours = course.chemdl_scores.get(student)
        assert ours is not None, f"{course.name}/{student} was not graded by chemdl grade autograde"
        nbgrader = {k: v[0] for k, v in scores.items() if k not in manual}
        chemdl = {k: v for k, v in ours.items() if k not in manual}
        assert chemdl == nbgrader, (f"{course.name}/{student}: nbgrader and chemdl grade autograde disagree: "
                                    f"nbgrader {nbgrader}, chemdl {chemdl}")
