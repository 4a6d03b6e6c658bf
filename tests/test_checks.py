"""Unit tests of chemdl_utils.checks: right answers pass, wrong ones fail with a helpful message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from chemdl_utils import checks
from chemdl_utils.checks import (
    CheckFailed,
    check_array,
    check_callable,
    check_dataframe,
    check_float,
    check_graph,
    check_in_range,
    check_int,
    check_module,
    check_tensor,
    check_type,
    describe,
)


class AlwaysEqual:
    """Claims to equal anything: must never pass a check."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __float__(self) -> float:
        return 0.5

    __hash__ = object.__hash__


class EqualFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class EqualArray(np.ndarray):
    def __eq__(self, other: object):  # type: ignore[override]
        return np.ones(self.shape, dtype=bool)


class EqualTensor(torch.Tensor):
    def __eq__(self, other: object):  # type: ignore[override]
        return torch.ones(self.shape, dtype=torch.bool)


def fails(match: str):
    return pytest.raises(CheckFailed, match=match)


def test_check_failed_is_an_assertion_error() -> None:
    assert issubclass(CheckFailed, AssertionError)
    assert set(checks.__all__) >= {"check_float", "check_array", "check_tensor", "check_dataframe", "check_graph",
                                   "check_callable", "check_in_range", "CheckFailed"}


# ---------------------------------------------------------------------------------------- floats


@pytest.mark.parametrize("value", [0.5, np.float64(0.5), np.float32(0.5), 0.5000000001])
def test_check_float_accepts(value: object) -> None:
    assert check_float(value, 0.5, "q1") is None


def test_check_float_accepts_ints_and_expected_none() -> None:
    check_float(3, 3.0, "q1")
    check_float(np.int64(3), 3.0, "q1")
    check_float(1.7, None, "q1")


def test_check_float_wrong_value_message() -> None:
    with fails(r"^q1 output: expected 0\.5 .*got 0\.4 .*Hint: add the bias"):
        check_float(0.4, 0.5, "q1 output", hint="add the bias")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (True, r"expected a float, got a bool"),
        ("0.5", r"expected a float, got a str"),
        ([0.5], r"expected a float, got a list of length 1"),
        (None, r"expected a float, got None"),
        (torch.tensor(0.5), r"got a torch\.Tensor of shape \(\) .*\.item\(\)"),
        (np.array([0.5]), r"got a numpy\.ndarray of shape \(1,\) .*\.item\(\)"),
        (AlwaysEqual(), r"expected a float, got an object of type .*AlwaysEqual"),
        (EqualFloat(0.1), r"expected a float, got an object of type .*EqualFloat"),
        (float("nan"), r"expected a finite number, got nan"),
        (float("inf"), r"expected a finite number, got inf"),
    ],
)
def test_check_float_rejects(value: object, match: str) -> None:
    with fails(match):
        check_float(value, 0.5, "q1")


def test_check_int() -> None:
    check_int(14, 14, "q")
    check_int(np.int64(14), 14, "q")
    with fails(r"q: expected 14, got 13"):
        check_int(13, 14, "q")
    with fails(r"expected an int, got a float .*int\(\.\.\.\)"):
        check_int(14.0, 14, "q")
    with fails(r"expected an int, got a bool"):
        check_int(True, 1, "q")


def test_check_in_range() -> None:
    check_in_range(0.3, 0.0, 1.0, "q")
    check_in_range(1.0, 0.0, 1.0, "q")
    check_in_range(5.0, None, 10.0, "q")
    with fails(r"q: expected a value in \[0, 1\], got 1\.5"):
        check_in_range(1.5, 0.0, 1.0, "q")
    with fails(r"expected a value in \(0, 1\), got 1"):
        check_in_range(1.0, 0.0, 1.0, "q", inclusive=False)
    with fails(r"expected a float"):
        check_in_range(AlwaysEqual(), 0.0, 1.0, "q")
    with fails(r"finite"):
        check_in_range(float("nan"), 0.0, 1.0, "q")


# ---------------------------------------------------------------------------------------- arrays


def test_check_array_accepts_numpy_and_torch() -> None:
    check_array(np.array([1.0, 2.0]), [1.0, 2.0], "q")
    check_array(torch.tensor([1.0, 2.0]), [1.0, 2.0], "q")
    check_array(torch.tensor([1.0, 2.0], requires_grad=True) * 1, [1.0, 2.0], "q")
    check_array(np.array([1, 2]), np.array([1, 2]), "q", dtype="integer")
    check_array(np.zeros((3, 4)), None, "q", shape=(None, 4))
    check_array(np.array([1.0, 2.0 + 1e-9]), [1.0, 2.0], "q")


