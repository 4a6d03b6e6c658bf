"""A safe, pickle-free value format between a student's kernel and the trusted grader.

The same source runs on both sides: imported here, and sent as text into the student's kernel
(``AGENT_SOURCE``), which cannot be trusted to run it faithfully. So only *decoding in the trusted
process* matters for security, and it is strict: JSON, with tagged values that rebuild only plain
data of types the grader chooses (``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
``bytes``, ``list``, ``tuple``, ``dict``, ``set``, NumPy arrays and scalars of non-object dtypes
read with ``allow_pickle=False``, torch tensors rebuilt from such arrays, pandas frames, RDKit
molecules rebuilt from a Mol block, PyG ``Data`` rebuilt from tensors, torch dtypes, and standard
torch layers (``Linear``, ``Sequential``, activations) rebuilt from their sizes and weights by the
receiving side's own torch). Anything else the student
returns (a function, a model, an object with a rigged ``__eq__``) stays in the kernel and comes
back as a *reference* (``{"t": "ref"}``), which the trusted side wraps in a ``StudentObject`` that
never compares equal to anything.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any, Callable

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
#: largest array, layer or molecule the grader rebuilds from one value: sizes are checked from the
#: declared shape *before* anything is allocated, so a tiny payload claiming a huge object is
#: refused at no cost
MAX_ARRAY_BYTES = 256 * 2**20
MAX_LAYER_PARAMETERS = 32 * 2**20
MAX_GRAPH_NODES = 5_000_000
MAX_MOL_BYTES = 16 * 2**20
_NPY_KINDS = set("biufcSU")


class CodecError(ValueError):
    """A payload from the student's kernel is not well-formed."""


