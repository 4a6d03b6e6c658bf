"""The bridge between the trusted grader and the student's sandboxed kernel.

A test cell runs in the grader's process; the names it needs live in the student's kernel. The
bridge sends small requests to an agent in the kernel (over a private client of its own) and
decodes the answers with :mod:`~chemdl_utils.grading.codec` (strict, size-checked, never
pickle): plain data is rebuilt by the grader itself; functions, models and other objects stay in
the kernel as :class:`StudentObject` proxies. Calling one runs the student's code in the sandbox
and brings back plain data; what that code did to its arguments is copied back
(:func:`copy_back`). A proxy refuses ``==``/``!=``, so a rigged ``__eq__`` never runs where it
could decide a grade. Module objects the student imported under an alias (``import numpy as
np``) are replaced by the grader's own copy, for the names in :data:`BINDABLE_MODULES` only.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import time
import uuid
from typing import Any, Iterable

from . import codec
from .limits import Limits

__all__ = ["StudentCodeError", "KernelUnavailable", "KernelBridge", "StudentObject", "copy_back",
           "BINDABLE_MODULES", "TRUSTED_MODULES", "kernel_alive"]

#: default of the most bytes the grader reads from one submission's kernel, all requests together
MAX_RECEIVED_BYTES = 256 * 1024 * 1024

class StudentCodeError(Exception):
    """The student's code raised while a test called it (message is the student's exception)."""


class KernelUnavailable(Exception):
    """The student's kernel died or stopped answering while a test needed it."""


_AGENT = r'''
def __chemdl_handle__(request):
    import json as _json, types as _types
    from chemdl_utils.grading import codec as _codec
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

    Everything that comes back is decoded by ``codec`` (strict, no pickle); references
    become :class:`StudentObject` proxies bound to this bridge.
    """

    def __init__(self, km: Any, timeout: float, max_message_bytes: int = Limits().max_message_bytes,
                 max_received: int = MAX_RECEIVED_BYTES) -> None:
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
        self.max_received = int(max_received)

    def close(self) -> None:
        """Close this client (its kernel may be gone already: see ``kernel.best_effort``)."""
        from .kernel import best_effort

        best_effort("stopping the bridge's channels", self.kc.stop_channels)
        best_effort("closing the bridge's ZeroMQ context", lambda: self.context.destroy(linger=0))

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
                if not kernel_alive(self.km):
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
                    raise codec.CodecError("malformed names")
                return {str(k): codec.decode(v, self._proxy) for k, v in values.items() if v is not None}
            if op == "call":
                return codec.decode(reply.get("ok"), self._proxy), codec.decode(reply.get("after"),
                                                                                                self._proxy)
            return codec.decode(reply.get("ok"), self._proxy)
        except codec.CodecError as exc:
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
            raise codec.CodecError(
                f"a test passed a {type(obj).__module__}.{type(obj).__qualname__} to the student's code; "
                "pass plain data (numbers, strings, lists, dicts, arrays, tensors, RDKit molecules)")
        return codec.encode(value, ref)


#: modules a test may use under the student's alias (``import numpy as np`` in the student's cell):
#: the grader binds its own, pristine copy instead
TRUSTED_MODULES = frozenset({
    "numpy", "torch", "pandas", "scipy", "sklearn", "rdkit", "torch_geometric", "datamol", "chemdl_utils",
    "math", "cmath", "statistics", "random", "collections", "itertools", "functools", "re", "json", "string",
    "fractions", "decimal", "operator", "typing",
})


def kernel_alive(km: Any) -> bool:
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