def test_check_tensor_type_message() -> None:
    with fails(r"^q3: expected a torch\.Tensor of shape \(14, 6\), got a numpy\.ndarray of shape \(14, 5\).*"
               r"Hint: convert with torch\.tensor"):
        check_tensor(np.zeros((14, 5)), None, "q3", shape=(14, 6))


def test_check_array_kind_ndarray_rejects_tensor() -> None:
    with fails(r"expected a numpy\.ndarray, got a torch\.Tensor .*detach\(\)\.numpy\(\)"):
        check_array(torch.zeros(3), None, "q", kind="ndarray")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([1.0, 2.0], r"expected a numpy\.ndarray or torch\.Tensor of shape \(2,\), got a list of length 2"),
        (AlwaysEqual(), r"got an object of type .*AlwaysEqual"),
        (np.array([1.0, 2.0]).view(EqualArray), r"got an object of type .*EqualArray"),
        (torch.tensor([1.0, 2.0]).as_subclass(EqualTensor), r"got an object of type .*EqualTensor"),
        (torch.nn.Parameter(torch.tensor([1.0, 2.0])), r"Parameter.*param\.detach\(\)\.clone\(\)"),
        (None, r"got None"),
    ],
)
def test_check_array_rejects_wrong_types(value: object, match: str) -> None:
    with fails(match):
        check_array(value, [1.0, 2.0], "q")


def test_check_array_rejects_ndarray_subclasses() -> None:
    with fails(r"got an object of type .*MaskedArray"):
        check_array(np.ma.masked_array([1.0, 2.0]), [1.0, 2.0], "q")


def test_check_array_shape() -> None:
    with fails(r"q: expected a numpy\.ndarray of shape \(2, 3\), got a numpy\.ndarray of shape \(3, 2\)"):
        check_array(np.zeros((3, 2)), np.zeros((2, 3)), "q")
    with fails(r"expected a torch\.Tensor of shape \(any, 4\), got a torch\.Tensor of shape \(3,\)"):
        check_tensor(torch.zeros(3), None, "q", shape=(None, 4))


def test_check_array_dtype() -> None:
    check_tensor(torch.zeros(2, dtype=torch.long), None, "q", dtype=torch.long)
    check_array(np.zeros(2, dtype=np.float32), None, "q", dtype=np.float32)
    check_array(np.zeros(2, dtype=np.float32), None, "q", dtype=torch.float32)
    check_array(np.zeros(2), None, "q", dtype=("floating", "integer"))
    with fails(r"expected dtype torch\.int64, got a torch\.Tensor of shape \(2,\) and dtype torch\.int32"):
        check_tensor(torch.zeros(2, dtype=torch.int32), None, "q", dtype=torch.long)
    with fails(r"expected dtype float32, got a numpy\.ndarray .*float64"):
        check_array(np.zeros(2), None, "q", dtype=np.float32)
    with fails(r"expected a floating-point dtype"):
        check_tensor(torch.zeros(2, dtype=torch.long), None, "q", dtype="floating")
    with fails(r"expected numbers, got an array of dtype <U1"):
        check_array(np.array(["a", "b"]), None, "q")
    with fails(r"expected numbers, got an array of dtype object"):
        check_array(np.array([AlwaysEqual(), AlwaysEqual()], dtype=object), [1.0, 2.0], "q")


def test_check_array_values_message() -> None:
    with fails(r"^q: 1 of 3 value\(s\) differ from the expected ones \(rtol=1e-05, atol=1e-08\); first at index "
               r"\(2,\): expected 3, got 4; largest difference 1\. Hint: h"):
        check_array(np.array([1.0, 2.0, 4.0]), [1.0, 2.0, 3.0], "q", hint="h")
    with fails(r"value\(s\) differ.*first at index \(1, 0\)"):
        check_tensor(torch.tensor([[1, 2], [3, 4]]), [[1, 2], [5, 4]], "q")
    with fails(r"differ"):
        check_array(np.array([1.0, 2.0]), [1.0, 2.0001], "q", rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_array_rejects_non_finite(bad: float) -> None:
    with fails(r"contains \d NaN and \d infinite value\(s\) \(first at index \(1,\)\)"):
        check_array(np.array([1.0, bad, 3.0]), [1.0, 2.0, 3.0], "q")
    with fails(r"NaN"):
        check_tensor(torch.tensor([1.0, bad]), None, "q")
    check_array(np.array([1.0, np.nan]), [1.0, np.nan], "q", allow_nan=True)


def test_check_array_does_not_touch_the_answer() -> None:
    value = np.array([1.0, 2.0])
    check_array(value, [1.0, 2.0], "q")
    assert value.flags.writeable and value.tolist() == [1.0, 2.0]
    tensor = torch.tensor([1.0, 2.0], requires_grad=True)
    check_tensor(tensor * 2, [2.0, 4.0], "q")


# ---------------------------------------------------------------------------------------- frames


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"element": ["C", "N"], "atomic_number": [6, 7], "mass": [12.011, 14.007]},
                        index=pd.RangeIndex(1, 3, name="atom"))