def _npy_bytes(arr: Any) -> str:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _npy_load(text: Any) -> Any:
    import numpy as np
    from numpy.lib import format as npy_format

    if not isinstance(text, str):
        raise CodecError("array payload is not text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        buf = io.BytesIO(raw)
        version = npy_format.read_magic(buf)
        read_header = {(1, 0): npy_format.read_array_header_1_0,
                       (2, 0): npy_format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError("unsupported .npy version")
        shape, _, dtype = read_header(buf)  # the header only: nothing is allocated yet
    except Exception as exc:  # noqa: BLE001 - any malformed payload is a codec error
        raise CodecError(f"bad array payload: {type(exc).__name__}") from None
    if dtype.kind not in _NPY_KINDS or dtype.hasobject:
        raise CodecError("array payload has a non-plain dtype")
    count = 1
    for n in shape:
        count *= int(n)
    declared = count * dtype.itemsize
    if declared > MAX_ARRAY_BYTES:
        raise CodecError(f"array of {declared} bytes is larger than the grader accepts ({MAX_ARRAY_BYTES})")
    if declared != len(raw) - buf.tell():
        raise CodecError("array payload does not hold the data its header declares")
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise CodecError(f"bad array payload: {type(exc).__name__}") from None
    if type(arr) is not np.ndarray or arr.dtype.kind not in _NPY_KINDS:
        raise CodecError("array payload has a non-plain dtype")
    return arr


def encode(value: Any, make_ref: Callable[[Any], dict] | None = None, depth: int = 0) -> Any:
    """JSON-able form of ``value``; objects that are not plain data go through ``make_ref``."""
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return {"t": "v", "v": value}
    if t is int:
        return {"t": "i", "v": str(value)}
    if t is float:
        return {"t": "f", "v": repr(value)}
    if t is complex:
        return {"t": "c", "v": [repr(value.real), repr(value.imag)]}
    if t is bytes:
        return {"t": "b", "v": base64.b64encode(value).decode("ascii")}
    if t in (list, tuple, set, frozenset):
        items = list(value)
        if len(items) > MAX_ITEMS:
            raise CodecError("sequence too long")
        tag = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}[t]
        return {"t": tag, "v": [encode(v, make_ref, depth + 1) for v in items]}
    if t is dict:
        return {"t": "dict", "v": [[encode(k, make_ref, depth + 1), encode(v, make_ref, depth + 1)]
                                   for k, v in value.items()]}
    mod = t.__module__.split(".")[0]
    if mod == "numpy":
        import numpy as np

        if t is np.ndarray and value.dtype.kind in _NPY_KINDS:
            return {"t": "nd", "v": _npy_bytes(value)}
        if isinstance(value, np.generic) and value.dtype.kind in _NPY_KINDS:
            return {"t": "np", "v": _npy_bytes(np.asarray(value))}
    if mod == "torch":
        import torch

        if t is torch.dtype:
            return {"t": "dtype", "v": str(value).replace("torch.", "")}
        if _standard_layers_only(value):
            return _encode_module(value, make_ref, depth)
        if t in (torch.Tensor, torch.nn.Parameter) and value.layout == torch.strided:
            tensor = value.detach().cpu()
            if tensor.dtype == torch.bfloat16:
                tensor = tensor.float()
            return {"t": "torch", "v": _npy_bytes(tensor.numpy().copy()),
                    "g": bool(value.requires_grad), "p": t is torch.nn.Parameter}
    if mod == "pandas":
        import pandas as pd

        if t is pd.DataFrame and value.columns.is_unique:
            return {"t": "df", "cols": [encode(c, make_ref, depth + 1) for c in value.columns],
                    "v": [encode(_plain_column(value[c]), make_ref, depth + 1) for c in value.columns],
                    "idx": encode(_plain_column(value.index), make_ref, depth + 1)}
        if t is pd.Series:
            return {"t": "series", "name": encode(value.name, make_ref, depth + 1),
                    "v": encode(_plain_column(value), make_ref, depth + 1),
                    "idx": encode(_plain_column(value.index), make_ref, depth + 1)}
    if mod == "rdkit" and t.__name__ in ("Mol", "RWMol"):
        from rdkit import Chem

        # RDKit's own binary form with every property: explicit hydrogens, charges, stereo and
        # properties arrive exactly as the test built them (a Mol block would change [NH4+])
        blob = value.ToBinary(Chem.PropertyPickleOptions.AllProps)
        return {"t": "mol", "v": base64.b64encode(blob).decode("ascii")}
    if mod == "torch_geometric" and t.__name__ == "Data":
        return {"t": "pyg", "v": encode({str(k): v for k, v in value.items()}, make_ref, depth + 1)}
    if _is_pyg_batch(value):  # PyG makes Batch classes on the fly (``abc.DataBatch``): send the graphs
        return {"t": "pygbatch", "v": [encode(g, make_ref, depth + 1) for g in value.to_data_list()]}
    if make_ref is None:
        raise CodecError(f"cannot send a {t.__module__}.{t.__qualname__} (send plain data)")
    return make_ref(value)


#: standard torch layers sent as data (class name -> constructor arguments read off the layer):
#: rebuilt by the receiving side with its own torch, so a student's patched ``forward`` never runs
#: in the grader, while tests can still inspect and call the student's layers directly
_MODULES: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features"),
    "Sequential": (),
    "ReLU": (),
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "Tanh": (),
    "Sigmoid": (),
    "Identity": (),
    "Dropout": ("p",),
}


def _standard_layers_only(value: Any) -> bool:
    """True for a layer of an exact :data:`_MODULES` class whose sub-layers all are too."""
    import torch

    for m in value.modules() if isinstance(value, torch.nn.Module) else [value]:
        name = type(m).__name__
        if name not in _MODULES or type(m) is not getattr(torch.nn, name, None):
            return False
    return True


def _encode_module(value: Any, make_ref: Callable[[Any], dict] | None, depth: int) -> dict:
    args = {name: getattr(value, name) for name in _MODULES[type(value).__name__]}
    if type(value).__name__ == "Linear":
        args["bias"] = value.bias is not None
    own = {k: v for k, v in value.state_dict().items() if "." not in k}  # children carry their own
    return {"t": "module", "kind": type(value).__name__, "args": encode(args, None, depth + 1),
            "state": encode(own, None, depth + 1), "training": bool(value.training),
            "children": [encode(c, make_ref, depth + 1) for c in value.children()]}


