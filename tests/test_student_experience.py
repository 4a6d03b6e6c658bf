"""What a student meets: test cells that say what to do, one-line failures in a real kernel, type
mistakes with a hint, a finished early-stopping bar, RDKit's reason for a bad SMILES, and a
JupyterLab without the instructor's tools."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from chemdl_utils.checks import CheckFailed, check_array, check_callable, question, type_mistake_hint

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


# ------------------------------------------------------------------------------ question()


def _fails(block) -> str:
    with pytest.raises(CheckFailed) as info:
        with question("Q1"):
            block()
    return str(info.value)


def test_question_confirms_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with question("Q4b"):
        check_array(np.ones(2), [1.0, 1.0], "q4b")
    assert capsys.readouterr().out == "Q4b: visible checks passed\n"


def test_unanswered_question_says_so_instead_of_a_bare_error() -> None:
    def neuron(x, w, b):
        raise NotImplementedError()

    message = _fails(lambda: neuron(1, 2, 3))
    assert message.startswith("Q1 is not answered yet: replace `raise NotImplementedError()`")


def test_a_name_the_task_asks_for_that_is_missing_is_not_answered_yet() -> None:
    namespace: dict = {"question": question}
    with pytest.raises(CheckFailed, match=r"Q1 is not answered yet: `sigmoid` is not defined.*keep the name `sigmoid`"):
        exec("with question('Q1'):\n    sigmoid(0.0)\n", namespace)  # noqa: S102 - the test cell


def test_failed_checks_and_unknown_errors_pass_through_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CheckFailed, match="q1 value"):
        with question("Q1"):
            check_array(np.zeros(2), [1.0, 1.0], "q1 value")
    with pytest.raises(ZeroDivisionError):
        with question("Q1"):
            1 / 0
    with pytest.raises(KeyboardInterrupt):
        with question("Q1"):
            raise KeyboardInterrupt
    assert "passed" not in capsys.readouterr().out
    with pytest.raises(TypeError, match="label"):
        question("")


@pytest.mark.parametrize(
    "mistake, phrase",
    [
        (lambda: math.exp(np.array([1.0, 2.0])), "np.exp"),                        # math.exp on an array
        (lambda: math.exp([1.0, 2.0]), "np.array"),                                  # math on a list
        (lambda: [1.0, 2.0] * 0.5, "np.array"),                                      # list arithmetic
        (lambda: [1.0, 2.0].shape, "np.array"),                                      # list instead of array
        (lambda: torch.sigmoid(np.zeros(3)), "torch.from_numpy"),                    # numpy into torch
        (lambda: np.zeros(3).detach(), "torch.tensor"),                              # numpy where torch was meant
        (lambda: torch.zeros(2).astype(np.float32), "detach().numpy()"),             # torch where numpy was meant
        (lambda: torch.zeros(2, requires_grad=True).numpy(), "detach()"),            # numpy() on a graph tensor
    ],
)
def test_common_type_mistakes_get_a_hint(mistake, phrase: str) -> None:
    message = _fails(mistake)
    assert message.startswith("Q1: your code raised "), message
    assert "Hint:" in message and phrase in message, message


def test_type_mistake_hint_is_none_for_other_errors() -> None:
    assert type_mistake_hint(TypeError("f() missing 1 required positional argument: 'b'")) is None
    assert "np.exp" in type_mistake_hint("TypeError: only length-1 arrays can be converted to Python scalars")


def test_secure_grading_errors_are_recognised_by_their_text() -> None:
    class StudentCodeError(Exception):  # what chemdl_utils.grading.bridge raises for the student's error
        pass

    with pytest.raises(CheckFailed, match="Q1 is not answered yet"):
        with question("Q1"):
            raise StudentCodeError("NotImplementedError: ")
    with pytest.raises(CheckFailed, match="np.exp"):
        with question("Q1"):
            raise StudentCodeError("TypeError: only 0-dimensional arrays can be converted to Python scalars")
    with pytest.raises(StudentCodeError):
        with question("Q1"):
            raise StudentCodeError("ValueError: something else")


def test_check_callable_on_none_asks_whether_the_answer_cell_ran() -> None:
    with pytest.raises(CheckFailed, match="answer cell above"):
        check_callable(None, "q1 neuron")


# ------------------------------------------------------------------------------ a real kernel


def _released_cells(name: str, upto: str) -> list:
    nb = nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == upto:
            return cells
    raise AssertionError(f"{upto} not found in the released {name} notebook")


def _error_lines(cell) -> list[list[str]]:
    return [out["traceback"] for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def _stream(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def test_released_notebook_in_a_real_kernel_shows_one_line_per_test_cell(tmp_path: Path) -> None:
    """The released neurons notebook, run by nbclient: a right Q1 is confirmed, a Q2 written with
    ``math.exp`` gets the hint, an unanswered Q3 says so; each failure is exactly one line."""
    from nbclient import NotebookClient

    cells = _released_cells("neurons", "q3-tests")
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in cells}
    by_id["q1-neuron-forward"].source = (
        "def neuron(x, w, b):\n    return 1.0 / (1.0 + math.exp(-(float(np.dot(w, x)) + b)))\n")
    by_id["q2-activations"].source = (
        "def sigmoid(z):\n    return 1.0 / (1.0 + math.exp(-z))\n"
        "def relu(z):\n    return np.maximum(0.0, z)\n"
        "def leaky_relu(z):\n    return np.maximum(0.1 * z, z)\n"
        "def elu(z, alpha=1.0):\n    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0.0)) - 1.0))\n")
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                        "language": "python"}})
    env_before = os.environ.get("CHEMDL_PROGRESS")
    client = NotebookClient(nb, timeout=240, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    finally:
        if env_before is not None:
            os.environ["CHEMDL_PROGRESS"] = env_before

    assert _stream(by_id["q1-tests"]).strip() == "Q1: visible checks passed"
    assert not _error_lines(by_id["q1-tests"])

    (q2,) = _error_lines(by_id["q2-tests"])
    assert len(q2) == 1, q2
    assert q2[0].startswith("CheckFailed: Q2: your code raised TypeError"), q2
    assert "np.exp" in q2[0] and "in `sigmoid`" in q2[0], q2

    (q3,) = _error_lines(by_id["q3-tests"])
    assert len(q3) == 1, q3
    assert q3[0].startswith("CheckFailed: Q3 is not answered yet: replace `raise NotImplementedError()`"), q3


def test_the_sandboxed_grader_says_which_questions_are_not_answered(tmp_path: Path) -> None:
    """Feedback from ``chemdl grade`` (tests evaluated outside the student's sandboxed kernel) reads
    like the student's own run: one "not answered yet" line per question, naming the missing name."""
    import shutil

    from chemdl_utils.grading import grader
    from chemdl_utils.grading.limits import Limits

    released = nbformat.read(REPO / "exercises" / "neurons" / "neurons.ipynb", as_version=4)
    source = nbformat.read(REPO / "solutions" / "neurons" / "neurons.ipynb", as_version=4)
    workdir = tmp_path / "work"
    shutil.copytree(REPO / "exercises" / "neurons", workdir)
    os.chmod(tmp_path, 0o711)
    result = grader.grade_notebook(source, nbformat.from_dict(json.loads(json.dumps(released))), workdir,
                                   Limits(cell_timeout=60, notebook_timeout=300), released=released)
    assert result.status == "ok", result.reason
    messages = {v.grade_id: v.message for v in result.scores}
    assert set(messages) >= {"q1-tests", "q2-tests", "q6-tests"} and result.total == 0
    for grade_id, message in messages.items():
        number = re.fullmatch(r"q(\w+)-tests", grade_id).group(1)
        assert message.startswith(f"CheckFailed: Q{number} is not answered yet: "), message
    assert messages["q1-tests"].endswith("replace `raise NotImplementedError()` in the answer cell with your code.")
    assert "`sigmoid` is not defined" in messages["q2-tests"] and "`losses` is not defined" in messages["q6-tests"]
    shown = [o for c in result.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-tests"
             for o in c.get("outputs", [])]
    assert [o.get("evalue") for o in shown] == [messages["q1-tests"]]  # the feedback shows that one line


def test_every_test_cell_of_every_assignment_is_a_question() -> None:
    """Each autograded test cell runs inside ``with question("Qn"):`` so its failures read as above."""
    for source in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                number = re.fullmatch(r"q(\w+)-tests", meta["grade_id"]).group(1)
                assert cell.source.startswith(f'with question("Q{number}"):\n'), (source.name, meta["grade_id"])


# ------------------------------------------------------------------------------ progress bar


def test_fit_finishes_the_bar_when_it_stops_early(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from chemdl_utils.train import fit

    monkeypatch.setenv("CHEMDL_PROGRESS", "1")
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    loader = [(x, y)]
    # min_delta larger than any change: epoch 1 is the best, patience 3 stops after epoch 4 of 60
    history = fit(torch.nn.Linear(3, 1), loader, loader, epochs=60, lr=1e-3, patience=3, min_delta=1e6,
                  seed=0, device="cpu")
    assert history.stopped_early and history.epochs_run == 4 and history.best_epoch == 1
    err = capsys.readouterr().err
    assert "stopped early at epoch 4, best 1" in err, err
    assert "4/4" in err and "4/60" not in err.split("stopped early")[-1], err


def test_notebook_bar_ends_green_with_the_reason() -> None:
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_tqdm

    from chemdl_utils.progress import finish_early

    bar = notebook_tqdm(None, total=60, leave=False, desc="epochs")
    for epoch in range(1, 61):
        bar.update(1)
        if epoch == 37:
            finish_early(bar, 37, 12)
            break
    bar.close()
    label, widget, _ = bar.container.children
    assert widget.bar_style == "success" and widget.max == 37 and widget.value == 37
    assert label.value.replace("\u2007", " ").startswith("stopped early at epoch 37, best 12")  # tqdm's figure spaces
    with pytest.raises(ValueError):
        finish_early(bar, 0)


# ------------------------------------------------------------------------------ RDKit's reason


def test_invalid_smiles_keeps_rdkits_reason() -> None:
    from chemdl_utils._rdkit import InvalidSmilesError, mol_from_smiles

    with pytest.raises(InvalidSmilesError) as info:
        mol_from_smiles("C(C)(C)(C)(C)C")  # a pentavalent carbon
    assert "Explicit valence for atom # 0 C, 5" in str(info.value)
    with pytest.raises(InvalidSmilesError, match="unclosed ring"):
        mol_from_smiles("C1CC")
    with pytest.raises(InvalidSmilesError, match=r"syntax error.*position 3"):
        mol_from_smiles("CC(")


# ------------------------------------------------------------------------------ JupyterLab for students

_INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list"}
_SERVER_PROBE = ("import json; from jupyter_server.serverapp import ServerApp; app = ServerApp(); "
                 "app.find_server_extensions(); "
                 "print(json.dumps({k: v for k, v in app.jpserver_extensions.items() if 'nbgrader' in k}))")


def _student_env(profile: str, home: Path) -> dict[str, str]:
    """The environment ``deploy/student/lab.sh`` starts JupyterLab in (its copy step run for real)."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(home)
    script = REPO / "deploy" / "student" / "lab.sh"
    # run lab.sh with `jupyter` replaced by a probe that prints the environment it would start with
    fake_bin = home / "bin"
    fake_bin.mkdir()
    (fake_bin / "jupyter").write_text("#!/bin/sh\necho \"$JUPYTER_CONFIG_DIR|$JUPYTER_PREFER_ENV_PATH\"\n")
    (fake_bin / "jupyter").chmod(0o755)
    done = subprocess.run(["sh", str(script), profile], env={**env, "PATH": f"{fake_bin}:{env['PATH']}"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    config_dir, prefer_env = done.stdout.strip().split("|")
    assert Path(config_dir) == home / "chemdl-student" / profile and prefer_env == "0"
    env["JUPYTER_CONFIG_DIR"], env["JUPYTER_PREFER_ENV_PATH"] = config_dir, prefer_env
    return env


@pytest.mark.parametrize("profile, assignments", [("offline", False), ("exchange", True)])
def test_student_lab_config_hides_instructor_tools(profile: str, assignments: bool, tmp_path: Path) -> None:
    pytest.importorskip("nbgrader")
    env = _student_env(profile, tmp_path)
    listing = subprocess.run([str(VENV_BIN / "jupyter"), "labextension", "list"], env=env, capture_output=True,
                             text=True, timeout=240)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert "@jupyter/nbgrader" in text, text
    disabled = set(re.findall(r"^\s+(@jupyter/nbgrader:[\w-]+)\s*$", text.split("Disabled extensions:")[-1], re.M))
    assert _INSTRUCTOR_PLUGINS <= disabled, text
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    assert ("@jupyter/nbgrader:assignment-list" in disabled) is not assignments
    assert ("@jupyter/nbgrader:menu" in disabled) is not assignments

    probe = subprocess.run([sys.executable, "-c", _SERVER_PROBE], env=env, capture_output=True, text=True,
                           timeout=240)
    assert probe.returncode == 0, probe.stderr
    resolved = json.loads(probe.stdout.strip().splitlines()[-1])
    assert resolved["nbgrader.server_extensions.formgrader"] is False
    assert resolved["nbgrader.server_extensions.course_list"] is False
    assert resolved["nbgrader.server_extensions.validate_assignment"] is True
    assert resolved["nbgrader.server_extensions.assignment_list"] is assignments


def test_without_the_student_config_the_instructor_tools_are_on() -> None:
    """The probe can fail: in the plain environment nbgrader's formgrader is enabled."""
    pytest.importorskip("nbgrader")
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_DIR", "JUPYTER_PREFER_ENV_PATH")}
    probe = subprocess.run([sys.executable, "-c", _SERVER_PROBE], env=env, capture_output=True, text=True,
                           timeout=240)
    assert json.loads(probe.stdout.strip().splitlines()[-1])["nbgrader.server_extensions.formgrader"] is True
