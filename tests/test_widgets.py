"""The activation explorer: one curve function behind a static plotly figure and a live widget."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chemdl_utils import activations as A
from chemdl_utils import widgets as W

X = np.linspace(-4, 4, 41)


@pytest.fixture(scope="module")
def static_fig():
    return W.activation_explorer(mode="static", activation="elu", x_range=(-4, 4), n_points=41)


def test_neuron_curves_are_the_activation_and_its_chain_rule():
    y, dy = W.neuron_curves("elu", X, w=2.0, b=-1.0, alpha=0.5)
    z = torch.as_tensor(2.0 * X - 1.0)
    np.testing.assert_allclose(y, A.elu(z, 0.5).numpy())
    np.testing.assert_allclose(dy, 2.0 * A.elu_grad(z, 0.5).numpy())
    # and dy/dx agrees with autograd through the whole neuron
    x = torch.as_tensor(X).requires_grad_(True)
    (g,) = torch.autograd.grad(A.elu(2.0 * x - 1.0, 0.5).sum(), x)
    np.testing.assert_allclose(dy, g.numpy())
    y, dy = W.neuron_curves("maxout", X, w2=0.0)
    np.testing.assert_allclose(y, np.maximum(X, 0.0))
    with pytest.raises(ValueError, match="has no parameter"):
        W.neuron_curves("relu", X, alpha=1.0)


def test_every_slider_default_is_on_its_grid():
    for specs in W.EXPLORER_PARAMS.values():
        for spec in specs:
            assert np.isclose(spec.values(), spec.default).sum() == 1
    assert set(W.EXPLORER_PARAMS) == set(A.ACTIVATIONS)


def test_static_figure_has_a_dropdown_and_the_expected_sliders(static_fig):
    fig = static_fig
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == [a.label for a in A.ACTIVATIONS.values()]
    assert menu.active == list(A.ACTIVATIONS).index("elu")
    # the sliders shown first are ELU's: w, b, alpha, each with one step per grid value
    specs = W.EXPLORER_PARAMS["elu"]
    assert len(fig.layout.sliders) == len(specs)
    for slider, spec in zip(fig.layout.sliders, specs):
        assert [float(s.label) for s in slider.steps] == pytest.approx(list(spec.values()))
        assert float(slider.steps[slider.active].label) == pytest.approx(spec.default)
    # each dropdown entry brings its own sliders
    for button, (name, specs) in zip(menu.buttons, W.EXPLORER_PARAMS.items()):
        sliders = button.args[1]["sliders"]
        assert [s["currentvalue"]["prefix"] for s in sliders] == [f"{p.label} = " for p in specs], name
    # two traces (y and dy/dx) per activation, parameter and slider position
    expected = sum(2 * len(spec.values()) for specs in W.EXPLORER_PARAMS.values() for spec in specs)
    assert len(fig.data) == expected
    assert sum(bool(t.visible) for t in fig.data) == 2


def _y(trace: dict) -> np.ndarray:
    y = trace["y"]
    if isinstance(y, dict):  # plotly's typed-array encoding: {"dtype": "f4", "bdata": base64}
        import base64

        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    return np.asarray(y, dtype=np.float64)


def test_static_traces_equal_the_activation_values(static_fig):
    data = static_fig.to_dict()["data"]  # plain dicts: much faster to walk than fig.data
    x = np.linspace(-4, 4, 41)  # the grid the fixture asked for
    for k in range(0, len(data), 2):
        trace, deriv = data[k], data[k + 1]
        assert trace["x0"] == pytest.approx(-4.0) and trace["dx"] == pytest.approx(0.2)
        assert len(_y(trace)) == len(x)
        label, setting = trace["name"].split(", ")
        name = next(key for key, a in A.ACTIVATIONS.items() if a.label == label)
        pname, value = setting.split("=")
        y_ref, dy_ref = W.neuron_curves(name, x, **{pname: float(value)})
        np.testing.assert_allclose(_y(trace), y_ref, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(_y(deriv), dy_ref, rtol=1e-6, atol=1e-6)
    # the visible default curve of ELU is ELU itself
    shown = [t for t in data if t.get("visible")]
    np.testing.assert_allclose(_y(shown[0]), A.elu(torch.as_tensor(x)).numpy(), atol=1e-6)


def test_slider_steps_show_exactly_one_curve_pair(static_fig):
    fig = static_fig
    for slider in fig.layout.sliders:
        for step in slider.steps:
            visible, indices = step.args
            assert sum(visible["visible"]) == 2
            assert len(visible["visible"]) == len(indices)
            shown = [indices[i] for i, v in enumerate(visible["visible"]) if v]
            names = {fig.data[i].name for i in shown}
            assert len(names) == 1 and names.pop().startswith("ELU")


def test_live_explorer_recomputes_on_every_change():
    ipywidgets = pytest.importorskip("ipywidgets")
    box = W.activation_explorer(mode="live", activation="elu", n_points=41)
    assert isinstance(box, ipywidgets.Box)
    assert box.dropdown.value == "elu"
    n = box.n_updates
    box.sliders["alpha"].value = 0.5
    assert box.n_updates == n + 1
    x, y, dy = box.curves
    np.testing.assert_allclose(y, W.neuron_curves("elu", x, alpha=0.5)[0])
    box.sliders["w"].value = -2.0
    x, y, dy = box.curves
    np.testing.assert_allclose(dy, W.neuron_curves("elu", x, alpha=0.5, w=-2.0)[1])
    box.dropdown.value = "maxout"
    assert box.sliders["alpha"].layout.display == "none"
    assert box.sliders["w1"].layout.display is None
    np.testing.assert_allclose(box.curves[1], W.neuron_curves("maxout", x)[0])


def test_auto_mode_outside_a_kernel_is_static_and_bad_arguments_raise(monkeypatch):
    calls = []
    monkeypatch.setattr(W, "_static_figure", lambda start, x: calls.append(("static", start, len(x))))
    monkeypatch.setattr(W, "_live_explorer", lambda start, x: calls.append(("live", start, len(x))))
    W.activation_explorer(n_points=5)
    monkeypatch.setattr(W, "_in_kernel", lambda: True)
    W.activation_explorer(activation="ReLU", n_points=7)
    assert calls == [("static", "elu", 5), ("live", "relu", 7)]
    with pytest.raises(ValueError, match="mode must be"):
        W.activation_explorer(mode="interactive")
    with pytest.raises(ValueError, match="unknown activation"):
        W.activation_explorer(activation="softplus")
    with pytest.raises(ValueError, match="x_range"):
        W.activation_explorer(x_range=(1, -1))