def _decode_module(obj: dict, make_proxy: Callable[[dict], Any] | None, depth: int) -> Any:
    import torch

    kind = obj.get("kind")
    if type(kind) is not str or kind not in _MODULES:
        raise CodecError("malformed module")
    args = decode(obj.get("args"), None, depth + 1)
    allowed = set(_MODULES[kind]) | ({"bias"} if kind == "Linear" else set())
    if type(args) is not dict or set(args) != allowed or any(type(v) not in (int, float, bool) for v in args.values()):
        raise CodecError("malformed module arguments")
    children = obj.get("children")
    if type(children) is not list:
        raise CodecError("malformed module children")
    if kind == "Sequential":
        module = torch.nn.Sequential(*[decode(c, make_proxy, depth + 1) for c in children])
        if not all(isinstance(m, torch.nn.Module) for m in module):
            raise CodecError("a Sequential may only hold standard layers")
    elif children:
        raise CodecError("malformed module children")
    else:
        if kind == "Linear":
            sizes = (args["in_features"], args["out_features"])
            if any(type(n) is not int or n < 0 for n in sizes) or sizes[0] * sizes[1] > MAX_LAYER_PARAMETERS:
                raise CodecError(f"a Linear layer of {sizes} is larger than the grader accepts")
        try:  # the meta device allocates nothing; the decoded tensors are assigned below
            module = getattr(torch.nn, kind)(**args, **({"device": "meta"} if kind == "Linear" else {}))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise CodecError(f"malformed {kind} arguments: {str(exc)[:200]}") from None
    state = decode(obj.get("state"), None, depth + 1)
    if type(state) is not dict or any(type(k) is not str for k in state):
        raise CodecError("malformed module state")
    try:
        module.load_state_dict(state, strict=kind != "Sequential", assign=True)
    except (RuntimeError, TypeError) as exc:
        raise CodecError(f"module state does not fit a {kind}: {str(exc)[:200]}") from None
    if any(t.is_meta for t in module.state_dict().values()):
        raise CodecError(f"module state does not fit a {kind}")
    module.train(obj.get("training") is True)
    return module


def _is_pyg_batch(value: Any) -> bool:
    import sys

    pyg_data = sys.modules.get("torch_geometric.data")
    if pyg_data is None:
        return False
    batch = pyg_data.Batch
    return isinstance(value, batch) and type(value).__mro__[1] is batch and type(value).__name__ == "DataBatch"


def _plain_column(col: Any) -> Any:
    import numpy as np

    arr = col.to_numpy()
    if arr.dtype.kind == "O":
        return [v if type(v) in (str, int, float, bool) or v is None else str(v) for v in arr.tolist()]
    return np.array(arr, copy=True)


