"""Tamper-resistant autograding: student code in a sandboxed kernel, tests in the trusted process.

With plain nbgrader the hidden tests run in the student's own kernel, after the student's code,
so that code can rig them: return an object whose ``==`` is always true, replace
``numpy.allclose``/``torch.allclose`` or the course's check helpers, read the hidden tests from
the kernel's history, or print them into the graded copy. Here:

* the student's notebook runs in a kernel confined by ``isolation`` (no course
  files, no network, limits). Test cells run there only in their *released* form (hidden tests
  removed), so the kernel's state matches what the student saw, and the hidden tests never enter it;
* right after each test cell, :func:`run_hidden_tests` executes the instructor's full test cell
  (from the source notebook, never from the submission) in *this* process, whose NumPy, torch and
  ``chemdl_utils.checks`` the student never touched. The names the test needs are fetched from the
  kernel in a pickle-free format (``trusted_codec``): plain data is rebuilt by the grader itself;
  functions, models and other objects stay in the kernel and appear as :class:`StudentObject`
  proxies: calling one runs the student's function in the sandbox and brings back plain data.
  A proxy refuses ``==``/``!=`` (a test must compare plain values), so a rigged ``__eq__`` never runs
  where it could decide a grade;
* scores are computed here, clamped to ``[0, points]``, and returned for the parent to write.

Entry points: :func:`grade_notebook` (verdicts + sanitized graded copy) and :func:`secure_execute`
(the same as an ``execute.ExecutionResult``; the one execution path ``autograde`` uses). Building
blocks (each testable alone): :func:`test_cells`, :class:`KernelBridge`, :func:`run_hidden_tests`.

Test cells may use any Python the grader can run, but not IPython magics (``%time``): they are
compiled as plain Python in the grading process.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode

from . import isolation, trusted_codec
from .limits import Limits, coerce_limits
from .restore import COURSE_KERNEL, released_cell_source, restore_notebook
from .trusted_sanitize import sanitize_notebook, format_test_message

__all__ = [
    "TestVerdict",
    "SecureGradeResult",
    "StudentObject",
    "StudentCodeError",
    "KernelBridge",
    "test_cells",
    "run_hidden_tests",
    "trusted_imports",
    "grade_notebook",
    "secure_execute",
    "COURSE_KERNEL",
]

#: most bytes the grader reads from one submission's kernel for its tests, all requests together
MAX_RECEIVED_BYTES = 256 * 1024 * 1024



# ------------------------------------------------------------------------------ notebook structure


def _nbg(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


@dataclasses.dataclass(frozen=True)
class TestCell:
    grade_id: str
    source: str  #: full instructor source (hidden tests included); never leaves the trusted process
    points: float
    metadata: dict = dataclasses.field(default_factory=dict, compare=False)  #: the source cell's nbgrader metadata


def test_cells(source_nb: NotebookNode) -> dict[str, TestCell]:
    """The autograded test cells of the instructor's source notebook, by grade id, in order."""
    out: dict[str, TestCell] = {}
    for cell in source_nb.cells:
        meta = _nbg(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            gid = str(meta.get("grade_id") or "")
            if not gid:
                raise ValueError("a test cell of the source notebook has no grade_id; run `nbgrader generate_assignment`")
            out[gid] = TestCell(gid, cell.source, float(meta.get("points", 0) or 0), copy.deepcopy(dict(meta)))
    return out


def trusted_imports(source_nb: NotebookNode) -> dict[str, Any]:
    """Names the instructor's notebook imports from trusted packages, bound by the grader itself.

    Every top-level ``import``/``from ... import`` of a :data:`_TRUSTED_MODULES` package in the
    instructor's source cells (answer cells excluded) is executed here, so that a test calling
    ``check_array`` or ``atom_features`` gets the grader's pristine function even when the student
    redefined that name in the kernel. Imports that fail here are skipped (the name then comes from
    the student's kernel, as any other).
    """
    namespace: dict[str, Any] = {"__builtins__": builtins}
    for cell in source_nb.cells:
        if cell.cell_type != "code" or _nbg(cell).get("solution"):
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
            if not all(r in _TRUSTED_MODULES for r in roots) or any(a.name == "*" for a in node.names):
                continue
            try:
                exec(compile(ast.Module([node], []), "<trusted imports>", "exec"), namespace)  # noqa: S102
            except Exception:  # noqa: BLE001 - not importable in the grader: leave it to the kernel
                continue
    namespace.pop("__builtins__", None)
    return namespace


# ------------------------------------------------------------------------------ the kernel bridge


class _NotebookTimeout(Exception):
    pass


class StudentCodeError(Exception):
    """The student's code raised while a test called it (message is the student's exception)."""


class KernelUnavailable(Exception):
    """The student's kernel died or stopped answering while a test needed it."""


_AGENT = r'''
def __chemdl_handle__(request):
    import json as _json, types as _types
    from chemdl_utils.grading import trusted_codec as _codec
    _g = globals()
    _handles = _g.setdefault("__chemdl_handles__", {})
    def _ref(x):
        _handles[id(x)] = x
        tp = type(x)
        d = {"t": "ref", "id": id(x), "type": tp.__module__ + "." + tp.__qualname__, "callable": callable(x),
             "mro": [c.__module__ + "." + c.__qualname__ for c in tp.__mro__][:40]}
        if isinstance(x, _types.ModuleType):
            d["module"] = x.__name__
        return d
    def _dec(o):
        return _codec.decode(o, lambda r: _handles[r["id"]])
    req = _json.loads(request)
    op = req["op"]
    try:
        if op == "get":
            return _json.dumps({"ok": {n: (_codec.encode(_g[n], _ref) if n in _g else None) for n in req["names"]}})
        target = _handles[req["id"]]
        if op == "call":
            _args, _kwargs = _dec(req["args"]), _dec(req["kwargs"])
            r = target(*_args, **_kwargs)
            # the arguments after the call: the grader copies in-place changes back into its own
            return _json.dumps({"ok": _codec.encode(r, _ref), "after": _codec.encode([_args, _kwargs], _ref)})
        elif op == "attr":
            r = getattr(target, req["name"])
        elif op == "item":
            r = target[_dec(req["key"])]
        elif op == "len":
            r = len(target)
        elif op == "iter":
            r = []
            for i, v in enumerate(target):
                if i >= 100000:
                    raise ValueError("more than 100000 items")
                r.append(v)
        elif op == "str":
            r = str(target)[:2000]
        elif op == "array":
            import numpy
            r = numpy.asarray(target)
        elif op in ("float", "int", "bool", "complex"):
            r = {"float": float, "int": int, "bool": bool, "complex": complex}[op](target)
        else:
            raise ValueError("unknown op")
        return _json.dumps({"ok": _codec.encode(r, _ref)})
    except BaseException as e:
        return _json.dumps({"err": [type(e).__name__, str(e)[:1000]]})
'''


class KernelBridge:
    """Requests to the agent in the student's kernel over a private blocking client.

    Everything that comes back is decoded by ``trusted_codec`` (strict, no pickle); references
    become :class:`StudentObject` proxies bound to this bridge.
    """

    def __init__(self, km: Any, timeout: float, max_message_bytes: int = Limits().max_message_bytes) -> None:
        import zmq
        from jupyter_client.blocking import BlockingKernelClient

        self.km = km
        self.timeout = float(timeout)
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, int(max_message_bytes))
        self.kc = BlockingKernelClient(context=self.context)
        self.kc.load_connection_info(km.get_connection_info())
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self.broken: str | None = None
        self.received = 0  #: bytes read from the kernel so far (capped by MAX_RECEIVED_BYTES)
        self.max_received = MAX_RECEIVED_BYTES

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001 - closing a client whose kernel died: nothing left to close
            pass
        try:
            self.context.destroy(linger=0)
        except Exception:  # noqa: BLE001 - the sockets are gone with the kernel already
            pass

    def _proxy(self, ref: dict) -> Any:
        module = ref.get("module")
        if isinstance(module, str):
            trusted = _trusted_module(module)
            if trusted is not None:
                return trusted
        return StudentObject(self, ref)

    def request(self, op: str, **payload: Any) -> Any:
        if self.broken:
            raise KernelUnavailable(self.broken)
        req = json.dumps({"op": op, **payload}, allow_nan=False)
        var = "__chemdl_resp_" + uuid.uuid4().hex
        code = f"{_AGENT}\n{var} = __chemdl_handle__({req!r})"
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"r": var})
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.broken = f"the student's code did not finish within {self.timeout:g} s"
                raise KernelUnavailable(self.broken)
            try:
                msg = self.kc.get_shell_msg(timeout=min(left, 1.0))
            except Exception:  # noqa: BLE001 - queue.Empty
                if not _alive(self.km):
                    self.broken = "the kernel died"
                    raise KernelUnavailable(self.broken) from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                break
        self.kc.execute(f"globals().pop({var!r}, None)", silent=True, store_history=False)
        content = msg.get("content", {})
        expr = content.get("user_expressions", {}).get("r", {}) if isinstance(content, dict) else {}
        text = expr.get("data", {}).get("text/plain") if isinstance(expr, dict) else None
        if content.get("status") != "ok" or not isinstance(text, str):
            raise StudentCodeError("the grader could not read your answers (the kernel's namespace was altered)")
        self.received += len(text)
        if self.received > self.max_received:
            self.broken = (f"your answers sent more than {self.max_received // 2**20} MiB to the grader; "
                           "return smaller values")
            raise KernelUnavailable(self.broken)
        try:
            raw = ast.literal_eval(text)
            if type(raw) is not str:
                raise ValueError
            reply = json.loads(raw)
        except Exception:  # noqa: BLE001 - whatever the kernel sent instead of a reply is refused the same way
            raise StudentCodeError("the grader could not read your answers (malformed reply)") from None
        if type(reply) is not dict:
            raise StudentCodeError("the grader could not read your answers (malformed reply)")
        if "err" in reply:
            err = reply["err"]
            name, text = (err + ["", ""])[:2] if isinstance(err, list) else ("Error", "")
            raise StudentCodeError(f"{str(name)[:80]}: {str(text)[:1000]}")
        try:
            if op == "get":
                values = reply.get("ok")
                if type(values) is not dict:
                    raise trusted_codec.CodecError("malformed names")
                return {str(k): trusted_codec.decode(v, self._proxy) for k, v in values.items() if v is not None}
            if op == "call":
                return trusted_codec.decode(reply.get("ok"), self._proxy), trusted_codec.decode(reply.get("after"),
                                                                                                self._proxy)
            return trusted_codec.decode(reply.get("ok"), self._proxy)
        except trusted_codec.CodecError as exc:
            raise StudentCodeError(f"the grader could not read your answer ({exc})") from None

    def fetch(self, names: Iterable[str]) -> dict[str, Any]:
        """Values of ``names`` in the student's namespace (names it lacks are left out)."""
        names = sorted(set(names))
        if not names:
            return {}
        got = self.request("get", names=names)
        return {k: v for k, v in got.items() if k in names}

    def encode_arg(self, value: Any) -> Any:
        def ref(obj: Any) -> dict:
            if isinstance(obj, StudentObject):
                return {"t": "ref", "id": object.__getattribute__(obj, "_ref")["id"]}
            raise trusted_codec.CodecError(
                f"a test passed a {type(obj).__module__}.{type(obj).__qualname__} to the student's code; "
                "pass plain data (numbers, strings, lists, dicts, arrays, tensors, RDKit molecules)")
        return trusted_codec.encode(value, ref)


