"""Type-first assertions with helpful messages, used by the exercises' visible and hidden tests.

Every check first validates the *type* of the student's answer (exact built-in, NumPy, pandas,
torch or PyG types; no duck typing), then its shape / dtype / finiteness, and only then its values.
Values are compared with plain Python / NumPy code on *copies the checker makes itself*
(``float(x)``, ``np.array(x, copy=True)``), never with ``==`` on the student's object, so an
object whose ``__eq__`` always returns ``True`` earns nothing.

A failed check raises :class:`CheckFailed` (an ``AssertionError``), so nbgrader marks the test
cell as failed, with a message such as::

    q3: expected a torch.Tensor of shape (14, 6), got a numpy.ndarray of shape (14, 5) and dtype
    float64. Hint: convert with torch.tensor(...) (or torch.from_numpy for an array).

Example::

    from chemdl_utils.checks import check_float, check_tensor
    check_float(y, 0.7310585786, "q1 neuron output", hint="sigmoid(w . x + b)")
    check_tensor(x, name="q3 x", shape=(14, 6), dtype="floating")
    check_graph(data, num_nodes=14, num_edges=30, x_dim=6, edge_dim=2, name="q2", undirected=True)

Types are compared by identity (``type(x) is float``), never with ``in``/``==`` on classes, so a
metaclass that claims equality with every class does not pass either. What these checks cannot
stop is code that replaces the checks themselves (monkeypatching this module from a notebook):
that is for the grading pipeline to prevent.
"""

from __future__ import annotations

import inspect
import linecache
import math
import re
import sys
from types import TracebackType
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "CheckFailed",
    "describe",
    "check_type",
    "check_float",
    "check_int",
    "check_in_range",
    "check_array",
    "check_tensor",
    "check_dataframe",
    "check_graph",
    "check_callable",
    "check_module",
    "question",
    "type_mistake_hint",
]


class CheckFailed(AssertionError):
    """An answer did not pass a check; the message says what was expected, what was got, and how to fix it.

    In a notebook, IPython shows only that message (``_render_traceback_``), not a traceback
    through this module: the student sees the one line that helps.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython (and nbgrader's graded copy) shows instead of the traceback."""
        return [f"CheckFailed: {self}"]


# exact scalar types accepted as real numbers (bool and every subclass are rejected)
_FLOAT_TYPES: tuple[type, ...] = (float, np.float16, np.float32, np.float64)
_INT_TYPES: tuple[type, ...] = (
    int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
)
_REAL_TYPES = _FLOAT_TYPES + _INT_TYPES


def _torch() -> Any:
    import torch  # imported lazily: checks on floats and arrays should not pay for torch

    return torch


def _fail(name: str, message: str, hint: str | None = None) -> CheckFailed:
    text = f"{name}: {message}"
    if not text.rstrip().endswith("."):
        text = text.rstrip() + "."
    if hint:
        text += f" Hint: {hint}"
    return CheckFailed(text)


def _qualname(tp: type) -> str:
    module = tp.__module__
    if module == "builtins":
        return tp.__name__
    top = module.split(".")[0]
    if top == "numpy":
        return f"numpy.{tp.__name__}"
    if top == "torch" and tp.__name__ == "Tensor":
        return "torch.Tensor"
    if top == "torch_geometric" and tp.__name__ == "Data":
        return "torch_geometric.data.Data"
    if top == "pandas":
        return f"pandas.{tp.__name__}"
    return f"{module}.{tp.__qualname__}"


def _type_is(value: object, types: tuple[type, ...]) -> bool:
    """``type(value)`` is one of ``types``, by identity (``in`` could call a metaclass's ``__eq__``)."""
    tp = type(value)
    return any(tp is t for t in types)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _is_tensor(value: object) -> bool:
    """True only for an exact ``torch.Tensor`` (no subclasses, no Parameters)."""
    torch = _torch()
    return type(value) is torch.Tensor


def _shape_of(value: object) -> tuple[int, ...] | None:
    if type(value) is np.ndarray:
        return tuple(int(s) for s in value.shape)
    if _is_tensor(value):
        return tuple(int(s) for s in value.shape)  # type: ignore[attr-defined]
    return None


def describe(value: object) -> str:
    """A short description of ``value`` for messages: 'a numpy.ndarray of shape (14, 5)', 'None', ..."""
    if value is None:
        return "None"
    tp = type(value)
    name = _qualname(tp)
    shape = _shape_of(value)
    if shape is not None:
        dtype = value.dtype  # type: ignore[attr-defined]
        return f"{_article(name)} {name} of shape {shape} and dtype {dtype}"
    if _type_is(value, (list, tuple, dict, set, str)):
        return f"{_article(name)} {name} of length {len(value)}"  # type: ignore[arg-type]
    if _type_is(value, _REAL_TYPES) or tp is bool:
        return f"{_article(name)} {name} ({value!r})"
    pd = sys.modules.get("pandas")
    if pd is not None and tp is pd.DataFrame:
        return f"a pandas.DataFrame of shape {tuple(value.shape)}"  # type: ignore[attr-defined]
    if value is NotImplemented:
        return "NotImplemented"
    return f"an object of type {name}"


