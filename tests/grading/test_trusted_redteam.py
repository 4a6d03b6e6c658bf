"""Red-team findings against the *trusted* side of the grader (issue #16), one test each.

Each of these failed before its fix: a module object named ``chemdl_utils.__main__`` made the
grader run the CLI; one slow student held a lock every classmate's hidden tests waited on; a cell
of hidden-test markers froze the sanitizer; tiny payloads declaring huge arrays, layers or graphs
made the grader allocate before refusing; molecules crossed as a Mol block (``[NH4+]``'s written
hydrogens became implicit); and in-place changes to a test's arguments were invisible.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import copy
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chemdl_utils.grading import bridge, codec, grader, isolation
from chemdl_utils.grading.limits import Limits
from chemdl_utils.grading.hidden import hidden_test_blocks, remove_hidden_tests
from chemdl_utils.grading.codec import CodecError
from chemdl_utils.grading.redact import sanitize_notebook

# --------------------------------------------------------------------------- a tiny course


def _meta(**kw: object) -> dict:
    nbg = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    nbg.update(kw)
    return {"nbgrader": nbg}


_SETUP = "import numpy as np\nfrom rdkit import Chem"
_ANSWERS = {
    "relu": "def relu(x):\n    return np.maximum(x, 0.0)",
    "total_h": "def total_h(mol):\n    return mol.GetAtomWithIdx(0).GetTotalNumHs()",
    "slow": "def square(v):\n    return v * v",
}
_TESTS = {
    # the task says: relu must not modify its input
    "test_relu": ("assert np.allclose(relu(np.array([-1.0, 2.0])), [0.0, 2.0])\n"
                  "### BEGIN HIDDEN TESTS\n"
                  "x = np.array([-3.0, 0.5, -0.25])\n"
                  "y = relu(x)\n"
                  "assert np.allclose(y, [0.0, 0.5, 0.0]), 'wrong values'\n"
                  "assert np.allclose(x, [-3.0, 0.5, -0.25]), 'relu modified its input array'\n"
                  "### END HIDDEN TESTS"),
    # methane's hydrogens are implicit, ammonium's are written in the brackets
    "test_total_h": ("assert total_h(Chem.MolFromSmiles('C')) == 4\n"
                     "### BEGIN HIDDEN TESTS\n"
                     "assert total_h(Chem.MolFromSmiles('[NH4+]')) == 4, 'hydrogens written in brackets count too'\n"
                     "### END HIDDEN TESTS"),
    "test_slow": ("assert square(3) == 9\n"
                  "### BEGIN HIDDEN TESTS\n"
                  "for v in range(4):\n"
                  "    assert square(v) == v * v\n"
                  "### END HIDDEN TESTS"),
}


def _source() -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Tiny", metadata=_meta(grade_id="intro", locked=True)),
             new_code_cell(_SETUP, metadata=_meta(grade_id="setup", locked=True))]
    for (answer_id, answer), (test_id, test) in zip(_ANSWERS.items(), _TESTS.items()):
        body = "\n".join("    " + line for line in answer.splitlines()[1:])
        head = answer.splitlines()[0]
        cells.append(new_code_cell(f"{head}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION",
                                   metadata=_meta(grade_id=answer_id, solution=True)))
        cells.append(new_code_cell(test, metadata=_meta(grade_id=test_id, grade=True, locked=True, points=2)))
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def _submission(**answers: str) -> nbformat.NotebookNode:
    nb = _source()
    for cell in nb.cells:
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid in answers:
            cell.source = answers[gid]
        elif gid in _ANSWERS:
            cell.source = _ANSWERS[gid]
    return nb


LIMITS = Limits(cell_timeout=10, notebook_timeout=45, memory_bytes=3 * 2**30, max_processes=48)


@pytest.fixture(scope="module")
def scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="chemdl-redteam-"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _grade(scratch: Path, submission: nbformat.NotebookNode, limits=LIMITS) -> grader.SecureGradeResult:
    wd = Path(tempfile.mkdtemp(dir=scratch))
    return grader.grade_notebook(_source(), submission, wd, limits)


def _points(result: grader.SecureGradeResult) -> dict[str, float]:
    assert result.status == "ok", result.reason
    return {s.grade_id: s.points for s in result.scores}


# --------------------------------------------------------------------------- one student stops the class


def test_a_module_named_like_the_cli_is_never_imported_for_a_student():
    assert bridge._trusted_module("chemdl_utils.__main__") is None
    assert bridge._trusted_module("chemdl_utils.cli") is None
    assert bridge._trusted_module("os") is None
    assert bridge._trusted_module("numpy") is np
    assert "chemdl_utils.__main__" not in bridge.BINDABLE_MODULES


def test_importing_the_package_main_module_does_not_run_the_command():
    import importlib
    import sys

    sys.modules.pop("chemdl_utils.__main__", None)
    module = importlib.import_module("chemdl_utils.__main__")  # raised SystemExit before the fix
    assert callable(module.main)


def test_an_answer_that_is_a_module_object_is_graded_not_imported(scratch):
    fake = "import types\nrelu = types.ModuleType('chemdl_utils.__main__')"
    result = _grade(scratch, _submission(relu=fake))
    points = _points(result)
    assert points["test_relu"] == 0 and points["test_total_h"] == 2


def test_a_student_slow_only_under_the_grader_does_not_delay_a_classmate(scratch):
    """Before: one lock around every hidden test of every submission, so the honest student
    waited the slow student's whole budget and ran out of notebook time."""
    slow = ("import time\n_calls = [0]\n"
            "def square(v):\n    _calls[0] += 1\n    if _calls[0] > 1:\n        time.sleep(18)\n    return v * v")
    # a shared lock would make the honest student wait up to 4 x 18 s for the slow one's hidden tests,
    # past this 75 s limit; alone, even on a busy machine, grading the honest one takes far less
    limits = Limits(cell_timeout=20, notebook_timeout=75, memory_bytes=3 * 2**30, max_processes=48)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        slow_f = pool.submit(_grade, scratch, _submission(slow=slow), limits)
        time.sleep(1.0)
        honest_f = pool.submit(_grade, scratch, _submission(), limits)
        honest, slow_result = honest_f.result(), slow_f.result()
    assert honest.status == "ok", honest.reason
    assert _points(honest) == {"test_relu": 2, "test_total_h": 2, "test_slow": 2}
    assert slow_result.status in ("ok", "timeout")