def test_check_dataframe_accepts() -> None:
    check_dataframe(_frame(), ["element", "atomic_number", "mass"], [1, 2], (2, 3), name="q",
                    expected={"element": ["C", "N"], "atomic_number": [6, 7], "mass": [12.011, 14.007]})
    check_dataframe(_frame(), name="q", expected=_frame())


def test_check_dataframe_rejects() -> None:
    with fails(r"^q: expected a pandas\.DataFrame, got a numpy\.ndarray"):
        check_dataframe(_frame().to_numpy(), name="q")
    with fails(r"expected a pandas\.DataFrame, got an object of type .*AlwaysEqual"):
        check_dataframe(AlwaysEqual(), name="q")
    with fails(r"expected columns \['element', 'Z'\], got \['element', 'atomic_number', 'mass'\] "
               r"\(missing \['Z'\]; unexpected \['atomic_number', 'mass'\]\)"):
        check_dataframe(_frame(), name="q", columns=["element", "Z"])
    with fails(r"same names, different order"):
        check_dataframe(_frame(), name="q", columns=["atomic_number", "element", "mass"])
    with fails(r"expected index \[0, 1\], got \[1, 2\]"):
        check_dataframe(_frame(), name="q", index=[0, 1])
    with fails(r"expected a DataFrame of shape \(3, any\), got shape \(2, 3\)"):
        check_dataframe(_frame(), name="q", shape=(3, None))
    with fails(r"column 'element' row 1: expected 'O', got 'N'"):
        check_dataframe(_frame(), name="q", expected={"element": ["C", "O"]})
    with fails(r"q column 'mass': .*differ"):
        check_dataframe(_frame(), name="q", expected={"mass": [12.011, 15.999]})
    with fails(r"expected a column 'charge'"):
        check_dataframe(_frame(), name="q", expected={"charge": [0, 0]})
    bad = _frame()
    bad["mass"] = [AlwaysEqual(), AlwaysEqual()]
    with fails(r"column 'mass' should hold numbers"):
        check_dataframe(bad, name="q", expected={"mass": [12.011, 14.007]})


# ---------------------------------------------------------------------------------------- graphs


@pytest.fixture(scope="module")
def ethanol():
    from chemdl_utils import smiles_to_graph

    return smiles_to_graph("CCO")


def test_check_graph_accepts(ethanol) -> None:
    check_graph(ethanol, 3, 4, 6, 2, name="q", undirected=True,
                x=ethanol.x, edge_index=ethanol.edge_index.flip(1), edge_attr=ethanol.edge_attr.flip(0))


def test_check_graph_name_is_keyword(ethanol) -> None:
    with pytest.raises(TypeError, match=r"num_nodes must be an int or None, got a str .*name="):
        check_graph(ethanol, "q2")


def test_check_graph_rejects_wrong_type(ethanol) -> None:
    with fails(r"^q: expected a torch_geometric\.data\.Data, got a dict"):
        check_graph({"x": ethanol.x}, name="q")
    with fails(r"got an object of type .*AlwaysEqual"):
        check_graph(AlwaysEqual(), name="q")


def test_check_graph_rejects_one_direction(ethanol) -> None:
    from torch_geometric.data import Data

    one_way = Data(x=ethanol.x, edge_index=ethanol.edge_index[:, ::2].contiguous(), edge_attr=ethanol.edge_attr[::2])
    with fails(r"q: edge 0 -> 1 has no reverse edge 1 -> 0 \(2 edge\(s\) lack one\)"):
        check_graph(one_way, name="q", undirected=True)
    with fails(r"q\.edge_index: expected a torch\.Tensor of shape \(2, 4\), got a torch\.Tensor of shape \(2, 2\)"):
        check_graph(one_way, name="q", num_edges=4)


