"""The instructor's test cells, evaluated in the trusted grading process: verdicts.

With plain nbgrader the hidden tests run in the student's own kernel, after the student's code,
so that code can rig them (an object whose ``==`` is always true, a patched ``numpy.allclose``, a
redefined check helper) or print them. Here the restored notebook runs only the *released* test
cells in the kernel; right after each, :func:`run_hidden_tests` executes the instructor's full
test cell (hidden tests included, from the source notebook, never from the submission) in this
process, whose NumPy, torch and ``chemdl_utils.checks`` the student never touched. The names it
needs come from the kernel through the :class:`~chemdl_utils.grading.bridge.KernelBridge`; names
the instructor's notebook imports from trusted packages are bound here (:func:`trusted_imports`).
Each test cell gives one :class:`TestVerdict` (passed or failed with a message, never its code),
its points clamped to ``[0, points]``.

Test cells may use any Python the grader can run, but not IPython magics (``%time``): they are
compiled as plain Python in the grading process.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
from typing import Any, Iterable

from nbformat import NotebookNode

from .bridge import TRUSTED_MODULES, KernelBridge, KernelUnavailable, StudentCodeError
from .nbmeta import cell_kind, grade_id, nbgrader_meta
from .redact import format_test_message
from .restore import released_cell_source

__all__ = ["TestCell", "TestVerdict", "test_cells", "trusted_imports", "run_hidden_tests"]

@dataclasses.dataclass(frozen=True)
class TestCell:
    """One autograded test cell of the instructor's notebook."""

    grade_id: str
    source: str  #: full instructor source (hidden tests included); never leaves the trusted process
    points: float
    metadata: dict = dataclasses.field(default_factory=dict, compare=False)  #: the source cell's nbgrader metadata


def test_cells(source_nb: NotebookNode) -> dict[str, TestCell]:
    """The autograded test cells of the instructor's source notebook, by grade id, in order."""
    out: dict[str, TestCell] = {}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if cell_kind(cell) == "test":
            gid = grade_id(cell)
            if not gid:
                raise ValueError("a test cell of the source notebook has no grade_id; run `nbgrader generate_assignment`")
            out[gid] = TestCell(gid, cell.source, float(meta.get("points", 0) or 0), copy.deepcopy(dict(meta)))
    return out


def trusted_imports(source_nb: NotebookNode) -> dict[str, Any]:
    """Names the instructor's notebook imports from trusted packages, bound by the grader itself.

    Every top-level ``import``/``from ... import`` of a :data:`TRUSTED_MODULES` package in the
    instructor's source cells (answer cells excluded) is executed here, so that a test calling
    ``check_array`` or ``atom_features`` gets the grader's pristine function even when the student
    redefined that name in the kernel. Imports that fail here are skipped (the name then comes from
    the student's kernel, as any other).
    """
    namespace: dict[str, Any] = {"__builtins__": builtins}
    for cell in source_nb.cells:
        if cell.cell_type != "code" or nbgrader_meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(released_cell_source(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            if not all(r in TRUSTED_MODULES for r in roots) or any(a.name == "*" for a in node.names):
                continue
            try:
                exec(compile(ast.Module([node], []), "<trusted imports>", "exec"), namespace)  # noqa: S102
            except Exception:  # noqa: BLE001 - not importable in the grader: leave it to the kernel
                continue
    namespace.pop("__builtins__", None)
    return namespace


@dataclasses.dataclass
class TestVerdict:
    """The trusted verdict on one autograded test cell (``score.score_notebook`` turns verdicts
    into the gradebook's ``score.CellScore``)."""

    grade_id: str
    points: float  #: score earned, always within [0, max_points]
    max_points: float
    passed: bool
    message: str  #: "passed" or the failure's message; never the test's code

    def __post_init__(self) -> None:
        self.max_points = max(0.0, float(self.max_points))
        self.points = min(max(0.0, float(self.points)), self.max_points)



def _free_names(source: str) -> set[str]:
    """Names ``source`` reads that it does not bind itself (nor are builtins)."""
    tree = ast.parse(source)
    loads, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return {n for n in loads - bound if not hasattr(builtins, n)}


def _bound_names(source: str) -> set[str]:
    tree = ast.parse(source)
    out = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                out.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in sub.names)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub in tree.body:
                out.add(sub.name)
    return out


def run_hidden_tests(cells: Iterable[TestCell], bridge: KernelBridge | None,
                     namespace: dict[str, Any] | None = None) -> list[TestVerdict]:
    """Evaluate each test cell's full source in a trusted namespace; student names come through
    ``bridge`` (None: the student's kernel is gone, every test fails with that reason).

    ``namespace`` carries the names earlier test cells bound (pass the same dict for one notebook).
    No lock is shared between submissions: the time spent on a student's behalf is bounded by
    that student's own budget (``bridge.timeout``), and ``autograde`` grades each submission in a
    process of its own, so tests that seed global random generators cannot disturb each other.
    """
    return _run_hidden_tests(list(cells), bridge, {} if namespace is None else namespace)


def _run_hidden_tests(cells: list[TestCell], bridge: KernelBridge | None, ns: dict[str, Any]) -> list[TestVerdict]:
    ns.setdefault("__name__", "__chemdl_tests__")
    ns.setdefault("__builtins__", builtins)
    scores = []
    for cell in cells:
        try:
            code = compile(cell.source, f"<test {cell.grade_id}>", "exec")
            needed = _free_names(cell.source) - set(ns)
        except SyntaxError:
            scores.append(TestVerdict(cell.grade_id, 0, cell.points, False,
                                    "the test cell does not compile (instructor error); ask your instructor"))
            continue
        try:
            if bridge is None:
                raise KernelUnavailable("the kernel is not running")
            glb = dict(ns)
            glb.update(bridge.fetch(needed))
            exec(code, glb)  # noqa: S102 - instructor test code, run on student data
        except KernelUnavailable as exc:
            scores.append(TestVerdict(cell.grade_id, 0, cell.points, False,
                                    f"not graded: {exc}"))
            continue
        except StudentCodeError as exc:
            scores.append(TestVerdict(cell.grade_id, 0, cell.points, False,
                                    format_test_message(f"your code raised {exc}", cell.source)))
            continue
        except BaseException as exc:  # noqa: BLE001 - any failure (SystemExit too) fails the test
            if isinstance(exc, KeyboardInterrupt):
                raise
            scores.append(TestVerdict(cell.grade_id, 0, cell.points, False,
                                    format_test_message(_exc_text(exc), cell.source)))
            continue
        for name in _bound_names(cell.source):
            if name in glb:
                ns[name] = glb[name]
        scores.append(TestVerdict(cell.grade_id, cell.points, cell.points, True, "passed"))
    return scores


def _exc_text(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    if isinstance(exc, AssertionError) and not text:
        return "AssertionError: a test failed (no message)"
    return f"{name}: {text}" if text else name