def test_hidden_test_markers_are_parsed_in_linear_time():
    flood = "### BEGIN HIDDEN TESTS\n" * 200_000  # the old multi-line regex needed hours for this
    start = time.monotonic()
    assert remove_hidden_tests(flood) == ""
    nb = new_notebook(cells=[new_markdown_cell(flood), new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nsecret\n"
                                                                     "### END HIDDEN TESTS\ny = 2")])
    clean = sanitize_notebook(nb, _source())
    assert time.monotonic() - start < 30
    assert clean.cells[1].source == "x = 1\ny = 2"


def test_the_one_hidden_test_parser():
    text = "a\n  ## BEGIN HIDDEN TESTS\nsecret 1\n### END HIDDEN TESTS tail\nb\n### BEGIN HIDDEN TESTS\nsecret 2"
    assert remove_hidden_tests(text) == "a\nb\n"
    assert hidden_test_blocks(text) == ["secret 1\n", "secret 2"]
    assert remove_hidden_tests("no markers\n") == "no markers\n"


# --------------------------------------------------------------------------- decoding is bounded


def _npy_header(shape: tuple[int, ...]) -> str:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return base64.b64encode(buf.getvalue()).decode()


def test_a_tiny_payload_declaring_a_huge_array_is_refused_before_allocation():
    with pytest.raises(CodecError, match="larger than the grader accepts"):
        codec.decode({"t": "nd", "v": _npy_header((10**10,))})
    with pytest.raises(CodecError, match="does not hold the data"):
        codec.decode({"t": "torch", "v": _npy_header((1000,))})