def _fmt_shape(shape: Sequence[int | None]) -> str:
    parts = ["any" if s is None else str(int(s)) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _tol_ok(got: float, expected: float, rtol: float, atol: float) -> bool:
    return abs(got - expected) <= atol + rtol * abs(expected)


# --------------------------------------------------------------------------------------------
# scalars
# --------------------------------------------------------------------------------------------


def _real(value: object, name: str, hint: str | None, integer: bool = False) -> float | int:
    """Validate an exact real scalar type and return a plain Python float/int copy of it."""
    tp = type(value)
    allowed = _INT_TYPES if integer else _REAL_TYPES
    if not _type_is(value, allowed):
        want = "an int" if integer else "a float"
        extra = ""
        if _is_tensor(value) or type(value) is np.ndarray:
            shape = _shape_of(value)
            extra = (
                " (call .item() to turn a one-element tensor/array into a Python number)"
                if shape is not None and int(np.prod(shape, dtype=np.int64)) == 1
                else ""
            )
        elif tp is bool:
            extra = " (True/False is not a number here)"
        elif integer and _type_is(value, _FLOAT_TYPES):
            extra = " (use int(...) for a count)"
        raise _fail(name, f"expected {want}, got {describe(value)}{extra}", hint)
    number: float | int = int(value) if integer else float(value)  # type: ignore[arg-type]
    if not integer and not math.isfinite(number):
        raise _fail(name, f"expected a finite number, got {number}", hint)
    return number


def check_float(
    value: object,
    expected: float | None,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """Check that ``value`` is a real number (Python/NumPy float or int, not bool) close to ``expected``.

    ``expected=None`` only checks the type and finiteness.
    """
    got = float(_real(value, name, hint))
    if expected is not None:
        exp = float(expected)
        if not _tol_ok(got, exp, rtol, atol):
            raise _fail(
                name,
                f"expected {exp:.6g} (within rtol={rtol:g}, atol={atol:g}), got {got:.6g} "
                f"(difference {got - exp:+.3g})",
                hint,
            )


def check_int(value: object, expected: int | None, name: str, hint: str | None = None) -> None:
    """Check that ``value`` is an integer (Python or NumPy int, not bool) equal to ``expected``."""
    got = int(_real(value, name, hint, integer=True))
    if expected is not None and got != int(expected):
        raise _fail(name, f"expected {int(expected)}, got {got}", hint)


def check_in_range(
    value: object,
    low: float | None,
    high: float | None,
    name: str,
    inclusive: bool = True,
    hint: str | None = None,
) -> None:
    """Check that ``value`` is a finite real number in ``[low, high]`` (``(low, high)`` if not inclusive).

    ``None`` for ``low`` or ``high`` leaves that side open.
    """
    got = float(_real(value, name, hint))
    lo_ok = low is None or (got >= low if inclusive else got > low)
    hi_ok = high is None or (got <= high if inclusive else got < high)
    if not (lo_ok and hi_ok):
        left = "(-inf" if low is None else ("[" if inclusive else "(") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + ("]" if inclusive else ")")
        raise _fail(name, f"expected a value in {left}, {right}, got {got:.6g}", hint)


# --------------------------------------------------------------------------------------------
# types
# --------------------------------------------------------------------------------------------


def check_type(
    value: object,
    expected_type: type | tuple[type, ...],
    name: str,
    hint: str | None = None,
    exact: bool = True,
) -> None:
    """Check ``type(value) is expected_type`` (``exact=False``: ``isinstance``; subclasses allowed)."""
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    ok = any(type(value) is t for t in types) if exact else isinstance(value, types)
    if not ok:
        want = " or ".join(f"{_article(_qualname(t))} {_qualname(t)}" for t in types)
        raise _fail(name, f"expected {want}, got {describe(value)}", hint)


def _is_student_proxy(value: object) -> bool:
    """True for a value that lives in the student's sandboxed kernel during secure autograding
    (``chemdl_utils.grading.bridge.StudentObject``): it is inspected through its claimed type
    names and by calling it, never by comparing it."""
    return getattr(type(value), "__chemdl_student_proxy__", False) is True


_FUNCTION_TYPES = {"builtins.function", "builtins.method", "builtins.builtin_function_or_method", "functools.partial"}


def check_callable(value: object, name: str, n_args: int | None = None, hint: str | None = None) -> None:
    """Check that ``value`` is a function (or other callable) that accepts ``n_args`` positional arguments.

    During secure autograding the student's function stays in the sandbox; then only its kind is
    checked here, and calling it with the test's arguments checks the rest.
    """
    if _is_student_proxy(value):
        if value.student_type not in _FUNCTION_TYPES:  # type: ignore[attr-defined]
            raise _fail(name, f"expected a function, got an object of type {value.student_type}", hint)  # type: ignore[attr-defined]
        return
    if value is None or not callable(value) or isinstance(value, type):
        if value is None and hint is None:
            hint = "is the answer cell above run, with `raise NotImplementedError()` replaced by your code?"
        raise _fail(name, f"expected a function, got {describe(value)}", hint)
    if n_args is None:
        return
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):
        return  # builtins without a signature: cannot check, accept
    try:
        signature.bind(*range(n_args))
    except TypeError:
        raise _fail(
            name,
            f"expected a function that takes {n_args} argument(s), got one with signature {signature}",
            hint,
        ) from None


def check_module(value: object, name: str, n_parameters: int | None = None, hint: str | None = None) -> None:
    """Check that ``value`` is a ``torch.nn.Module`` (subclasses allowed) and optionally its number of
    trainable parameters (counted by the checker with ``torch.nn.Module.parameters``).
    """
    torch = _torch()
    if _is_student_proxy(value):  # a custom layer kept in the sandbox: its parameters come back as data
        if "torch.nn.modules.module.Module" not in value.student_mro:  # type: ignore[attr-defined]
            raise _fail(name, f"expected a torch.nn.Module, got an object of type {value.student_type}", hint)  # type: ignore[attr-defined]
        parameters = [p for p in value.parameters()]  # type: ignore[attr-defined]  # iterate: no len() on a generator
        if not all(type(p) in (torch.Tensor, torch.nn.Parameter) for p in parameters):
            raise _fail(name, "the model's parameters() did not return tensors", hint)
    elif isinstance(value, torch.nn.Module):
        parameters = list(torch.nn.Module.parameters(value))
    else:
        raise _fail(name, f"expected a torch.nn.Module, got {describe(value)}", hint)
    count = 0
    for p in parameters:
        if p.requires_grad:
            count += int(np.prod(tuple(p.shape), dtype=np.int64))
    if n_parameters is not None and count != int(n_parameters):
        raise _fail(name, f"expected a model with {int(n_parameters)} trainable parameters, got {count}",
                    hint)


# --------------------------------------------------------------------------------------------
# arrays and tensors
# --------------------------------------------------------------------------------------------

_DTYPE_GROUPS = {"floating", "integer", "bool", "number"}


def _dtype_ok(value: object, dtype: Any) -> bool:
    """Does ``value`` (an exact ndarray or Tensor) have ``dtype``?

    ``dtype`` may be a torch dtype, a NumPy dtype (or anything ``np.dtype`` accepts, e.g. 'float32'),
    one of 'floating', 'integer', 'bool', 'number', or a tuple of these.
    """
    if isinstance(dtype, tuple):
        return any(_dtype_ok(value, d) for d in dtype)
    torch = _torch()
    if type(value) is np.ndarray:
        got = value.dtype
        if dtype in _DTYPE_GROUPS:
            return {
                "floating": np.issubdtype(got, np.floating),
                "integer": np.issubdtype(got, np.integer),
                "bool": got == np.bool_,
                "number": np.issubdtype(got, np.number),
            }[dtype]
        if isinstance(dtype, torch.dtype):
            if dtype == torch.bool:
                return got == np.bool_
            return got == np.dtype(str(dtype).replace("torch.", ""))
        return got == np.dtype(dtype)
    got = value.dtype  # type: ignore[attr-defined]
    if dtype in _DTYPE_GROUPS:
        return {
            "floating": got.is_floating_point,
            "integer": (not got.is_floating_point) and (not got.is_complex) and got != torch.bool,
            "bool": got == torch.bool,
            "number": got != torch.bool and not got.is_complex,
        }[dtype]
    if isinstance(dtype, torch.dtype):
        return got == dtype
    try:
        return str(got).replace("torch.", "") == str(np.dtype(dtype))
    except TypeError:
        return False


def _dtype_str(dtype: Any) -> str:
    if isinstance(dtype, tuple):
        return " or ".join(_dtype_str(d) for d in dtype)
    if dtype in _DTYPE_GROUPS:
        return {"floating": "a floating-point dtype", "integer": "an integer dtype", "bool": "dtype bool",
                "number": "a numeric dtype"}[dtype]
    if type(dtype).__module__.startswith("torch"):
        return f"dtype {dtype}"
    try:
        return f"dtype {np.dtype(dtype)}"
    except TypeError:
        return f"dtype {dtype}"


def _to_numpy_copy(value: object) -> np.ndarray:
    """A NumPy copy made by the checker from an exact ndarray / Tensor (never the student's object)."""
    if type(value) is np.ndarray:
        return np.array(value, copy=True)
    torch = _torch()
    tensor = torch.Tensor.detach(value)
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return np.array(tensor.cpu().numpy(), copy=True)


def _expected_numpy(expected: object) -> np.ndarray:
    if _is_tensor(expected):
        return _to_numpy_copy(expected)
    return np.array(expected, copy=True)


def _check_array(
    value: object,
    expected: object = None,
    name: str = "answer",
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    kind: str = "any",
    hint: str | None = None,
    allow_nan: bool = False,
) -> np.ndarray:
    """Check a NumPy array or torch tensor: exact type, shape, dtype, finiteness, then values.

    * ``kind``: ``"ndarray"`` (only ``numpy.ndarray``), ``"tensor"`` (only ``torch.Tensor``) or
      ``"any"`` (either). Subclasses (``np.matrix``, ``nn.Parameter``, custom classes) are rejected.
    * ``shape``: expected shape; ``None`` entries match any size. Defaults to ``expected``'s shape.
    * ``dtype``: see :func:`_dtype_ok`; ``None`` accepts any numeric or boolean dtype.
    * ``expected``: array-like reference values (computed by the test). Floating values are compared
      with ``|got - expected| <= atol + rtol * |expected|``; integers and booleans exactly.

    Returns the checker's NumPy copy of ``value`` (internal; the public checks return ``None``).
    """
    if kind not in ("any", "ndarray", "tensor"):
        raise ValueError(f"kind must be 'any', 'ndarray' or 'tensor', got {kind!r}")
    is_nd = type(value) is np.ndarray
    is_t = _is_tensor(value)
    wanted = {"any": "a numpy.ndarray or torch.Tensor", "ndarray": "a numpy.ndarray",
              "tensor": "a torch.Tensor"}[kind]
    exp_arr = _expected_numpy(expected) if expected is not None else None
    if shape is None and exp_arr is not None:
        shape = exp_arr.shape
    shape_txt = f" of shape {_fmt_shape(shape)}" if shape is not None else ""
    if not ((kind in ("any", "ndarray") and is_nd) or (kind in ("any", "tensor") and is_t)):
        type_hint = hint
        extra = f" {hint}" if hint else ""
        if kind == "tensor" and (is_nd or _type_is(value, (list, tuple))):
            type_hint = "convert with torch.tensor(...) (or torch.from_numpy for an array)." + extra
        elif kind == "ndarray" and is_t:
            type_hint = "convert with tensor.detach().numpy()." + extra
        elif _type_is(value, (list, tuple)):
            type_hint = "wrap the list with np.array(...) or torch.tensor(...)." + extra
        else:
            torch = _torch()
            if isinstance(value, torch.nn.Parameter):
                type_hint = "return a plain tensor, e.g. param.detach().clone()." + extra
        raise _fail(name, f"expected {wanted}{shape_txt}, got {describe(value)}", type_hint)

    got_shape = _shape_of(value)
    assert got_shape is not None
    if shape is not None:
        shape = tuple(shape)
        wrong = len(got_shape) != len(shape) or any(
            e is not None and int(e) != g for e, g in zip(shape, got_shape)
        )
        if wrong:
            kind_name = "torch.Tensor" if is_t else "numpy.ndarray"
            raise _fail(name, f"expected {_article(kind_name)} {kind_name} of shape {_fmt_shape(shape)}, "
                        f"got {describe(value)}", hint)

    if dtype is not None and not _dtype_ok(value, dtype):
        raise _fail(name, f"expected {_dtype_str(dtype)}, got {describe(value)}", hint)

    got = _to_numpy_copy(value)
    if got.dtype == object or not (np.issubdtype(got.dtype, np.number) or got.dtype == np.bool_):
        raise _fail(name, f"expected numbers, got an array of dtype {got.dtype}", hint)
    if np.issubdtype(got.dtype, np.complexfloating):
        raise _fail(name, f"expected real numbers, got complex dtype {got.dtype}", hint)
    if np.issubdtype(got.dtype, np.floating) and not allow_nan:
        bad = ~np.isfinite(got)
        if bad.any():
            n_nan = int(np.isnan(got).sum())
            n_inf = int(bad.sum()) - n_nan
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise _fail(
                name,
                f"contains {n_nan} NaN and {n_inf} infinite value(s) (first at index {first})",
                hint or "look for a division by zero, log of 0, or an exploding learning rate.",
            )

    if exp_arr is not None:
        if exp_arr.shape != got.shape:
            raise _fail(name, f"expected shape {exp_arr.shape}, got shape {got.shape}", hint)
        exact = not (np.issubdtype(exp_arr.dtype, np.floating) or np.issubdtype(got.dtype, np.floating))
        g = got.astype(np.float64)
        e = exp_arr.astype(np.float64)
        if exact:
            mismatch = g != e
        else:
            close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=allow_nan)
            mismatch = ~close
        if mismatch.any():
            idx = tuple(int(i) for i in np.argwhere(mismatch)[0])
            n_bad = int(mismatch.sum())
            where = f" at index {idx}" if idx else ""
            diff = float(np.nanmax(np.abs(g - e))) if g.size else 0.0
            tol = "" if exact else f" (rtol={rtol:g}, atol={atol:g})"
            raise _fail(
                name,
                f"{n_bad} of {g.size} value(s) differ from the expected ones{tol}; "
                f"first{where}: expected {e[idx]:.6g}, got {g[idx]:.6g}; largest difference {diff:.3g}",
                hint,
            )
    return got


