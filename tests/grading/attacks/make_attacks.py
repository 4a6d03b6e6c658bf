"""Write the fixture notebooks of ``test_security.py`` (run: ``python tests/grading/attacks/make_attacks.py``).

``source.ipynb`` is a tiny nbgrader source notebook (solutions and hidden tests, 5 points);
``source_torch.ipynb`` one with a tensor answer checked by ``torch.allclose``. Every other
notebook is a *submission*: the released notebook with a student's answers, most of them attacks
on the grader. The expected outcome of each is asserted in ``test_security.py``.

Attack notebooks that need paths (the instructor's files, another student's copy, the gradebook)
read them from ``targets.json`` in their working copy, which the test writes: the worst case of a
student who knows the instructor's layout.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
#: appears only inside hidden tests; must never reach a student
HIDDEN_MARKER = "HIDDEN-MARKER-7f3a9c"
#: appears only inside solutions; must never reach a student
SOLUTION_MARKER = "SOLUTION-MARKER-51be"


def _meta(**kw: object) -> dict:
    nbg = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    nbg.update(kw)
    return {"nbgrader": nbg}


_KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

SOURCE_CELLS = [
    ("md", "# Tiny assignment\nAnswer each question; tests follow.", _meta(grade_id="intro", locked=True)),
    ("code", "import numpy as np", _meta(grade_id="setup", locked=True)),
    ("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    # " + SOLUTION_MARKER + "\n    return a + b\n    ### END SOLUTION",
     _meta(grade_id="add", solution=True)),
    ("code", "assert add(1, 2) == 3, 'add(1, 2) should be 3'\n### BEGIN HIDDEN TESTS\n# " + HIDDEN_MARKER
     + "\nassert add(20, 22) == 42, 'add(20, 22) should be 42'\nassert add(-5, 5) == 0\n### END HIDDEN TESTS",
     _meta(grade_id="test_add", grade=True, locked=True, points=2)),
    ("code", "def scale(x):\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(x, dtype=float)\n    ### END SOLUTION",
     _meta(grade_id="scale", solution=True)),
    ("code", "assert np.allclose(scale([1, 2]), [2, 4])\n### BEGIN HIDDEN TESTS\n"
     "from chemdl_utils.checks import check_array\n"
     "check_array(scale(np.arange(4.0)), np.array([0.0, 2.0, 4.0, 6.0]), name='scale')\n"
     "assert np.allclose(scale([0.5]), [1.0])\n### END HIDDEN TESTS",
     _meta(grade_id="test_scale", grade=True, locked=True, points=2)),
    ("code", "value = None\n### BEGIN SOLUTION\nvalue = 0.25 + 0.25\n### END SOLUTION",
     _meta(grade_id="value", solution=True)),
    ("code", "from chemdl_utils.checks import check_float\ncheck_float(value, None, 'value')\n"
     "### BEGIN HIDDEN TESTS\ncheck_float(value, 0.5, 'value')\n### END HIDDEN TESTS",
     _meta(grade_id="test_value", grade=True, locked=True, points=1)),
]

TORCH_CELLS = [
    ("code", "import torch", _meta(grade_id="tsetup", locked=True)),
    ("code", "def double(t):\n    ### BEGIN SOLUTION\n    return t * 2\n    ### END SOLUTION",
     _meta(grade_id="double", solution=True)),
    ("code", "assert torch.allclose(double(torch.ones(2)), torch.full((2,), 2.0))\n### BEGIN HIDDEN TESTS\n"
     "assert torch.allclose(double(torch.arange(3.0)), torch.tensor([0.0, 2.0, 4.0]))\n"
     "assert torch.equal(double(torch.tensor([1, 2])), torch.tensor([2, 4]))\n### END HIDDEN TESTS",
     _meta(grade_id="test_double", grade=True, locked=True, points=3)),
    ("code", "### BEGIN SOLUTION\nmodel = torch.nn.Linear(3, 2)\n### END SOLUTION", _meta(grade_id="model", solution=True)),
    ("code", "out = model(torch.ones(4, 3))\nassert out.shape == (4, 2), 'model maps 3 features to 2 outputs'\n"
     "### BEGIN HIDDEN TESTS\nassert sum(p.numel() for p in model.parameters() if p.requires_grad) == 8\n"
     "assert isinstance(model, torch.nn.Linear) or model.student_type.endswith('Linear')\n### END HIDDEN TESTS",
     _meta(grade_id="test_model", grade=True, locked=True, points=2)),
]


def _build(cells: list[tuple[str, str, dict]]) -> nbformat.NotebookNode:
    out = []
    for kind, src, meta in cells:
        out.append(new_markdown_cell(src, metadata=meta) if kind == "md" else new_code_cell(src, metadata=meta))
    return new_notebook(cells=out, metadata=dict(_KERNEL))


def _released(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    import re

    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
        cell.source = re.sub(r"( *)### BEGIN SOLUTION.*?### END SOLUTION",
                             lambda m: m.group(1) + "# YOUR CODE HERE\n" + m.group(1) + "raise NotImplementedError()",
                             cell.source, flags=re.S)
    return nb


def submission(answers: dict[str, str], extra: dict[str, str] | None = None, torch: bool = False,
               kernel: str | None = None) -> nbformat.NotebookNode:
    """The released notebook with ``answers`` (grade id -> source) and ``extra`` cells inserted
    after the cell with that grade id (key ``"<grade_id>"``) or at the end (key ``"end"``)."""
    nb = _released(_build(TORCH_CELLS if torch else SOURCE_CELLS))
    cells = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
        cells.append(cell)
        if extra and gid in extra:
            cells.append(new_code_cell(extra[gid]))
    if extra and "end" in extra:
        cells.append(new_code_cell(extra["end"]))
    nb.cells = cells
    if kernel:
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    return nb


GOOD = {
    "add": "def add(a, b):\n    return a + b",
    "scale": "def scale(x):\n    return np.asarray(x, dtype=float) * 2.0",
    "value": "value = 1 / 2",
}

_SNOOP = r'''
import json, os, glob
targets = json.load(open("targets.json"))
loot = {}
for name, path in targets.items():
    try:
        if os.path.isdir(path):
            loot[name] = "LISTED " + " ".join(os.listdir(path))
        else:
            with open(path, "rb") as fh:
                loot[name] = "READ " + fh.read().decode("utf-8", "replace")
    except Exception as exc:
        loot[name] = "denied: " + type(exc).__name__
loot["env"] = dict(os.environ)
loot["tests_in_history"] = "\n".join(get_ipython().history_manager.input_hist_raw)
for pattern in ("/work/*", "/root/*", "/home/*", "/srv/*", os.path.dirname(os.getcwd()) + "/*"):
    loot["glob " + pattern] = glob.glob(pattern)
print(json.dumps(loot, default=str))
'''

_SNOOP_HOOK = r'''
# print the source of every cell the kernel runs from now on (would leak hidden tests run here)
get_ipython().events.register("pre_run_cell", lambda info: print("CELL>", info.raw_cell))
'''

_WRITE = r'''
import json, os, sqlite3
targets = json.load(open("targets.json"))
results = {}
for name in ("other_notebook", "gradebook", "solutions_notebook"):
    try:
        with open(targets[name], "a") as fh:
            fh.write("\n# pwned by the attacker\n")
        results[name] = "WROTE"
    except Exception as exc:
        results[name] = "denied: " + type(exc).__name__
try:
    con = sqlite3.connect(targets["gradebook"])
    con.execute("UPDATE grade SET auto_score = 999")
    con.commit()
    results["sql"] = "WROTE"
except Exception as exc:
    results["sql"] = "denied: " + type(exc).__name__
for path in ("/tmp/chemdl-attack-outside", os.path.join(os.path.dirname(os.getcwd()), "attack-sibling")):
    try:
        open(path, "w").write("x")
        results[path] = "WROTE"
    except Exception as exc:
        results[path] = "denied: " + type(exc).__name__
print(json.dumps(results))
'''

ATTACKS: dict[str, nbformat.NotebookNode] = {}


def _attacks() -> dict[str, nbformat.NotebookNode]:
    a = {}
    a["good"] = submission(GOOD)
    a["released"] = submission({})
    a["eq_cheat"] = submission({
        "add": "class Anything:\n    def __eq__(self, other): return True\n    __ne__ = lambda self, o: False\n"
               "    def __float__(self): return 0.5\n    def __bool__(self): return True\n"
               "def add(a, b):\n    return Anything()",
        "scale": "class Arr(list):\n    def __eq__(self, other): return True\n"
                 "def scale(x):\n    return Anything()",
        "value": "class F(float):\n    def __eq__(self, other): return True\n    def __sub__(self, o): return 0.0\n"
                 "    def __rsub__(self, o): return 0.0\n    def __abs__(self): return 0.0\nvalue = F(0.1)",
    })
    a["monkeypatch"] = submission({
        "add": "def add(a, b):\n    return a - b",
        "scale": "import numpy, builtins\nimport chemdl_utils.checks as checks\n"
                 "numpy.allclose = lambda *a, **k: True\nnp.allclose = numpy.allclose\nnumpy.array_equal = numpy.allclose\n"
                 "checks.check_array = lambda *a, **k: None\nchecks.check_float = lambda *a, **k: None\n"
                 "import sys\nsys.modules['chemdl_utils.checks'].check_array = checks.check_array\n"
                 "class NoFail(Exception):\n    pass\nbuiltins.AssertionError = NoFail\n"
                 "def scale(x):\n    return [0]",
        "value": "value = 7.0",
    }, extra={"end": "import numpy\nnumpy.allclose = lambda *a, **k: True\n"})
    a["torch_good"] = submission({"double": "def double(t):\n    return t + t",
                                  "model": "model = torch.nn.Sequential(torch.nn.Linear(3, 2))[0]"}, torch=True)
    a["torch_patch"] = submission({"double": "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                                             "torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)\n"
                                             "def double(t):\n    return t"}, torch=True)
    a["snoop"] = submission(GOOD, extra={"setup": _SNOOP_HOOK, "end": _SNOOP})
    a["write"] = submission(GOOD, extra={"end": _WRITE})
    a["memory_bomb"] = submission({**GOOD, "scale": "chunks = []\nwhile True:\n    chunks.append(bytearray(256 * 2**20))\n"})
    a["fork_bomb"] = submission({**GOOD, "scale": "import os, time\nwhile True:\n    if os.fork() == 0:\n"
                                                  "        time.sleep(600)\n        os._exit(0)\n"})
    a["huge_output"] = submission(GOOD, extra={"add": "for i in range(3000):\n    print('x' * 100)\n",
                                               "scale": "import sys\nsys.stdout.write('y' * 3_000_000)\n"
                                                        "sys.stdout.flush()\n"})
    a["crash"] = submission(GOOD, extra={"test_add": "import os\nos._exit(1)\n"})
    a["system_exit"] = submission(GOOD, extra={"add": "raise SystemExit('bye')\n", "test_add": "import sys\nsys.exit(3)\n"})
    a["bad_kernel"] = submission(GOOD, kernel="no-such-kernel-xyz")
    a["infinite_loop"] = submission({**GOOD, "value": "while True:\n    pass"})
    a["slow_in_test"] = submission({**GOOD, "add": "def add(a, b):\n    if (a, b) == (20, 22):\n"
                                                   "        while True:\n            pass\n    return a + b"})
    return a


def main() -> None:
    nbformat.write(_build(SOURCE_CELLS), HERE / "source.ipynb")
    nbformat.write(_build(TORCH_CELLS), HERE / "source_torch.ipynb")
    for name, nb in _attacks().items():
        nbformat.write(nb, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