#: modules a test may use under the student's alias (``import numpy as np`` in the student's cell):
#: the grader binds its own, pristine copy instead
_TRUSTED_MODULES = frozenset({
    "numpy", "torch", "pandas", "scipy", "sklearn", "rdkit", "torch_geometric", "datamol", "chemdl_utils",
    "math", "cmath", "statistics", "random", "collections", "itertools", "functools", "re", "json", "string",
    "fractions", "decimal", "operator", "typing",
})


def _alive(km: Any) -> bool:
    from jupyter_core.utils import run_sync

    try:
        return bool(run_sync(km.is_alive)())
    except Exception:  # noqa: BLE001 - a kernel manager that cannot even answer this has lost its kernel
        return False


#: the only module objects of the student's namespace that the grader replaces with its own copy
#: (``import numpy as np`` in a student's cell): exact names. Importing any other name on a
#: student's behalf could run code in the grader (a module object a student names
#: ``chemdl_utils.__main__`` would start the command-line tool here), so every other module stays
#: a :class:`StudentObject` in the sandbox.
BINDABLE_MODULES = frozenset({
    "math", "cmath", "statistics", "random", "collections", "itertools", "functools", "re", "json", "string",
    "fractions", "decimal", "operator", "typing",
    "numpy", "numpy.linalg", "numpy.random", "numpy.testing",
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
    "pandas", "scipy", "scipy.stats", "scipy.special", "scipy.spatial",
    "sklearn", "sklearn.metrics", "sklearn.ensemble", "sklearn.linear_model", "sklearn.model_selection",
    "sklearn.preprocessing", "sklearn.decomposition",
    "rdkit", "rdkit.Chem", "rdkit.Chem.AllChem", "rdkit.Chem.Descriptors", "rdkit.Chem.rdMolDescriptors",
    "rdkit.Chem.Scaffolds", "rdkit.Chem.Scaffolds.MurckoScaffold", "rdkit.DataStructs",
    "torch_geometric", "torch_geometric.nn", "torch_geometric.data", "torch_geometric.loader",
    "torch_geometric.utils", "datamol", "selfies",
    "chemdl_utils", "chemdl_utils.checks", "chemdl_utils.chem", "chemdl_utils.data", "chemdl_utils.nn",
    "chemdl_utils.train", "chemdl_utils.device", "chemdl_utils.activations", "chemdl_utils.text",
    "chemdl_utils.generative",
})


