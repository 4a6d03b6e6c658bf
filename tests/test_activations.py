"""The lecture's six activations: formulas vs PyTorch's own, derivatives vs autograd, the table."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from chemdl_utils import activations as A

# avoid the kinks at 0 (derivative undefined there); float64 for tight tolerances
X = torch.cat([torch.linspace(-8, -1e-3, 400), torch.linspace(1e-3, 8, 400)]).double()

TORCH_REFERENCE = {
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, negative_slope=p.get("slope", 0.1)),
    "tanh": lambda x, p: torch.tanh(x),
    "relu": lambda x, p: F.relu(x),
    "elu": lambda x, p: F.elu(x, alpha=p.get("alpha", 1.0)),
    "maxout": lambda x, p: torch.maximum(p.get("w1", 1.0) * x + p.get("b1", 0.0), p.get("w2", -0.5) * x + p.get("b2", 0.0)),
}

CASES = [
    ("sigmoid", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"slope": 0.3}),
    ("tanh", {}),
    ("relu", {}),
    ("elu", {}),
    ("elu", {"alpha": 0.4}),
    ("maxout", {}),
    ("maxout", {"w1": 2.0, "b1": 0.5, "w2": -1.0, "b2": 0.25}),
]


def test_registry_has_the_lectures_six_in_order():
    assert list(A.ACTIVATIONS) == ["sigmoid", "leaky_relu", "tanh", "maxout", "relu", "elu"]
    assert A.get_activation("Leaky ReLU") is A.ACTIVATIONS["leaky_relu"]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        A.get_activation("swish")


@pytest.mark.parametrize("name, params", CASES)
def test_function_matches_torch(name, params):
    act = A.get_activation(name)
    torch.testing.assert_close(act(X, **params), TORCH_REFERENCE[name](X, params), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, params", CASES)
def test_derivative_matches_autograd_of_torch_reference(name, params):
    act = A.get_activation(name)
    x = X.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(TORCH_REFERENCE[name](x, params).sum(), x)
    torch.testing.assert_close(act.derivative_at(X, **params), g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, params", CASES)
def test_derivative_matches_autograd_of_our_function(name, params):
    act = A.get_activation(name)
    x = X.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(act(x, **params).sum(), x)
    torch.testing.assert_close(act.derivative_at(X, **params), g, rtol=1e-10, atol=1e-12)


def test_kink_conventions_follow_pytorch():
    zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    for ours, ref in ((A.relu_grad, F.relu), (lambda z: A.leaky_relu_grad(z, 0.1), lambda z: F.leaky_relu(z, 0.1)),
                      (lambda z: A.elu_grad(z, 0.5), lambda z: F.elu(z, alpha=0.5))):
        (g,) = torch.autograd.grad(ref(zero).sum(), zero)
        torch.testing.assert_close(ours(zero.detach()), g)


def test_maxout_with_vector_weights_is_the_max_of_two_dot_products():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    w1, w2 = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    expected = torch.stack([x @ w1 + 0.2, x @ w2 - 0.1]).max(0).values
    torch.testing.assert_close(A.maxout(x, w1, 0.2, w2, -0.1), expected)
    xr = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(A.maxout(xr, w1, 0.2, w2, -0.1).sum(), xr)
    torch.testing.assert_close(A.maxout_grad(x, w1, 0.2, w2, -0.1), grad)
    with pytest.raises(ValueError, match="maxout weight has 2 entries"):
        A.maxout(x, w1[:2], 0.0, w2[:2], 0.0)


def test_special_cases_of_maxout_are_relu_and_leaky_relu():
    torch.testing.assert_close(A.maxout(X, 1.0, 0.0, 0.0, 0.0), A.relu(X))
    torch.testing.assert_close(A.maxout(X, 1.0, 0.0, 0.1, 0.0), A.leaky_relu(X, 0.1))


def test_no_overflow_at_extreme_inputs():
    big = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    for act in A.ACTIVATIONS.values():
        assert torch.isfinite(act(big)).all(), act.name
        assert torch.isfinite(act.derivative_at(big)).all(), act.name


def test_invalid_parameters_raise_helpful_errors():
    with pytest.raises(ValueError, match="slope must be in"):
        A.leaky_relu(X, slope=1.5)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        A.elu(X, alpha=-1)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        A.relu("1.0")


def test_numbers_and_arrays_are_accepted():
    import numpy as np

    assert float(A.relu(-2.0)) == 0.0
    torch.testing.assert_close(A.sigmoid(np.zeros(3)), torch.full((3,), 0.5, dtype=torch.get_default_dtype()))


def test_activation_table_is_computed_correctly():
    t = A.activation_table()
    assert list(t.index) == [a.label for a in A.ACTIVATIONS.values()]
    assert t.loc["Sigmoid", "range"] == "(0, 1)"
    assert t.loc["tanh", "range"] == "(−1, 1)"
    assert t.loc["ReLU", "range"] == "[0, ∞)"
    assert t.loc["Leaky ReLU", "range"] == "(−∞, ∞)"
    assert t.loc["ELU", "range"] == "(−1, ∞)"
    assert t.loc["Sigmoid", "max |f'(x)|"] == pytest.approx(0.25)
    assert t.loc["Sigmoid", "saturates"] == "x → −∞, x → +∞"
    assert t.loc["ReLU", "dead for x < 0"] == "yes"
    assert (t.drop("ReLU")["dead for x < 0"] == "no").all()
    assert t.loc["Leaky ReLU", "saturates"] == "no"
    assert t.loc["Sigmoid", "f(0)"] == 0.5