def test_check_graph_rejects_bad_parts(ethanol) -> None:
    from torch_geometric.data import Data

    with fails(r"q\.edge_index: expected dtype torch\.int64"):
        check_graph(Data(x=ethanol.x, edge_index=ethanol.edge_index.int()), name="q")
    with fails(r"q\.x: expected a torch\.Tensor.*got a numpy\.ndarray"):
        check_graph(Data(x=ethanol.x.numpy(), edge_index=ethanol.edge_index), name="q")
    with fails(r"refers to node 7, but the graph has nodes 0\.\.2"):
        check_graph(Data(x=ethanol.x, edge_index=torch.tensor([[0, 7], [7, 0]])), name="q")
    with fails(r"q\.x: expected a torch\.Tensor of shape \(any, 5\), got a torch\.Tensor of shape \(3, 6\)"):
        check_graph(ethanol, name="q", x_dim=5)
    with fails(r"has no 'edge_attr'"):
        check_graph(Data(x=ethanol.x, edge_index=ethanol.edge_index), name="q", edge_dim=2)
    wrong_bonds = torch.tensor([[0, 1, 0, 2], [1, 0, 2, 0]])
    with fails(r"edges differ from the molecule's bonds: missing \[\(1, 2\), \(2, 1\)\]; unexpected \[\(0, 2\), "
               r"\(2, 0\)\]"):
        check_graph(Data(x=ethanol.x, edge_index=wrong_bonds), name="q", edge_index=ethanol.edge_index)
    attr = ethanol.edge_attr.clone()
    attr[0, 0] = 1.5  # aromatic as 1.5 instead of RDKit's 12 ...
    with fails(r"q\.edge_attr \(sorted by edge\): .*differ"):
        check_graph(Data(x=ethanol.x, edge_index=ethanol.edge_index, edge_attr=attr), name="q",
                    edge_index=ethanol.edge_index, edge_attr=ethanol.edge_attr)
    with fails(r"q\.x: .*differ"):
        check_graph(ethanol, name="q", x=ethanol.x + 1)


# ---------------------------------------------------------------------------------------- others


def test_check_callable() -> None:
    check_callable(lambda x, y: x, "q", n_args=2)
    check_callable(np.maximum, "q", n_args=2)
    with fails(r"^q: expected a function, got an int"):
        check_callable(3, "q")
    with fails(r"expected a function, got None"):
        check_callable(None, "q")
    with fails(r"expected a function that takes 3 argument\(s\), got one with signature \(x\)"):
        check_callable(lambda x: x, "q", n_args=3)


def test_check_module() -> None:
    check_module(torch.nn.Linear(3, 2), "q", n_parameters=8)
    with fails(r"expected a model with 6 trainable parameters, got 8.*Hint: bias"):
        check_module(torch.nn.Linear(3, 2), "q", n_parameters=6, hint="bias")
    with fails(r"expected a torch\.nn\.Module, got an object of type .*AlwaysEqual"):
        check_module(AlwaysEqual(), "q")


def test_check_type_and_describe() -> None:
    check_type(1.0, float, "q")
    check_type(EqualFloat(1.0), float, "q", exact=False)
    with fails(r"expected a float, got an object of type .*EqualFloat"):
        check_type(EqualFloat(1.0), float, "q")
    assert describe(np.zeros((2, 3))) == "a numpy.ndarray of shape (2, 3) and dtype float64"
    assert describe(torch.zeros(2, dtype=torch.long)) == "a torch.Tensor of shape (2,) and dtype torch.int64"
    assert describe(None) == "None"
    assert describe(NotImplemented) == "NotImplemented"


class _EqualMeta(type):
    def __eq__(cls, other: object) -> bool:
        return True

    __hash__ = type.__hash__


class MetaEqual(metaclass=_EqualMeta):
    """Its *class* claims to equal every class (a trick against ``type(x) in (float, ...)``)."""

    def __float__(self) -> float:
        return 0.5

    def __index__(self) -> int:
        return 1


def test_metaclass_equality_does_not_fool_type_checks() -> None:
    assert MetaEqual == float  # the trick works on `==` ...
    with fails(r"expected a float, got an object of type .*MetaEqual"):
        check_float(MetaEqual(), 0.5, "q")  # ... but not on the checks
    with fails(r"expected an int"):
        check_int(MetaEqual(), 1, "q")
    with fails(r"got an object of type .*MetaEqual"):
        check_array(MetaEqual(), [0.5], "q")
    with fails(r"labels must be strings or numbers"):
        check_dataframe(pd.DataFrame({"a": [1]}, index=[MetaEqual()]), name="q", index=[1])


def test_a_failed_check_shows_its_message_alone_in_a_notebook(capsys):
    """IPython renders CheckFailed with _render_traceback_: the message, no frames of checks.py."""
    import pytest
    from IPython.core.interactiveshell import InteractiveShell

    from chemdl_utils.checks import CheckFailed, check_float

    with pytest.raises(CheckFailed) as info:
        check_float(0.3, 0.5, "q1")
    lines = info.value._render_traceback_()
    assert lines == [f"CheckFailed: {info.value}"] and "q1" in lines[0]
    shell = InteractiveShell.instance()
    capsys.readouterr()
    result = shell.run_cell("from chemdl_utils.checks import check_float\ncheck_float(0.3, 0.5, 'q1')")
    assert isinstance(result.error_in_exec, CheckFailed)
    shown = capsys.readouterr().out
    assert "CheckFailed: " in shown and "q1" in shown
    assert "checks.py" not in shown and "Traceback" not in shown