def _trusted_module(name: str) -> Any | None:
    """The grader's own copy of module ``name`` when it is in :data:`BINDABLE_MODULES`, else None."""
    if type(name) is not str or name not in BINDABLE_MODULES:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # not installed here: the test then works with the student's object
        return None


class StudentObject:
    """A value that stays in the student's sandboxed kernel; operations run there and return data.

    ``==``/``!=`` are refused (raise ``TypeError``): a test must compare plain values, e.g.
    ``float(x)``, ``np.asarray(x)``, ``list(x)``, or call the student's function and compare its
    (plain) result. ``student_type`` / ``student_mro`` give the claimed type names.
    """

    __slots__ = ("_bridge", "_ref")
    #: lets ``chemdl_utils.checks`` recognise a sandboxed value without importing the grader
    __chemdl_student_proxy__ = True

    def __init__(self, bridge: KernelBridge, ref: dict) -> None:
        object.__setattr__(self, "_bridge", bridge)
        object.__setattr__(self, "_ref", ref)

    def _op(self, op: str, **kw: Any) -> Any:
        return object.__getattribute__(self, "_bridge").request(op, id=object.__getattribute__(self, "_ref")["id"], **kw)

    @property
    def student_type(self) -> str:
        return str(object.__getattribute__(self, "_ref").get("type", "?"))

    @property
    def student_mro(self) -> list[str]:
        mro = object.__getattribute__(self, "_ref").get("mro", [])
        return [str(m) for m in mro] if isinstance(mro, list) else []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._op("attr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("tests cannot modify the student's objects")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bridge = object.__getattribute__(self, "_bridge")
        result, after = self._op("call", args=bridge.encode_arg(list(args)), kwargs=bridge.encode_arg(dict(kwargs)))
        # what the student's code did to its arguments happens to the test's objects too, as it
        # would in the student's own kernel (a test may check that an input was not modified)
        if type(after) is list and len(after) == 2:
            copy_back(list(args), after[0])
            copy_back(dict(kwargs), after[1])
        return result

    def __getitem__(self, key: Any) -> Any:
        return self._op("item", key=object.__getattribute__(self, "_bridge").encode_arg(key))

    def __len__(self) -> int:
        n = self._op("len")
        if type(n) is not int or n < 0:
            raise TypeError("len() of the student's object is not a non-negative int")
        return n

    def __iter__(self):  # type: ignore[no-untyped-def]
        items = self._op("iter")
        return iter(items if type(items) is list else [])

    def __float__(self) -> float:
        return float(self._op("float"))

    def __int__(self) -> int:
        return int(self._op("int"))

    def __index__(self) -> int:
        value = self._op("int")
        if type(value) is not int:
            raise TypeError("not an integer")
        return value

    def __bool__(self) -> bool:
        return self._op("bool") is True

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        arr = self._op("array")
        if type(arr) is not np.ndarray:
            raise TypeError(f"the student's {self.student_type} object does not convert to a plain numeric array")
        return arr.astype(dtype) if dtype is not None else arr

    def _refuse(self, other: Any) -> bool:
        raise TypeError(
            f"a test compared a {self.student_type} object from the student's code with ==/!=; the grader "
            "never lets the student's own object decide a comparison (return plain numbers, lists, arrays "
            "or tensors)")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<student object of type {self.student_type}>"

    __str__ = __repr__


def copy_back(original: Any, changed: Any) -> None:
    """Write the state of ``changed`` (an argument as the student's code left it, decoded by the
    grader) into ``original`` (the test's own object) in place: arrays and tensors of the same
    shape and dtype, list items, dict entries and PyG ``Data`` fields. Immutable values have
    nothing to copy; objects of another shape or type are left as the test made them."""
    import numpy as np

    if isinstance(original, np.ndarray):
        if (type(changed) is np.ndarray and changed.shape == original.shape and changed.dtype == original.dtype
                and original.flags.writeable and not np.array_equal(original, changed, equal_nan=True)):
            np.copyto(original, changed)
        return
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(original, torch.Tensor):
        if (isinstance(changed, torch.Tensor) and changed.shape == original.shape and changed.dtype == original.dtype
                and not torch.equal(original.detach().cpu(), changed)):
            with torch.no_grad():
                original.copy_(changed.to(original.device))
        return
    if isinstance(original, list) and type(changed) is list:
        if len(original) == len(changed):
            for i, (o, c) in enumerate(zip(original, changed)):
                if _is_container(o):
                    copy_back(o, c)
                elif not _same_plain(o, c):
                    original[i] = c
        else:
            original[:] = changed
        return
    if isinstance(original, dict) and type(changed) is dict:
        for key in [k for k in original if k not in changed]:
            del original[key]
        for key, c in changed.items():
            if key in original and _is_container(original[key]):
                copy_back(original[key], c)
            elif key not in original or not _same_plain(original[key], c):
                original[key] = c
        return
    if isinstance(original, tuple) and type(changed) is tuple and len(original) == len(changed):
        for o, c in zip(original, changed):
            copy_back(o, c)
        return
    pyg = sys.modules.get("torch_geometric.data")
    if pyg is not None and isinstance(original, pyg.Data) and isinstance(changed, pyg.Data):
        for key in changed.keys():
            if key in original and _is_container(original[key]):
                copy_back(original[key], changed[key])
            else:
                original[key] = changed[key]


def _is_container(value: Any) -> bool:
    import numpy as np

    torch = sys.modules.get("torch")
    pyg = sys.modules.get("torch_geometric.data")
    return (isinstance(value, (np.ndarray, list, dict, tuple))
            or (torch is not None and isinstance(value, torch.Tensor))
            or (pyg is not None and isinstance(value, pyg.Data)))


def _same_plain(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and type(a) in (int, float, str, bool, bytes, type(None), complex) and a == b
    except Exception:  # noqa: BLE001 - not comparable: treat as changed and copy it back
        return False


# ------------------------------------------------------------------------------ trusted evaluation


@dataclasses.dataclass
class TestVerdict:
    """The trusted verdict on one autograded test cell (``score.CellScore`` is what the gradebook
    stores; ``score.score_notebook`` reads these verdicts from the graded copy)."""

    grade_id: str
    points: float  #: score earned, always within [0, max_points]
    max_points: float
    passed: bool
    message: str  #: "passed" or the failure's message; never the test's code

    def __post_init__(self) -> None:
        self.max_points = max(0.0, float(self.max_points))
        self.points = min(max(0.0, float(self.points)), self.max_points)



#: the former name of :class:`TestVerdict` (kept for code written against it)
CellScore = TestVerdict

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


# ------------------------------------------------------------------------------ the whole notebook


@dataclasses.dataclass
class SecureGradeResult:
    """Outcome of :func:`grade_notebook`.

    status: ``"ok"`` (scores complete: every test cell of the source has one, failed cells score 0
        with a reason), ``"timeout"`` (the notebook time limit passed) or ``"error"`` (the grader
        could not grade). For ``timeout`` and ``error``, ``scores`` is empty and nothing may be
        written to the gradebook (no partial grade).
    notebook: the graded copy (student's cells and outputs, released test sources, verdicts),
        already sanitized.
    """

    status: str
    scores: list[TestVerdict]
    notebook: NotebookNode | None
    reason: str = ""
    isolation: str = "none"
    duration_s: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)
    #: per cell of ``notebook``: ok, error, timeout, crashed, not-run, or "" (markdown/raw)
    cell_status: list[str] = dataclasses.field(default_factory=list)
    #: what the restore step repaired (edited or deleted locked cells, ...), for the instructor
    repairs: list[str] = dataclasses.field(default_factory=list)
    #: answer cells the student left exactly as released ("No response.")
    blank: set[str] = dataclasses.field(default_factory=set)
    #: grade ids present in the executed notebook
    present: set[str] = dataclasses.field(default_factory=set)

    @property
    def total(self) -> float:
        return sum(s.points for s in self.scores)

    @property
    def max_total(self) -> float:
        return sum(s.max_points for s in self.scores)


class _DiskWatch:
    """Bounds what a kernel writes to its working copy: every ``interval`` seconds the files added
    (or grown) since the start are summed; past ``quota`` bytes (or ``max_files`` new files) the
    sandbox's processes are killed and the added files deleted, so the host disk never holds more
    than about the quota plus one file (each file is also capped by RLIMIT_FSIZE)."""

    def __init__(self, workdir: Path, quota: int, max_files: int = 20_000, interval: float = 0.2) -> None:
        self.workdir, self.quota, self.max_files, self.interval = workdir, int(quota), max_files, interval
        self.baseline = dict(self._sizes())
        self.tripped = 0  #: how many times the quota was exceeded (the loop reads and resets it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chemdl-disk-watch", daemon=True)

    def _sizes(self) -> Iterable[tuple[str, int]]:
        stack = [str(self.workdir)]
        while stack:
            try:
                with os.scandir(stack.pop()) as entries:
                    for entry in entries:
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(entry.path)
                            elif entry.is_file(follow_symlinks=False):
                                yield entry.path, entry.stat(follow_symlinks=False).st_size
                        except OSError:  # vanished while we looked: nothing to count
                            continue
            except OSError:
                continue

    def over(self) -> bool:
        added, new_files = 0, 0
        for path, size in self._sizes():
            before = self.baseline.get(path)
            if before is None:
                new_files += 1
            added += max(0, size - (before or 0))
            if added > self.quota or new_files > self.max_files:
                return True
        return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.over():
                self.tripped += 1
                isolation.kill_sandbox_processes(self.workdir)
                for path, _ in list(self._sizes()):
                    if path not in self.baseline:
                        try:
                            os.unlink(path)
                        except OSError:  # gone already: nothing to free
                            pass

    def __enter__(self) -> "_DiskWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _make_km(workdir: Path, limits: Limits, level: str) -> tuple[Any, str]:
    """A kernel manager whose kernel starts sandboxed; its connection file and Unix sockets live in
    a fresh root-created directory (never one the student could have planted symlinks in)."""
    import tempfile

    import zmq
    import zmq.asyncio
    from jupyter_client.manager import AsyncKernelManager

    ctl = tempfile.mkdtemp(prefix="chemdl-k-")

    class SandboxedKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw: Any):  # type: ignore[override]
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            cmd, env = isolation.isolated_command(cmd, workdir, limits, writable=[ctl], level=level)
            preexec = isolation.sandbox_preexec(workdir)  # rlimits where prlimit(1) is missing
            if preexec is not None:
                kw["preexec_fn"] = preexec
            kw["env"] = env
            kw["cwd"] = str(workdir)
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
            return cmd, kw

        def client(self, **kw: Any):  # type: ignore[override]
            kw.setdefault("context", self.limited_context)
            return super().client(**kw)

    km = SandboxedKernelManager(kernel_name=COURSE_KERNEL, transport="ipc", ip=os.path.join(ctl, "s"))
    km.connection_file = os.path.join(ctl, "connection.json")
    # a single message from the kernel larger than this drops the connection (the cell then times
    # out) instead of growing this process's memory without bound
    km.limited_context = zmq.asyncio.Context()
    km.limited_context.setsockopt(zmq.MAXMSGSIZE, int(limits.max_message_bytes))
    # a flood of output messages queues at most this many per socket in this process (the rest
    # is dropped, as the output budget would drop it anyway)
    km.limited_context.setsockopt(zmq.RCVHWM, 64)
    return km, ctl