def test_a_huge_linear_layer_or_graph_is_refused_before_allocation():
    layer = codec.encode(torch.nn.Linear(3, 2))
    forged = copy.deepcopy(layer)
    forged["args"]["v"][0][1]["v"] = forged["args"]["v"][1][1]["v"] = "200000"
    with pytest.raises(CodecError, match="larger than the grader accepts"):
        codec.decode(forged)
    wrong_shape = copy.deepcopy(layer)
    wrong_shape["args"]["v"][0][1]["v"] = "4"
    with pytest.raises(CodecError, match="does not fit"):
        codec.decode(wrong_shape)
    rebuilt = codec.decode(layer)
    assert rebuilt.weight.device.type == "cpu" and rebuilt.weight.shape == (2, 3)

    from torch_geometric.data import Data

    with pytest.raises(CodecError, match="nodes"):
        codec.decode(codec.encode(Data(x=torch.zeros(2, 1), num_nodes=200_000_000)))
    with pytest.raises(CodecError, match="outside"):
        codec.decode(codec.encode(Data(x=torch.zeros(2, 1),
                                                       edge_index=torch.tensor([[0], [10**9]]))))


def test_one_submission_cannot_send_the_grader_unbounded_data(scratch):
    big = "def square(v):\n    import numpy as np\n    return np.ones(2_000_000)"
    limits = copy.copy(LIMITS)
    old = grader.MAX_RECEIVED_BYTES
    grader.MAX_RECEIVED_BYTES = 10 * 2**20  # one call sends ~21 MiB of base64
    try:
        result = _grade(scratch, _submission(slow=big), limits)
    finally:
        grader.MAX_RECEIVED_BYTES = old
    failed = {s.grade_id: s.message for s in result.scores if not s.passed}
    assert "test_slow" in failed and "MiB" in failed["test_slow"], failed


# --------------------------------------------------------------------------- a test means what it says


def test_molecules_reach_the_student_exactly_as_the_test_built_them():
    from rdkit import Chem

    mol = Chem.MolFromSmiles("[NH4+]")
    mol.SetProp("note", "kept")
    back = codec.decode(codec.encode(mol))
    atom = back.GetAtomWithIdx(0)
    assert (atom.GetNumImplicitHs(), atom.GetNumExplicitHs(), atom.GetTotalNumHs()) == (0, 4, 4)
    assert back.GetProp("note") == "kept"
    with pytest.raises(CodecError):
        codec.decode({"t": "mol", "v": base64.b64encode(b"not a molecule").decode()})


def test_copy_back_makes_in_place_changes_visible():
    from torch_geometric.data import Data

    x = np.array([-1.0, 2.0])
    t = torch.tensor([1.0, -1.0])
    items = [np.zeros(2), 3]
    graph = Data(x=torch.zeros(2, 1))
    bridge.copy_back([x, t, items, graph],
                            [np.array([0.0, 2.0]), torch.tensor([1.0, 0.0]), [np.ones(2), 4],
                             Data(x=torch.ones(2, 1))])
    assert x.tolist() == [0.0, 2.0] and t.tolist() == [1.0, 0.0]
    assert items[0].tolist() == [1.0, 1.0] and items[1] == 4
    assert graph.x.sum().item() == 2.0


def test_wrong_answers_that_only_the_kernel_path_used_to_pass_now_fail(scratch):
    in_place = "def relu(x):\n    x[x < 0] = 0.0\n    return x"
    implicit = "def total_h(mol):\n    return mol.GetAtomWithIdx(0).GetNumImplicitHs()"
    wrong = _points(_grade(scratch, _submission(relu=in_place, total_h=implicit)))
    assert wrong["test_relu"] == 0 and wrong["test_total_h"] == 0 and wrong["test_slow"] == 2
    right = _points(_grade(scratch, _submission()))
    assert right == {"test_relu": 2, "test_total_h": 2, "test_slow": 2}


