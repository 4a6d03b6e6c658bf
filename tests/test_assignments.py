"""Grading round trip of the course's nbgrader assignments (run in CI).

For every assignment in ``solutions/``, inside a temporary course directory configured from the
repository's ``nbgrader_config.py`` (nothing is written into the repository):

1. ``generate_assignment`` reproduces ``exercises/<name>/`` exactly (volatile metadata aside), so
   the released notebooks are never hand-edited or stale;
2. the solution notebook scores full marks on every autograded cell;
3. the released notebook, unmodified, scores zero on every autograded cell;
4. plausible wrong answers (substituted into the released notebook's answer cells) lose exactly
   the points of the questions they break, and nothing else; an "always equal" object earns nothing;
   the "wrong-hidden" answers pass every visible test, so only the hidden tests catch them.

Each notebook is executed once per submission; one module-level fixture per assignment runs all
of its submissions, and the tests only read the gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("neurons", "graphs")

# the graded cells, their points and the answer cells each assignment must keep (stable ids)
EXPECTED_POINTS = {
    "neurons": {"q1-tests": 2, "q2-tests": 3, "q3-tests": 4, "q4-tests": 3, "q5-tests": 2, "q6-tests": 4,
                "q7-written": 2},
    "graphs": {"q1-tests": 3, "q2-tests": 4, "q3-tests": 4, "q4-tests": 2, "q5-tests": 3, "q6-tests": 2,
               "q7-tests": 3, "q8-written": 2},
}
MANUAL = {"neurons": {"q7-written"}, "graphs": {"q8-written"}}

_ALWAYS_EQUAL = '''
class _AlwaysEqual(float):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = float.__hash__
'''

# wrong answers: answer-cell grade_id -> replacement source; "breaks": the test cells that must fail
WRONG: dict[str, dict[str, tuple[dict[str, str], set[str]]]] = {
    "neurons": {
        "wrong-a": (
            {
                # forgets the bias
                "q1-neuron-forward": "def neuron(x, w, b):\n    return 1.0 / (1.0 + math.exp(-float(np.dot(w, x))))",
                # leaky ReLU with the common default slope 0.01 instead of the lecture's 0.1
                "q2-activations": (
                    "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"
                    "def relu(z):\n    return np.maximum(0.0, z)\n"
                    "def leaky_relu(z):\n    return np.maximum(0.01 * z, z)\n"
                    "def elu(z, alpha=1.0):\n    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1))"
                ),
                # layers without biases
                "q5-mlp": (
                    "def make_mlp(in_dim, hidden_dim):\n"
                    "    L = torch.nn.Linear\n"
                    "    return torch.nn.Sequential(L(in_dim, hidden_dim, bias=False), torch.nn.ReLU(),\n"
                    "        L(hidden_dim, hidden_dim, bias=False), torch.nn.ReLU(), L(hidden_dim, 1, bias=False))"
                ),
            },
            {"q1-tests", "q2-tests", "q5-tests"},
        ),
        "wrong-b": (
            {
                # an object that claims to equal anything
                "q1-neuron-forward": _ALWAYS_EQUAL + "def neuron(x, w, b):\n    return _AlwaysEqual(0.0)",
                # chain rule without the sigmoid's derivative
                "q3-backprop": (
                    "def neuron_gradients(x, w, b, t):\n"
                    "    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n"
                    "    return 2 * (y - t) * np.asarray(x, dtype=float), float(2 * (y - t))"
                ),
                # gradient without the factor 2
                "q4-gradient-descent": (
                    "def fit_linear(X, y, lr, epochs):\n"
                    "    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n"
                    "    for _ in range(epochs):\n"
                    "        r = X @ w + b - y\n"
                    "        losses.append(float(np.mean(r ** 2)))\n"
                    "        w, b = w - lr / len(y) * (X.T @ r), b - lr * float(np.mean(r))\n"
                    "    return w, b, losses\n"
                    "w_lin, b_lin, losses_lin = fit_linear(X_train, y_train, lr=0.05, epochs=300)\n"
                    "rmse_linear = float(np.sqrt(np.mean((X_test @ w_lin + b_lin - y_test) ** 2)))"
                ),
                # reports the MSE as "RMSE"
                "q6-train": (
                    "def train(model, X, y, epochs, lr):\n"
                    "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
                    "    losses = []\n"
                    "    for _ in range(epochs):\n"
                    "        opt.zero_grad()\n"
                    "        loss = torch.mean((model(X).squeeze(-1) - y) ** 2)\n"
                    "        loss.backward()\n"
                    "        opt.step()\n"
                    "        losses.append(loss.item())\n"
                    "    return losses\n"
                    "cu.seed_everything(0)\n"
                    "model = MLP(10, [32], 1)\n"
                    "losses = train(model, Xt_train, yt_train, epochs=300, lr=0.01)\n"
                    "with torch.no_grad():\n"
                    "    test_pred = model(Xt_test).squeeze(-1)\n"
                    "test_rmse = float(torch.mean((test_pred - yt_test) ** 2))"
                ),
            },
            {"q1-tests", "q3-tests", "q4-tests", "q6-tests"},
        ),
        # answers that pass every visible test and only fail hidden ones
        "wrong-hidden": (
            {
                # ReLU that zeroes its input in place
                "q2-activations": (
                    "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"
                    "def relu(z):\n    z[z < 0] = 0.0\n    return z\n"
                    "def leaky_relu(z):\n    return np.maximum(0.1 * z, z)\n"
                    "def elu(z, alpha=1.0):\n    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1))"
                ),
                # forgets the target t (right only when t = 0, as in the visible example)
                "q3-backprop": (
                    "def neuron_gradients(x, w, b, t):\n"
                    "    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n"
                    "    d = 2 * y * y * (1 - y)\n"
                    "    return d * np.asarray(x, dtype=float), float(d)"
                ),
                # RMSE on the training set instead of the test set
                "q4-gradient-descent": (
                    "def fit_linear(X, y, lr, epochs):\n"
                    "    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n"
                    "    for _ in range(epochs):\n"
                    "        r = X @ w + b - y\n"
                    "        losses.append(float(np.mean(r ** 2)))\n"
                    "        w, b = w - 2 * lr / len(y) * (X.T @ r), b - 2 * lr * float(np.mean(r))\n"
                    "    return w, b, losses\n"
                    "w_lin, b_lin, losses_lin = fit_linear(X_train, y_train, lr=0.05, epochs=300)\n"
                    "rmse_linear = float(np.sqrt(np.mean((X_train @ w_lin + b_lin - y_train) ** 2)))"
                ),
                # the second ReLU is missing (same parameter count)
                "q5-mlp": (
                    "def make_mlp(in_dim, hidden_dim):\n"
                    "    L = torch.nn.Linear\n"
                    "    return torch.nn.Sequential(L(in_dim, hidden_dim), torch.nn.ReLU(), L(hidden_dim, hidden_dim),\n"
                    "                               L(hidden_dim, 1))"
                ),
            },
            {"q2-tests", "q3-tests", "q4-tests", "q5-tests"},
        ),
    },
    "graphs": {
        "wrong-a": (
            {
                # heavy-atom degree (GetDegree) instead of all neighbours including hydrogens
                "q1-atom-features": (
                    "def lecture_atom_features(mol):\n"
                    "    return np.array([[a.GetAtomicNum(), a.GetDegree(), a.GetTotalNumHs(), a.GetFormalCharge(),\n"
                    "                      a.GetMass(), int(a.IsInRing())] for a in mol.GetAtoms()], dtype=np.float32)"
                ),
                # mean instead of sum aggregation
                "q3-message-passing": (
                    "def message_passing_step(x, edge_index):\n"
                    "    s, t = edge_index\n"
                    "    agg = torch.zeros_like(x).index_add_(0, t, x[s])\n"
                    "    deg = torch.zeros(x.shape[0]).index_add_(0, t, torch.ones(t.shape[0])).clamp(min=1)\n"
                    "    return x + agg / deg[:, None]"
                ),
                # relabels edges with perm instead of its inverse
                "q5-permute": "def permute_graph(x, edge_index, perm):\n    return x[perm], perm[edge_index]",
                # a head without bias: the architecture asked for has one
                "q6-gnn": (
                    "from torch_geometric.nn import GCNConv, global_add_pool\n"
                    "class TinyGNN(torch.nn.Module):\n"
                    "    def __init__(self, in_dim, hidden=64):\n"
                    "        super().__init__()\n"
                    "        self.conv1, self.conv2 = GCNConv(in_dim, hidden), GCNConv(hidden, hidden)\n"
                    "        self.head = torch.nn.Linear(hidden, 1, bias=False)\n"
                    "    def forward(self, data):\n"
                    "        h = torch.relu(self.conv2(torch.relu(self.conv1(data.x, data.edge_index)), data.edge_index))\n"
                    "        return self.head(global_add_pool(h, data.batch)).squeeze(-1)"
                ),
            },
            {"q1-tests", "q3-tests", "q5-tests", "q6-tests"},
        ),
        "wrong-b": (
            {
                # an ndarray subclass that claims to equal anything
                "q1-atom-features": (
                    "class _AlwaysEqualArray(np.ndarray):\n"
                    "    def __eq__(self, other):\n        return np.ones(self.shape, dtype=bool)\n"
                    "def lecture_atom_features(mol):\n"
                    "    return cu.atom_features(mol).view(_AlwaysEqualArray)"
                ),
                # each bond in one direction only
                "q2-graph": (
                    "def mol_to_data(smiles):\n"
                    "    mol = Chem.MolFromSmiles(smiles)\n"
                    "    ei = [[b.GetBeginAtomIdx() for b in mol.GetBonds()], [b.GetEndAtomIdx() for b in mol.GetBonds()]]\n"
                    "    ea = [[float(int(b.GetBondType())), float(int(b.GetStereo()))] for b in mol.GetBonds()]\n"
                    "    return Data(x=torch.tensor(cu.atom_features(mol)), edge_index=torch.tensor(ei).reshape(2, -1),\n"
                    "                edge_attr=torch.tensor(ea, dtype=torch.float32).reshape(-1, 2))"
                ),
                # mean pooling
                "q4-pooling": (
                    "def sum_pool(h, batch):\n"
                    "    n = int(batch.max()) + 1\n"
                    "    s = torch.zeros(n, h.shape[1]).index_add_(0, batch, h)\n"
                    "    return s / torch.bincount(batch, minlength=n)[:, None]"
                ),
                # reports the MSE as "RMSE"
                "q7-train": (
                    "cu.seed_everything(0)\n"
                    "gnn = TinyGNN(in_dim, hidden=64)\n"
                    "opt = torch.optim.Adam(gnn.parameters(), lr=0.005)\n"
                    "for epoch in range(20):\n"
                    "    for batch in DataLoader(train_graphs, batch_size=32, shuffle=True):\n"
                    "        opt.zero_grad()\n"
                    "        loss = torch.mean((gnn(batch) - batch.y) ** 2)\n"
                    "        loss.backward()\n"
                    "        opt.step()\n"
                    "gnn.eval()\n"
                    "with torch.no_grad():\n"
                    "    gnn_test_pred = gnn(test_batch)\n"
                    "gnn_test_rmse = float(torch.mean((gnn_test_pred - test_batch.y) ** 2))"
                ),
            },
            {"q1-tests", "q2-tests", "q4-tests", "q7-tests"},
        ),
        # answers that pass every visible test and only fail hidden ones
        "wrong-hidden": (
            {
                # implicit hydrogens only: right for caffeine, wrong for [NH4+] (hydrogens written in brackets)
                "q1-atom-features": (
                    "def lecture_atom_features(mol):\n"
                    "    return np.array([[a.GetAtomicNum(), a.GetTotalDegree(), a.GetNumImplicitHs(),\n"
                    "                      a.GetFormalCharge(), a.GetMass(), int(a.IsInRing())]\n"
                    "                     for a in mol.GetAtoms()], dtype=np.float32)"
                ),
                # no stereochemistry (caffeine has none)
                "q2-graph": (
                    "def mol_to_data(smiles):\n"
                    "    mol = Chem.MolFromSmiles(smiles)\n"
                    "    src, dst, attr = [], [], []\n"
                    "    for b in mol.GetBonds():\n"
                    "        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()\n"
                    "        src += [i, j]\n"
                    "        dst += [j, i]\n"
                    "        attr += [[float(int(b.GetBondType())), 0.0]] * 2\n"
                    "    return Data(x=torch.tensor(cu.atom_features(mol)), edge_index=torch.tensor([src, dst]),\n"
                    "                edge_attr=torch.tensor(attr, dtype=torch.float32))"
                ),
                # messages collected at the source instead of the target (same on symmetric graphs)
                "q3-message-passing": (
                    "def message_passing_step(x, edge_index):\n"
                    "    return x.clone().index_add_(0, edge_index[0], x[edge_index[1]])"
                ),
                # the model is never trained
                "q7-train": (
                    "cu.seed_everything(0)\n"
                    "gnn = TinyGNN(in_dim, hidden=64)\n"
                    "gnn.eval()\n"
                    "with torch.no_grad():\n"
                    "    gnn_test_pred = gnn(test_batch)\n"
                    "gnn_test_rmse = float(torch.sqrt(torch.mean((gnn_test_pred - test_batch.y) ** 2)))"
                ),
            },
            {"q1-tests", "q2-tests", "q3-tests", "q7-tests"},
        ),
    },
}


@dataclass
class Course:
    """A temporary nbgrader course with the results of grading every submission of one assignment."""

    root: Path
    name: str
    db_url: str
    generated: Path
    scores: dict[str, dict[str, tuple[float | None, float]]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)


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
    for student, (answers, _) in WRONG[name].items():
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
    return course


def _grade_in_subprocess(tmp: Path, name: str) -> Course:
    """Grade one assignment; run in a worker process so that assignments are graded in parallel."""
    # nbgrader runs `alembic` (installed next to this Python) when it creates a gradebook
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return _grade_course(tmp, name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Course]:
    """Every assignment graded once. ``CHEMDL_GRADE_JOBS`` (default 2) assignments run at a time,
    each in its own process (nbgrader changes the working directory, so threads would not do)."""
    for name in ASSIGNMENTS:
        if not (REPO / "exercises" / name).is_dir():
            pytest.fail(f"exercises/{name}/ is missing: run `nbgrader generate_assignment {name} --force`")
    jobs = max(1, int(os.environ.get("CHEMDL_GRADE_JOBS", "2")))
    tmps = {name: tmp_path_factory.mktemp(name) for name in ASSIGNMENTS}
    if jobs == 1:
        old_path = os.environ.get("PATH", "")
        try:
            return {name: _grade_in_subprocess(tmps[name], name) for name in ASSIGNMENTS}
        finally:
            os.environ["PATH"] = old_path
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(ASSIGNMENTS)), mp_context=context) as pool:
        futures = {name: pool.submit(_grade_in_subprocess, tmps[name], name) for name in ASSIGNMENTS}
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
    assert {k: v[1] for k, v in course.scores["solution"].items()} == EXPECTED_POINTS[course.name]
    nb = nbformat.read(REPO / "solutions" / course.name / course.generated.name, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "duplicate grade ids"
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta["grade_id"]
        if meta.get("grade") and cell.cell_type == "code":
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']} has no hidden tests"
    autograded = [k for k in EXPECTED_POINTS[course.name] if k not in MANUAL[course.name]]
    assert len(autograded) >= 5


def test_solution_scores_full_marks(course: Course) -> None:
    scores = course.scores["solution"]
    lost = {k: v for k, v in scores.items() if k not in MANUAL[course.name] and v[0] != v[1]}
    assert not lost, f"solution of {course.name} loses points on {lost}:\n{course.logs['solution'][-3000:]}"
    for manual in MANUAL[course.name]:
        assert scores[manual][0] is None, f"{manual} should be graded by hand, got auto score {scores[manual][0]}"


def test_released_notebook_scores_zero(course: Course) -> None:
    scores = course.scores["released"]
    earned = {k: v for k, v in scores.items() if k not in MANUAL[course.name] and v[0] != 0}
    assert not earned, f"the unmodified exercise of {course.name} earns points on {earned}"


@pytest.mark.parametrize("student", ["wrong-a", "wrong-b", "wrong-hidden"])
def test_wrong_answers_lose_exactly_their_points(course: Course, student: str) -> None:
    _, breaks = WRONG[course.name][student]
    scores = course.scores[student]
    for grade_id, (score, max_score) in scores.items():
        if grade_id in MANUAL[course.name]:
            continue
        expected = 0.0 if grade_id in breaks else max_score
        assert score == expected, (
            f"{course.name}/{student}: {grade_id} scored {score}/{max_score}, expected {expected} "
            f"(broken questions: {sorted(breaks)})"
        )
