"""Backpropagation written out by hand on a 2-2-1 network agrees with torch.autograd."""

from __future__ import annotations

import pytest
import torch

from chemdl_utils import activations as A


@pytest.mark.parametrize("activation", list(A.ACTIVATIONS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_backprop_equals_autograd(activation, seed):
    params = A.init_221(seed)
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(16, 2, generator=g, dtype=torch.float64)
    y = torch.randn(16, generator=g, dtype=torch.float64)
    loss, grads = A.backprop_221(params, x, y, activation)
    loss_ag, grads_ag = A.autograd_221(params, x, y, activation)
    torch.testing.assert_close(loss, loss_ag)
    assert grads.keys() == grads_ag.keys() == params.keys()
    for k in grads:
        assert grads[k].shape == params[k].shape
        torch.testing.assert_close(grads[k], grads_ag[k], rtol=1e-10, atol=1e-12)


def test_hand_gradient_matches_finite_differences():
    params = A.init_221(3)
    x = torch.tensor([[0.5, -1.0], [1.5, 0.2]], dtype=torch.float64)
    y = torch.tensor([1.0, -0.5], dtype=torch.float64)
    _, grads = A.backprop_221(params, x, y, "tanh")
    eps = 1e-6
    for k, v in params.items():
        flat = v.reshape(-1)
        for i in range(flat.numel()):
            plus = {n: t.clone() for n, t in params.items()}
            minus = {n: t.clone() for n, t in params.items()}
            plus[k].reshape(-1)[i] += eps
            minus[k].reshape(-1)[i] -= eps
            numeric = (A.backprop_221(plus, x, y, "tanh")[0] - A.backprop_221(minus, x, y, "tanh")[0]) / (2 * eps)
            assert float(grads[k].reshape(-1)[i]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-8)


def test_gradient_descent_with_hand_gradients_lowers_the_loss():
    params = A.init_221(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g, dtype=torch.float64)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1]
    first, _ = A.backprop_221(params, x, y, "tanh")
    for _ in range(200):
        loss, grads = A.backprop_221(params, x, y, "tanh")
        params = {k: params[k] - 0.5 * grads[k] for k in params}
    assert float(loss) < 0.3 * float(first)


def test_bad_shapes_are_reported():
    params = A.init_221(0)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        A.backprop_221(params, torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        A.backprop_221(params, torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="missing"):
        A.backprop_221({"W1": params["W1"]}, torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