def check_array(
    value: object,
    expected: object = None,
    name: str = "answer",
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    kind: str = "any",
    hint: str | None = None,
    allow_nan: bool = False,
) -> None:
    """Check a NumPy array or torch tensor: exact type, shape, dtype, finiteness, then values.

    * ``kind``: ``"ndarray"`` (only ``numpy.ndarray``), ``"tensor"`` (only ``torch.Tensor``) or
      ``"any"`` (either). Subclasses (``np.matrix``, ``nn.Parameter``, custom classes) are rejected.
    * ``shape``: expected shape; ``None`` entries match any size. Defaults to ``expected``'s shape.
    * ``dtype``: a torch or NumPy dtype, ``"floating"``, ``"integer"``, ``"bool"``, ``"number"``, or a
      tuple of these; ``None`` accepts any real numeric or boolean dtype.
    * ``expected``: array-like reference values (computed by the test). Floating values are compared
      with ``|got - expected| <= atol + rtol * |expected|``; integers and booleans exactly.
    * ``allow_nan``: accept NaN/inf (and compare NaN equal to NaN).
    """
    _check_array(value, expected, name, shape=shape, dtype=dtype, rtol=rtol, atol=atol, kind=kind, hint=hint,
                 allow_nan=allow_nan)


def check_tensor(
    value: object,
    expected: object = None,
    name: str = "answer",
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str | None = None,
    allow_nan: bool = False,
) -> None:
    """:func:`check_array` that accepts only an exact ``torch.Tensor``."""
    _check_array(value, expected, name, shape=shape, dtype=dtype, rtol=rtol, atol=atol,
                 kind="tensor", hint=hint, allow_nan=allow_nan)