# --------------------------------------------------------------------------- hardening


def _sandboxed(code: str, wd: Path, limits: Limits | None = None):
    import subprocess
    import sys

    cmd, env = isolation._wrap([sys.executable, "-c", code], wd, limits or Limits(), "bwrap")
    try:
        return subprocess.run(cmd, env=env, cwd=wd, capture_output=True, text=True, timeout=120)
    finally:
        isolation.release_sandbox(wd)


@pytest.fixture
def bwrap_workdir(scratch):
    if "bwrap" not in isolation.available_levels():
        pytest.skip("UNAVAILABLE: bubblewrap does not work here; run `make sysdeps` as root")
    return Path(tempfile.mkdtemp(dir=scratch))


def test_the_sandbox_pid_1_shows_no_host_paths_and_no_nested_user_namespaces(bwrap_workdir):
    code = ("import os, subprocess\n"
            "print(open('/proc/1/cmdline', 'rb').read().replace(b'\\0', b' ').decode())\n"
            "print('USERNS', subprocess.run(['unshare', '-U', 'true'], capture_output=True).returncode)\n"
            "print('FDS', sorted(os.listdir('/proc/self/fd')))")
    done = _sandboxed(code, bwrap_workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    cmdline = done.stdout.splitlines()[0]
    assert "--ro-bind" not in cmdline and str(bwrap_workdir) not in cmdline, cmdline
    assert "--args" in cmdline
    assert "USERNS 0" not in done.stdout  # creating a user namespace inside the sandbox fails
    assert "FDS ['0', '1', '2', '3']" in done.stdout  # 3 is listdir's own: the args descriptor is closed


def test_a_notebook_cannot_fill_the_host_disk(scratch, bwrap_workdir):
    writer = ("import time\n"
              "def square(v):\n    return v * v\n"
              "for i in range(3):\n"
              "    with open(f'big{i}.bin', 'wb') as fh:\n"
              "        for _ in range(60):\n"
              "            fh.write(b'x' * 2**20)\n"
              "            fh.flush()\n"
              "            time.sleep(0.02)  # a steady writer: the watch must stop it mid-way, even on a busy machine")
    limits = Limits(cell_timeout=30, notebook_timeout=90, max_disk_bytes=64 * 2**20,
                                     max_file_bytes=100 * 2**20)
    wd = bwrap_workdir
    result = grader.grade_notebook(_source(), _submission(slow=writer), wd, limits)
    assert result.status == "ok", result.reason
    text = json_text(result.notebook)
    assert "MiB of files" in text, [n for n in result.notes]
    left = sum(p.stat().st_size for p in wd.rglob("*.bin"))
    assert left <= 64 * 2**20, f"{left / 2**20:.0f} MiB still on disk"


def json_text(nb) -> str:
    import json

    return json.dumps(nb)


def test_the_editable_install_does_not_tell_the_sandbox_where_the_course_lives(bwrap_workdir):
    package, files = isolation._editable_install()
    if package is None:
        pytest.skip("chemdl_utils is not an editable install here: nothing names its source folder")
    code = ("import sys, chemdl_utils.checks\n"
            "print('PKG', chemdl_utils.checks.__file__)\n"
            f"for f in {files!r}:\n"
            "    try:\n"
            "        print('READ', open(f).read())\n"
            "    except OSError as exc:\n"
            "        print('HIDDEN', type(exc).__name__)\n")
    done = _sandboxed(code, bwrap_workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"PKG {isolation.SANDBOX_PACKAGE_ROOT}/chemdl_utils/checks.py" in done.stdout
    assert package not in done.stdout.replace(f"PKG {isolation.SANDBOX_PACKAGE_ROOT}", ""), done.stdout