def decode(obj: Any, make_proxy: Callable[[dict], Any] | None = None, depth: int = 0) -> Any:
    """Rebuild a value from ``encode``'s output; strict about every field."""
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if type(obj) is not dict or type(obj.get("t")) is not str:
        raise CodecError("malformed value")
    tag, v = obj["t"], obj.get("v")
    if tag == "v":
        if v is None or type(v) in (bool, str):
            return v
        raise CodecError("malformed plain value")
    if tag == "i":
        if type(v) is not str or len(v) > 5000:
            raise CodecError("malformed int")
        return int(v)
    if tag == "f":
        if type(v) is not str or len(v) > 64:
            raise CodecError("malformed float")
        return float(v)
    if tag == "c":
        if type(v) is not list or len(v) != 2 or any(type(x) is not str or len(x) > 64 for x in v):
            raise CodecError("malformed complex")
        return complex(float(v[0]), float(v[1]))
    if tag == "b":
        if type(v) is not str:
            raise CodecError("malformed bytes")
        return base64.b64decode(v.encode("ascii"), validate=True)
    if tag in ("list", "tuple", "set"):
        if type(v) is not list:
            raise CodecError("malformed sequence")
        items = [decode(x, make_proxy, depth + 1) for x in v]
        if tag == "list":
            return items
        if tag == "tuple":
            return tuple(items)
        return set(items)
    if tag == "dict":
        if type(v) is not list or any(type(p) is not list or len(p) != 2 for p in v):
            raise CodecError("malformed dict")
        return {decode(k, make_proxy, depth + 1): decode(x, make_proxy, depth + 1) for k, x in v}
    if tag == "nd":
        return _npy_load(v)
    if tag == "np":
        arr = _npy_load(v)
        if arr.ndim != 0:
            raise CodecError("malformed numpy scalar")
        return arr[()]
    if tag == "torch":
        import torch

        arr = _npy_load(v)
        if arr.dtype.kind not in "biufc":
            raise CodecError("malformed tensor")
        tensor = torch.from_numpy(arr.copy())
        if obj.get("p") is True:
            return torch.nn.Parameter(tensor, requires_grad=bool(obj.get("g")))
        if obj.get("g") is True and tensor.is_floating_point():
            tensor.requires_grad_(True)
        return tensor
    if tag == "dtype":
        import torch

        dtype = getattr(torch, v, None) if type(v) is str and v.isidentifier() else None
        if type(dtype) is not torch.dtype:
            raise CodecError("malformed dtype")
        return dtype
    if tag == "module":
        return _decode_module(obj, make_proxy, depth)
    if tag in ("df", "series"):
        import pandas as pd

        index = decode(obj.get("idx"), None, depth + 1)
        if tag == "series":
            return pd.Series(decode(v, None, depth + 1), index=index, name=decode(obj.get("name"), None, depth + 1))
        cols = obj.get("cols")
        if type(cols) is not list or type(v) is not list or len(cols) != len(v):
            raise CodecError("malformed data frame")
        names = [decode(c, None, depth + 1) for c in cols]
        data = {n: decode(c, None, depth + 1) for n, c in zip(names, v)}
        return pd.DataFrame(data, index=index, columns=names)
    if tag == "mol":
        from rdkit import Chem

        if type(v) is not str or len(v) > MAX_MOL_BYTES * 4 // 3 + 4:
            raise CodecError("malformed molecule")
        try:
            mol = Chem.Mol(base64.b64decode(v.encode("ascii"), validate=True))
        except Exception:  # noqa: BLE001 - RDKit rejects a malformed pickle with various errors
            raise CodecError("malformed molecule") from None
        if mol is None:
            raise CodecError("malformed molecule")
        return mol
    if tag == "pyg":
        from torch_geometric.data import Data

        fields = decode(v, None, depth + 1)
        if type(fields) is not dict or any(type(k) is not str for k in fields):
            raise CodecError("malformed graph")
        _check_graph_size(fields)
        return Data(**fields)
    if tag == "pygbatch":
        from torch_geometric.data import Batch, Data

        if type(v) is not list or not v:
            raise CodecError("malformed graph batch")
        graphs = [decode(g, None, depth + 1) for g in v]
        if any(type(g) is not Data for g in graphs):
            raise CodecError("malformed graph batch")
        return Batch.from_data_list(graphs)
    if tag == "ref":
        if make_proxy is None:
            raise CodecError("unexpected object reference")
        if type(obj.get("id")) is not int:
            raise CodecError("malformed reference")
        return make_proxy(obj)
    raise CodecError(f"unknown value tag {tag[:20]!r}")


def _check_graph_size(fields: dict) -> None:
    """Refuse a graph whose declared node count is implausible or contradicts its tensors (PyG
    would allocate per declared node, e.g. the ``batch`` vector, before anything failed)."""
    import torch

    num_nodes = fields.get("num_nodes")
    x = fields.get("x")
    if num_nodes is not None:
        if type(num_nodes) is not int or not 0 <= num_nodes <= MAX_GRAPH_NODES:
            raise CodecError(f"a graph declaring {str(num_nodes)[:20]} nodes is larger than the grader accepts")
        if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] != num_nodes:
            raise CodecError("a graph's num_nodes contradicts its node features")
    if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] > MAX_GRAPH_NODES:
        raise CodecError("a graph with more nodes than the grader accepts")
    for key, value in fields.items():
        if key.endswith("index") and isinstance(value, torch.Tensor) and value.numel():
            if value.is_floating_point() or int(value.max()) > MAX_GRAPH_NODES or int(value.min()) < 0:
                raise CodecError(f"a graph's {key} refers to nodes outside the accepted range")


def dumps(value: Any, make_ref: Callable[[Any], dict] | None = None) -> str:
    return json.dumps(encode(value, make_ref), allow_nan=False)


def loads(text: str, make_proxy: Callable[[dict], Any] | None = None, max_chars: int = 64 * 1024 * 1024) -> Any:
    if type(text) is not str:
        raise CodecError("payload is not text")
    if len(text) > max_chars:
        raise CodecError(f"payload larger than {max_chars} characters")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise CodecError("payload is not JSON") from None
    return decode(obj, make_proxy)