# --------------------------------------------------------------------------------------------
# pandas
# --------------------------------------------------------------------------------------------


def _plain_labels(labels: Iterable[object], name: str, what: str, hint: str | None) -> list[object]:
    """Copy index/column labels into plain Python values, rejecting anything that is not str/int/float."""
    out: list[object] = []
    for label in labels:
        tp = type(label)
        if tp is str:
            out.append(str.__str__(label))  # type: ignore[arg-type]
        elif _type_is(label, _INT_TYPES):
            out.append(int(label))  # type: ignore[call-overload]
        elif _type_is(label, _FLOAT_TYPES):
            out.append(float(label))  # type: ignore[arg-type]
        else:
            raise _fail(name, f"{what} labels must be strings or numbers, found {describe(label)}", hint)
    return out


def check_dataframe(
    value: object,
    columns: Sequence[str] | None = None,
    index: Sequence[object] | None = None,
    shape: tuple[int | None, int | None] | None = None,
    expected: Any = None,
    *,
    name: str = "answer",
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """Check a ``pandas.DataFrame``: exact type, column names (in order), index labels, shape, values.

    ``expected`` may be a DataFrame or a mapping ``column -> values``; each listed column is compared
    with :func:`check_array` (numbers) or element by element as plain strings (text columns).
    Example: ``check_dataframe(atoms, columns=["element", "atomic_number"], index=range(1, 15), name="q1")``.
    """
    if columns is not None and type(columns) is str:
        raise TypeError("check_dataframe: columns must be a list of names; "
                        "pass the message prefix as name=...")
    import pandas as pd

    if type(value) is not pd.DataFrame:
        raise _fail(name, f"expected a pandas.DataFrame, got {describe(value)}", hint)
    df = value
    got_cols = _plain_labels(list(df.columns), name, "column", hint)
    if columns is not None and got_cols != list(columns):
        missing = [c for c in columns if c not in got_cols]
        extra = [c for c in got_cols if c not in columns]
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unexpected {extra}")
        if not detail:
            detail.append("same names, different order")
        raise _fail(name, f"expected columns {list(columns)}, got {got_cols} ({'; '.join(detail)})", hint)
    got_shape = (len(df.index), len(got_cols))
    if shape is not None and any(e is not None and int(e) != g for e, g in zip(shape, got_shape)):
        raise _fail(name, f"expected a DataFrame of shape {_fmt_shape(shape)}, got shape {got_shape}", hint)
    if index is not None:
        got_index = _plain_labels(list(df.index), name, "index", hint)
        want = _plain_labels(list(index), "expected index", "index", None)
        if got_index != want:
            show = got_index if len(got_index) <= 10 else got_index[:10] + ["..."]
            show_want = want if len(want) <= 10 else want[:10] + ["..."]
            raise _fail(name, f"expected index {show_want}, got {show}", hint)
    if expected is None:
        return
    if isinstance(expected, pd.DataFrame):
        items = [(c, expected[c]) for c in expected.columns]
    else:
        items = list(expected.items())
    for col, want_values in items:
        if col not in got_cols:
            raise _fail(name, f"expected a column {col!r}, got columns {got_cols}", hint)
        series = df[col]
        if not isinstance(want_values, np.ndarray):
            want_values = list(want_values)
        want_arr = np.array(want_values, copy=True)
        if want_arr.dtype.kind in "OUS":
            got_list = _plain_labels(series.tolist(), f"{name} column {col!r}", "value", hint)
            want_list = [str(v) for v in want_arr.tolist()]
            if got_list != want_list:
                padded = got_list + [None] * len(want_list)
                bad = next(i for i, (a, b) in enumerate(zip(padded, want_list)) if a != b)
                raise _fail(name, f"column {col!r} row {bad}: expected {want_list[bad]!r}, got "
                            f"{got_list[bad] if bad < len(got_list) else 'nothing'!r}", hint)
        else:
            got_arr = series.to_numpy(copy=True)
            if got_arr.dtype == object:
                raise _fail(name, f"column {col!r} should hold numbers, got dtype object", hint)
            check_array(got_arr, want_arr, f"{name} column {col!r}", rtol=rtol, atol=atol, kind="ndarray",
                        hint=hint)


# --------------------------------------------------------------------------------------------
# graphs
# --------------------------------------------------------------------------------------------


def _sorted_edges(edge_index: np.ndarray) -> np.ndarray:
    """Column order that sorts edges by (source, target)."""
    return np.lexsort((edge_index[1], edge_index[0]))


def check_graph(
    data: object,
    num_nodes: int | None = None,
    num_edges: int | None = None,
    x_dim: int | None = None,
    edge_dim: int | None = None,
    *,
    name: str = "graph",
    x: object = None,
    edge_index: object = None,
    edge_attr: object = None,
    undirected: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    hint: str | None = None,
) -> None:
    """Check a PyTorch Geometric ``Data`` graph.

    Validates the exact type, ``x`` (float tensor ``(num_nodes, x_dim)``), ``edge_index`` (long tensor
    ``(2, num_edges)`` with node ids in range), ``edge_attr`` (float tensor ``(num_edges, edge_dim)``).
    With ``undirected=True`` every edge ``i -> j`` must come with ``j -> i`` (as PyG expects for a
    molecule). Reference ``x`` is compared row by row (atom order matters); reference ``edge_index``
    and ``edge_attr`` are compared as a set of edges (column order does not matter).

    Example: ``check_graph(data, 14, 30, 6, 2, name="q2 caffeine", undirected=True)``.
    """
    from torch_geometric.data import Data

    sizes = {"num_nodes": num_nodes, "num_edges": num_edges, "x_dim": x_dim, "edge_dim": edge_dim}
    for label, arg in sizes.items():
        if arg is not None and not _type_is(arg, _INT_TYPES):
            raise TypeError(f"check_graph: {label} must be an int or None, got {describe(arg)}; pass the "
                            "message prefix as name=...")

    if type(data) is not Data:
        raise _fail(name, f"expected a torch_geometric.data.Data, got {describe(data)}",
                    hint or "build it with Data(x=..., edge_index=..., edge_attr=...)")
    torch = _torch()
    keys = set(data.keys())
    needs_attr = edge_dim is not None or edge_attr is not None
    for needed in ("x", "edge_index") + (("edge_attr",) if needs_attr else ()):
        if needed not in keys:
            raise _fail(name, f"has no '{needed}' (it has {sorted(keys)})", hint)

    gx = data.x
    x_np = _check_array(gx, x, f"{name}.x", kind="tensor", shape=(num_nodes, x_dim), dtype="floating",
                        rtol=rtol, atol=atol,
                        hint=hint or "node features are a float tensor (n_atoms, n_features)")
    n = x_np.shape[0]

    gei = data.edge_index
    ei = _check_array(gei, None, f"{name}.edge_index", kind="tensor", shape=(2, num_edges), dtype=torch.long,
                      hint=hint or "edge_index is a torch.long tensor of shape (2, num_edges)")
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise _fail(name, f"edge_index refers to node {int(ei.max()) if ei.max() >= n else int(ei.min())}, "
                    f"but the graph has nodes 0..{n - 1}", hint or "atom indices are 0-based")
    e = ei.shape[1]

    ea = None
    if "edge_attr" in keys and needs_attr:
        ea = _check_array(data.edge_attr, None, f"{name}.edge_attr", kind="tensor", shape=(e, edge_dim),
                          dtype="floating",
                          hint=hint or "edge_attr is a float tensor with one row per directed edge")

    if undirected:
        fwd = {(int(a), int(b)) for a, b in ei.T}
        missing = [(a, b) for (a, b) in sorted(fwd) if (b, a) not in fwd]
        if missing:
            a, b = missing[0]
            raise _fail(name, f"edge {a} -> {b} has no reverse edge {b} -> {a} "
                        f"({len(missing)} edge(s) lack one)",
                        hint or "PyG graphs of molecules store every bond twice, once per direction")

    if edge_index is not None:
        want_ei = _expected_numpy(edge_index).astype(np.int64)
        if want_ei.shape != ei.shape:
            raise _fail(name, f"expected edge_index of shape {want_ei.shape}, got {ei.shape}", hint)
        got_order, want_order = _sorted_edges(ei), _sorted_edges(want_ei)
        g_sorted, w_sorted = ei[:, got_order], want_ei[:, want_order]
        if not np.array_equal(g_sorted, w_sorted):
            got_set = {(int(a), int(b)) for a, b in ei.T}
            want_set = {(int(a), int(b)) for a, b in want_ei.T}
            miss, extra = sorted(want_set - got_set), sorted(got_set - want_set)
            detail = []
            if miss:
                detail.append(f"missing {miss[:5]}")
            if extra:
                detail.append(f"unexpected {extra[:5]}")
            if not detail:
                detail.append("some edges are repeated")
            raise _fail(name, f"edges differ from the molecule's bonds: {'; '.join(detail)}", hint)
        if edge_attr is not None and ea is not None:
            want_ea = _expected_numpy(edge_attr)
            check_array(ea[got_order], want_ea[want_order], f"{name}.edge_attr (sorted by edge)", rtol=rtol,
                        atol=atol, kind="ndarray",
                        hint=hint or "each directed edge carries its bond's features")


# --------------------------------------------------------------------------------------------
# one test cell = one question
# --------------------------------------------------------------------------------------------

#: (pattern in the error message, hint) for the type mistakes students make most often
_TYPE_MISTAKES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), hint) for pattern, hint in (
        (r"only (length-1|0-dimensional|size-1) arrays can be converted|only one element tensors can be converted",
         "a function for single numbers (math.exp, math.sqrt, math.log, float(...)) got a whole array; "
         "use the NumPy version (np.exp, np.sqrt, np.log), which works element by element."),
        (r"must be real number, not (list|tuple)",
         "a math.* function got a list; use np.array(...) and the NumPy functions (np.exp, ...)."),
        (r"must be real number, not (numpy\.ndarray|Tensor)",
         "a math.* function got an array or tensor; use np.exp/np.sqrt for NumPy arrays and torch.exp/torch.sqrt "
         "for tensors."),
        (r"must be Tensor, not (numpy\.ndarray|ndarray)|expected Tensor as element|"
         r"argument '\w+' \(position \d+\) must be Tensor, not numpy",
         "a torch function got a NumPy array: use NumPy functions on NumPy arrays, or convert the array with "
         "torch.tensor(...) / torch.from_numpy(...) first."),
        (r"must be Tensor, not (list|tuple)|expected np\.ndarray \(got (list|tuple)\)",
         "a torch function got a Python list: convert it with torch.tensor(...) first."),
        (r"expected np\.ndarray \(got Tensor\)|can't convert np\.ndarray|"
         r"unsupported operand type\(s\) for .*'(numpy\.ndarray|Tensor)' and '(Tensor|numpy\.ndarray)'",
         "NumPy arrays and torch tensors are mixed here: convert one side, tensor.detach().numpy() "
         "(tensor -> array) or torch.tensor(array) (array -> tensor)."),
        (r"can't call numpy\(\) on tensor that requires grad|can't convert .* tensor to numpy",
         "call tensor.detach().cpu().numpy() (detach from autograd, move to the CPU) before NumPy."),
        (r"'(list|tuple)' object has no attribute|unsupported operand type\(s\) for .*'(list|tuple)'|"
         r"can't multiply sequence by non-int|can only concatenate (list|tuple)|"
         r"list indices must be integers or slices, not tuple",
         "this is a Python list, not an array: convert it with np.array(...) (or torch.tensor(...)) first; "
         "arithmetic and .shape work on arrays, not lists."),
        (r"'Tensor' object has no attribute '(astype|copy|flatten_)'",
         "this is a torch tensor where NumPy was expected: use tensor.detach().numpy(), or the torch method "
         "(.to(dtype), .clone())."),
        (r"'numpy\.ndarray' object has no attribute '(detach|clone|float|double|long|unsqueeze|squeeze_|numpy|"
         r"backward|size_|dim|to)'",
         "this is a NumPy array where a torch tensor was expected: convert it with torch.tensor(...) or "
         "torch.from_numpy(...)."),
        (r"'NoneType' object is not callable|'NoneType' object has no attribute|"
         r"unsupported operand type\(s\) for .*'NoneType'",
         "something is None: a function without a `return` statement returns None (did you forget to "
         "return the result?)."),
    )
)