def grade_notebook(source_nb: NotebookNode | str | os.PathLike[str],
                   submission: NotebookNode | str | os.PathLike[str],
                   workdir: str | os.PathLike[str], limits: Any = None,
                   redact: Iterable[str] = (), released: NotebookNode | None = None) -> SecureGradeResult:
    """Execute ``submission`` in a sandbox rooted at ``workdir`` and grade it against the test cells
    of the instructor's ``source_nb``, with the tests evaluated here (see module docstring).

    ``workdir`` must already hold only this student's files and the released data (the caller
    copies them there); it is the only writable place of the kernel. ``redact`` lists extra
    strings (instructor paths, secrets) that must never appear in the graded copy. ``released`` is
    the released notebook (``exercises/``), if any: the restore step takes the cells' released text
    from it (:func:`~chemdl_utils.grading.restore.restore_notebook`). Never raises for
    anything the student's notebook does; returns ``status="error"`` (no scores) when grading itself
    could not happen (sandbox refused, kernel would not start).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    start = time.monotonic()
    lim = coerce_limits(limits)
    workdir = Path(workdir).resolve()
    if not isinstance(source_nb, NotebookNode):
        source_nb = nbformat.read(str(source_nb), as_version=4)
    if not isinstance(submission, NotebookNode):
        try:
            submission = nbformat.read(str(submission), as_version=4)
        except Exception as exc:  # noqa: BLE001 - unreadable submission: every test scores 0
            tests = test_cells(source_nb)
            return SecureGradeResult("ok", [TestVerdict(g, 0, t.points, False, f"the notebook could not be read: "
                                                      f"{type(exc).__name__}") for g, t in tests.items()],
                                     None, reason="unreadable notebook")
    try:
        level = isolation.detect_isolation(lim)
    except isolation.IsolationError as exc:
        return SecureGradeResult("error", [], None, reason=str(exc))
    tests = test_cells(source_nb)
    # the one restore step: in memory, from the release and the student's answers; the hidden
    # tests stay in ``tests`` (this process) and never enter the notebook the kernel runs
    restored = restore_notebook(submission, source_nb, released)
    nb = restored.notebook
    notes: list[str] = list(restored.notes)
    test_at = {idx: tests[gid] for idx, gid in restored.tests.items() if gid in tests}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    scores: dict[str, TestVerdict] = {}
    namespace: dict[str, Any] = trusted_imports(source_nb)
    deadline = start + lim.notebook_timeout
    replay: list[int] = []
    pos = 0
    restarts = 0
    max_restarts = int(lim.max_restarts)
    started_once = False
    budget = _OutputBudget(lim)
    stopped: dict[int, str] = {}
    notebook_timed_out = False
    with _DiskWatch(workdir, lim.max_disk_bytes) as disk:
        while pos <= len(code_cells):
            km, ctl = _make_km(workdir, lim, level)
            client = _limited_client(nb, km, lim, budget)
            bridge: KernelBridge | None = None
            current = -1
            try:
                try:
                    client.start_new_kernel(cwd=str(workdir))
                    client.start_new_kernel_client()
                except Exception as exc:  # noqa: BLE001
                    if started_once:
                        raise DeadKernelError(f"kernel restart failed: {exc}") from None
                    return SecureGradeResult("error", [], None, reason=f"the sandboxed kernel did not start "
                                             f"({type(exc).__name__}: {str(exc)[:300]})", isolation=level,
                                             duration_s=time.monotonic() - start)
                started_once = True
                bridge = KernelBridge(km, lim.cell_timeout, int(lim.max_message_bytes))
                for idx in list(replay):  # restore the state after a restart
                    current = idx
                    client.timeout = max(1, int(min(lim.cell_timeout, deadline - time.monotonic())))
                    client.execute_cell(copy.deepcopy(nb.cells[idx]), idx)
                current = -1
                while pos < len(code_cells):
                    idx = code_cells[pos]
                    current = idx
                    left = deadline - time.monotonic()
                    if left <= 1:
                        raise _NotebookTimeout()
                    client.timeout = max(1, int(min(lim.cell_timeout, left)))
                    client.execute_cell(nb.cells[idx], idx)
                    pos += 1
                    if not any(o.get("output_type") == "error" for o in nb.cells[idx].outputs):
                        replay.append(idx)
                    if idx in test_at:
                        bridge.timeout = max(1.0, min(lim.cell_timeout, deadline - time.monotonic()))
                        (score,) = run_hidden_tests([test_at[idx]], bridge, namespace)
                        scores[score.grade_id] = score
                        if bridge.broken:
                            raise CellTimeoutError(bridge.broken)
                pos += 1  # done
            except _NotebookTimeout:
                notebook_timed_out = True
                break
            except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as exc:
                restarts += 1
                timed_out = isinstance(exc, (CellTimeoutError, TimeoutError)) or "time limit" in str(exc)
                if current >= 0 and current in code_cells[pos:pos + 1]:
                    cell = nb.cells[current]
                    if disk.tripped:
                        what = (f"the kernel was stopped: the notebook wrote more than "
                                f"{lim.max_disk_bytes // 2**20} MiB of files (the files it wrote were deleted)")
                        disk.tripped = 0
                    elif timed_out:
                        what = f"this cell was stopped after the grader's time limit of {lim.cell_timeout:g} s"
                    else:
                        what = "the kernel died while running this cell"
                    stopped[current] = "timeout" if timed_out else "crashed"
                    cell.outputs.append(nbformat.v4.new_output("error", ename="GraderStopped", evalue=what,
                                                               traceback=[f"GraderStopped: {what}"]))
                    notes.append(f"cell {current}: {what}")
                    pos += 1
                elif current >= 0 and current in replay:
                    replay.remove(current)
                if time.monotonic() >= deadline - 1:
                    notebook_timed_out = True
                    break
                if restarts > max_restarts:
                    notes.append("grading stopped: the kernel had to be restarted too often")
                    break
            finally:
                if bridge is not None:
                    bridge.close()
                _shutdown(client, km)
                isolation.release_sandbox(workdir)
                shutil.rmtree(ctl, ignore_errors=True)  # root-created; rmtree does not follow symlinks
        if notebook_timed_out:  # no partial grade: the caller keeps any earlier grade
            return SecureGradeResult("timeout", [], None, isolation=level, duration_s=time.monotonic() - start,
                                     reason=f"notebook exceeded its time limit of {lim.notebook_timeout:g} s; "
                                     "no grade written (rerun with a larger limit)", notes=notes,
                                     repairs=restored.notes)
        # every test cell gets a score; those never reached score zero with a reason
        for gid, t in tests.items():
            if gid not in scores:
                scores[gid] = TestVerdict(gid, 0, t.points, False, "not graded: the notebook stopped before this test "
                                        "(time limit or crashed kernel)")
        executed = set(code_cells[:pos])
        status = []
        for idx, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                status.append("")
            elif idx in stopped:
                status.append(stopped[idx])
            elif idx not in executed:
                status.append("not-run")
                cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue="not run: grading stopped earlier",
                                                       traceback=["NotRun: not run: grading stopped earlier"])]
            elif idx in test_at:
                status.append("ok" if scores[test_at[idx].grade_id].passed else "error")
            else:
                status.append("error" if any(o.get("output_type") == "error" for o in cell.outputs) else "ok")
        for idx, t in test_at.items():
            _put_verdict(nb.cells[idx], scores[t.grade_id])
        ordered = [scores[gid] for gid in tests]
        graded = sanitize_notebook(nb, source_nb, redact=list(redact) + [str(p) for p in lim.protected_paths])
        return SecureGradeResult("ok", ordered, graded, isolation=level, duration_s=time.monotonic() - start,
                                 notes=notes, cell_status=status, repairs=restored.notes, blank=restored.blank,
                                 present={g for g in (str(_nbg(c).get("grade_id") or "") for c in nb.cells) if g})


def secure_execute(notebook_path: str | os.PathLike[str] | NotebookNode, workdir: str | os.PathLike[str],
                   limits: Any, source: str | os.PathLike[str] | NotebookNode,
                   redact: Iterable[str] = (), released: str | os.PathLike[str] | NotebookNode | None = None) -> Any:
    """Grade one notebook with trusted tests; the result as an ``execute.ExecutionResult``.

    The result carries the trusted verdicts (``verdicts``), the answers left blank and what the
    restore step repaired; ``score.score_notebook`` scores from those. Its ``notebook`` is the
    sanitized graded copy (each test cell's outputs are the verdict, for the student's feedback).
    ``source`` is the instructor's source notebook (with hidden tests), ``released`` the released
    one (optional); neither may be inside ``workdir``.
    """
    from .execute import ExecutionResult

    src = source if isinstance(source, NotebookNode) else nbformat.read(str(source), as_version=4)
    rel = released if released is None or isinstance(released, NotebookNode) else nbformat.read(str(released),
                                                                                                 as_version=4)
    result = grade_notebook(src, notebook_path, workdir, limits, redact=redact, released=rel)
    if result.status != "ok" or result.notebook is None:
        return ExecutionResult("timeout" if result.status == "timeout" else "failed",
                               reason=result.reason or "grading failed", duration_s=result.duration_s,
                               isolation=result.isolation)
    out = ExecutionResult("ok", notebook=result.notebook, cell_status=list(result.cell_status),
                          duration_s=result.duration_s, isolation=result.isolation,
                          verdicts={v.grade_id: v for v in result.scores}, blank=set(result.blank),
                          present=set(result.present), notes=list(result.repairs))
    out.stderr_tail = "; ".join(result.notes)[:2000]
    return out


def _put_verdict(cell: NotebookNode, score: TestVerdict) -> None:
    """Replace a test cell's outputs (produced in the student's kernel, so not trustworthy) with the
    trusted verdict (what the student reads in the graded copy and the feedback; scores come from
    the verdicts themselves)."""
    from nbformat.v4 import new_output

    if score.passed:
        cell.outputs = [new_output("stream", name="stdout",
                                   text=f"[grader] passed: {score.points:g} / {score.max_points:g} points\n")]
    else:
        cell.outputs = [new_output("error", ename="TestFailed", evalue=score.message,
                                   traceback=[f"[grader] failed: 0 / {score.max_points:g} points", score.message])]
    cell.metadata.setdefault("chemdl", {})["score"] = {"points": score.points, "max_points": score.max_points}


class _OutputBudget:
    def __init__(self, lim: Limits) -> None:
        self.per_cell = int(lim.max_output_bytes)
        self.total = int(lim.max_total_output_bytes)
        self.used: dict[int, int] = {}
        self.noted: set[int] = set()

    def spent(self) -> int:
        return sum(self.used.values())


def _limited_client(nb: NotebookNode, km: Any, lim: Limits, budget: _OutputBudget) -> Any:
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class LimitedClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def, override]
            content = msg.get("content", {})
            try:
                size = len(json.dumps(content.get("data", content.get("text", content.get("traceback", "")))))
            except (TypeError, ValueError):
                size = budget.per_cell
            used = budget.used.get(cell_index, 0)
            if used + size > budget.per_cell or budget.spent() + size > budget.total:
                budget.used[cell_index] = used + size
                if cell_index not in budget.noted:
                    budget.noted.add(cell_index)
                    note = new_output("stream", name="stderr",
                                      text=f"\n[grader] output truncated: more than {budget.per_cell} bytes in this "
                                      f"cell (or {budget.total} in the notebook) were dropped\n")
                    outs.append(note)
                    return note
                return None
            budget.used[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)

    return LimitedClient(nb, km=km, timeout=int(lim.cell_timeout), interrupt_on_timeout=False, allow_errors=True,
                         startup_timeout=int(lim.startup_timeout), record_timing=False, iopub_timeout=2, raise_on_iopub_timeout=False,
                         kernel_name=COURSE_KERNEL, shutdown_kernel="immediate",
                         extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.parent_handle=0"],
                         resources={"metadata": {"path": str(nb.metadata.get("path", ""))}})


def _shutdown(client: Any, km: Any) -> None:
    """Stop the kernel and free its sockets, whatever state a student left it in. Each step may
    fail because the kernel is already gone (crashed, killed for a limit); the sandbox's processes
    are killed by ``isolation.release_sandbox`` afterwards in every case, so a failure here leaks
    nothing and is not an error of the submission."""
    from jupyter_core.utils import run_sync

    try:
        if getattr(client, "kc", None) is not None:
            client.kc.stop_channels()
    except Exception:  # noqa: BLE001 - channels of a dead kernel: nothing to stop
        pass
    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - a kernel that does not answer the shutdown request: kill it
        try:
            run_sync(km.kill_kernel)()
        except Exception:  # noqa: BLE001 - already dead; release_sandbox kills any leftover process
            pass
    try:
        run_sync(km.cleanup_resources)()
    except Exception:  # noqa: BLE001 - connection file and sockets live in a folder removed by the caller
        pass
    try:
        km.limited_context.destroy(linger=0)
    except Exception:  # noqa: BLE001 - the context's sockets are closed with the kernel already
        pass