def type_mistake_hint(exc: BaseException | str) -> str | None:
    """A hint for a ``TypeError`` (or ``AttributeError``/``RuntimeError``) that usually means a type mistake:
    ``math.exp`` on an array, a list where an array is needed, torch and NumPy mixed. ``None`` if unknown."""
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    for pattern, hint in _TYPE_MISTAKES:
        if pattern.search(text):
            return hint
    return None


def _student_location(tb: TracebackType | None, test_file: str | None) -> str:
    """'in `neuron`, line 3: `return ...`' for the deepest frame of the student's own notebook code.

    Only frames that come from a notebook cell (ipykernel's cell files, ``<ipython-input-...>``) other
    than the test cell itself are quoted, so a graded test cell never shows its hidden lines.
    """
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        in_cell = ("ipykernel_" in filename or filename.startswith("<ipython-input")) and filename != test_file
        if in_cell:
            line = linecache.getline(filename, tb.tb_lineno).strip()
            where = "" if code.co_name == "<module>" else f"in `{code.co_name}`, "
            if line:
                found = f" ({where}line `{line[:120]}`)"
        tb = tb.tb_next
    return found


class question:  # noqa: N801 - used like a function: ``with question("Q1"):``
    """Wrap one test cell: ``with question("Q1"): ...`` (the checks of question Q1 inside the block).

    * all checks pass: prints ``Q1: visible checks passed`` (a right answer gets a confirmation);
    * the question is not answered yet (the answer still raises ``NotImplementedError``, or a name the
      task asks for is not defined): fails with ``CheckFailed("Q1 is not answered yet: ...")``, one
      line that says what to do, instead of a bare ``NotImplementedError:``/``NameError``;
    * a common type mistake (``math.exp`` on an array, a list instead of an array, torch and NumPy
      mixed, a missing ``return``): fails with a ``CheckFailed`` that names the error, where it
      happened in the student's code, and a hint;
    * a failed check (``CheckFailed``) and every other error pass through unchanged.

    Grading keeps its meaning: every failure is still an exception, so the cell scores 0, and the
    message is what the feedback shows. During secure autograding the student's errors arrive as
    ``StudentCodeError("NotImplementedError: ...")``; they are recognised by that text.
    """

    def __init__(self, label: str) -> None:
        if type(label) is not str or not label.strip():
            raise TypeError(f"question() needs the question's label, e.g. question('Q1'), got {label!r}")
        self.label = label.strip()
        self._test_file: str | None = None

    def __enter__(self) -> "question":
        self._test_file = sys._getframe(1).f_code.co_filename
        return self

    def _not_answered(self, detail: str) -> CheckFailed:
        return CheckFailed(f"{self.label} is not answered yet: {detail}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None:
            print(f"{self.label}: visible checks passed")
            return False
        if isinstance(exc, CheckFailed) or not isinstance(exc, Exception):
            return False
        label = self.label
        # errors of the student's code during secure autograding: "<ExceptionName>: <message>"
        if type(exc).__name__ == "StudentCodeError":
            name, _, text = str(exc).partition(":")
            name, text = name.strip(), text.strip()
            if name == "NotImplementedError":
                raise self._not_answered("replace `raise NotImplementedError()` in the answer cell with your "
                                         "code.") from None
            hint = type_mistake_hint(f"{name}: {text}")
            if hint:
                raise CheckFailed(f"{label}: your code raised {name}: {text}. Hint: {hint}") from None
            return False
        if isinstance(exc, NotImplementedError):
            raise self._not_answered("replace `raise NotImplementedError()` in the answer cell above with your "
                                     "code, run that cell, then run this one again.") from None
        where = _student_location(tb, self._test_file)
        if isinstance(exc, NameError):
            missing = getattr(exc, "name", None) or str(exc)
            if not where:  # the test cell itself needs a name the answer cell should define
                raise self._not_answered(
                    f"`{missing}` is not defined. Write it in the answer cell above (replace "
                    f"`raise NotImplementedError()`, keep the name `{missing}`) and run that cell first.") from None
            raise CheckFailed(f"{label}: your code uses `{missing}`, which is not defined{where}. Hint: a typo, "
                              "a missing import, or a cell above that has not been run.") from None
        if isinstance(exc, (TypeError, AttributeError, RuntimeError)):
            if isinstance(exc, TypeError) and "'NoneType' object is not callable" in str(exc) and not where:
                raise self._not_answered("a function the test calls is not defined (None). Run the answer cell "
                                         "above.") from None
            hint = type_mistake_hint(exc)
            if hint:
                raise CheckFailed(f"{label}: your code raised {type(exc).__name__}: {exc}{where}. "
                                  f"Hint: {hint}") from None
        return False
