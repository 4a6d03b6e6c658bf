"""The lecture's six activation functions, their derivatives, and the chain rule on a tiny network.

Every function takes and returns a :class:`torch.Tensor` and is written out from its formula (no
``torch.nn.functional`` inside), so a reader can compare it line by line with the lecture; the
tests check each one against PyTorch's own implementation and its derivative against autograd.

========== ============================================== =========================
name       formula                                        derivative
========== ============================================== =========================
sigmoid    1 / (1 + exp(-x))                              s(x) (1 - s(x))
leaky_relu max(slope x, x), slope = 0.1                   1 if x > 0 else slope
tanh       tanh(x)                                        1 - tanh(x)^2
maxout     max(w1 x + b1, w2 x + b2)                      w1 where piece 1 wins, else w2
relu       max(0, x)                                      1 if x > 0 else 0
elu        x if x >= 0 else alpha (exp(x) - 1)            1 if x > 0 else alpha exp(x)
========== ============================================== =========================

At the kinks (x = 0, or where the two maxout pieces meet) the derivative is not defined; the
functions here use PyTorch's conventions (ReLU' (0) = 0, leaky ReLU' (0) = slope, ELU'(0) = alpha),
so that :func:`torch.autograd.grad` and the hand-written derivatives agree everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch
from torch import Tensor

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "sigmoid",
    "sigmoid_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "tanh",
    "tanh_grad",
    "maxout",
    "maxout_grad",
    "relu",
    "relu_grad",
    "elu",
    "elu_grad",
    "activation_table",
    "init_221",
    "forward_221",
    "backprop_221",
    "autograd_221",
]


def _tensor(x: Tensor | float | np.ndarray, name: str = "x") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, np.ndarray, list, tuple)):
        return torch.as_tensor(x, dtype=torch.get_default_dtype())
    raise TypeError(f"{name} must be a torch.Tensor, a NumPy array or a number, got {type(x).__name__}")


# --- the six functions and their derivatives ---------------------------------------------------


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``; output in (0, 1)."""
    x = _tensor(x)
    return 1.0 / (1.0 + torch.exp(-x))


def sigmoid_grad(x: Tensor) -> Tensor:
    """``d sigmoid / dx = sigmoid(x) * (1 - sigmoid(x))``; at most 0.25 (at x = 0)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def _check_slope(slope: float) -> None:
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"slope must be in [0, 1) so that max(slope*x, x) is a leaky ReLU, got {slope}")


def leaky_relu(x: Tensor, slope: float = 0.1) -> Tensor:
    """Leaky ReLU ``max(slope * x, x)`` (the lecture uses slope = 0.1)."""
    _check_slope(slope)
    x = _tensor(x)
    return torch.maximum(slope * x, x)


def leaky_relu_grad(x: Tensor, slope: float = 0.1) -> Tensor:
    """``1`` for x > 0, ``slope`` for x <= 0: the gradient never vanishes completely."""
    _check_slope(slope)
    x = _tensor(x)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent ``(e^x - e^-x) / (e^x + e^-x)``, written as ``2 sigmoid(2x) - 1``.

    Output in (-1, 1).
    """
    x = _tensor(x)
    return 2.0 * sigmoid(2.0 * x) - 1.0


def tanh_grad(x: Tensor) -> Tensor:
    """``1 - tanh(x)^2``; at most 1 (at x = 0)."""
    t = tanh(x)
    return 1.0 - t * t


def _affine(x: Tensor, w: Tensor | float, b: Tensor | float) -> Tensor:
    """``w^T x + b``: elementwise for a scalar ``w``, a dot product over the last axis for a vector ``w``."""
    if isinstance(w, Tensor) and w.dim() > 0:
        if x.shape[-1] != w.shape[-1]:
            raise ValueError(f"maxout weight has {w.shape[-1]} entries but x has {x.shape[-1]} features")
        return (x * w).sum(-1) + b
    return w * x + b


def maxout(
    x: Tensor,
    w1: Tensor | float = 1.0,
    b1: Tensor | float = 0.0,
    w2: Tensor | float = -0.5,
    b2: Tensor | float = 0.0,
) -> Tensor:
    """Maxout with two pieces, ``max(w1^T x + b1, w2^T x + b2)``.

    With scalar weights it acts elementwise on ``x`` (the form plotted in the book); with vector
    weights of length ``d`` it reduces the last axis of ``x`` (``(..., d) -> (...)``), as a maxout
    unit in a network does. In a network ``w1, b1, w2, b2`` are learned; the defaults give the
    V-shaped ``max(x, -0.5 x)``. ``w1=1, b1=0, w2=0, b2=0`` recovers ReLU and ``w2=0.1`` leaky ReLU.
    """
    x = _tensor(x)
    return torch.maximum(_affine(x, w1, b1), _affine(x, w2, b2))


def maxout_grad(
    x: Tensor,
    w1: Tensor | float = 1.0,
    b1: Tensor | float = 0.0,
    w2: Tensor | float = -0.5,
    b2: Tensor | float = 0.0,
) -> Tensor:
    """Derivative of :func:`maxout` with respect to ``x``: the slope of whichever piece is larger.

    Shape ``x.shape`` (scalar weights) or ``x.shape`` with the weight vector broadcast along the
    last axis (vector weights). Where the pieces are equal the derivative is undefined; this
    returns the average of the two slopes there, as PyTorch's ``torch.maximum`` does.
    """
    x = _tensor(x)
    z1, z2 = _affine(x, w1, b1), _affine(x, w2, b2)
    vector = isinstance(w1, Tensor) and w1.dim() > 0
    if vector:
        z1, z2 = z1.unsqueeze(-1), z2.unsqueeze(-1)
    g1 = torch.as_tensor(w1, dtype=x.dtype) * torch.ones_like(x)
    g2 = torch.as_tensor(w2, dtype=x.dtype) * torch.ones_like(x)
    return torch.where(z1 > z2, g1, torch.where(z1 < z2, g2, 0.5 * (g1 + g2)))


def relu(x: Tensor) -> Tensor:
    """Rectified linear unit ``max(0, x)``."""
    x = _tensor(x)
    return torch.maximum(x, torch.zeros_like(x))


def relu_grad(x: Tensor) -> Tensor:
    """``1`` for x > 0, ``0`` for x <= 0: a unit whose input stays negative stops learning ("dead")."""
    x = _tensor(x)
    return (x > 0).to(x.dtype)


def _check_alpha(alpha: float) -> None:
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0 for an ELU, got {alpha}")


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: ``x`` for x >= 0, ``alpha * (exp(x) - 1)`` for x < 0; tends to -alpha."""
    _check_alpha(alpha)
    x = _tensor(x)
    negative = alpha * torch.expm1(torch.clamp(x, max=0.0))  # clamp: no overflow for large x
    return torch.where(x >= 0, x, negative)


def elu_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``1`` for x > 0, ``alpha * exp(x)`` for x <= 0 (small but never exactly zero when alpha > 0)."""
    _check_alpha(alpha)
    x = _tensor(x)
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0.0)))


# --- registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """One activation function of the lecture: its formula, code, derivative and parameters.

    ``fn(x, **params)`` and ``grad(x, **params)`` take a tensor; ``params`` holds the default value
    of every parameter (the slope of leaky ReLU, alpha of ELU, the two affine pieces of maxout).
    ``torch_name`` names PyTorch's own implementation, for comparison.
    """

    name: str
    label: str
    formula: str
    derivative: str
    fn: Callable[..., Tensor]
    grad: Callable[..., Tensor]
    params: Mapping[str, float] = field(default_factory=dict)
    torch_name: str = ""

    def __call__(self, x: Tensor, **params: float) -> Tensor:
        return self.fn(x, **{**self.params, **params})

    def derivative_at(self, x: Tensor, **params: float) -> Tensor:
        """The derivative ``grad(x)`` with the default parameters updated by ``params``."""
        return self.grad(x, **{**self.params, **params})


#: The six activation functions of the lecture, in the lecture's order.
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", "Sigmoid", r"\sigma(x) = \frac{1}{1+e^{-x}}", r"\sigma(x)\,(1-\sigma(x))",
                   sigmoid, sigmoid_grad, {}, "torch.sigmoid"),
        Activation("leaky_relu", "Leaky ReLU", r"\max(0.1x,\ x)", r"1 \text{ if } x>0 \text{ else } 0.1",
                   leaky_relu, leaky_relu_grad, {"slope": 0.1}, "torch.nn.functional.leaky_relu"),
        Activation("tanh", "tanh", r"\tanh(x)", r"1-\tanh^2(x)", tanh, tanh_grad, {}, "torch.tanh"),
        Activation("maxout", "Maxout", r"\max(w_1^T x + b_1,\ w_2^T x + b_2)",
                   r"w_1 \text{ where piece 1 wins, else } w_2", maxout, maxout_grad,
                   {"w1": 1.0, "b1": 0.0, "w2": -0.5, "b2": 0.0}, "torch.maximum"),
        Activation("relu", "ReLU", r"\max(0,\ x)", r"1 \text{ if } x>0 \text{ else } 0", relu, relu_grad, {},
                   "torch.nn.functional.relu"),
        Activation("elu", "ELU", r"x \text{ if } x \ge 0 \text{ else } \alpha(e^x-1)",
                   r"1 \text{ if } x>0 \text{ else } \alpha e^x", elu, elu_grad, {"alpha": 1.0},
                   "torch.nn.functional.elu"),
    )
}


def get_activation(name: str) -> Activation:
    """The :class:`Activation` called ``name`` (one of :data:`ACTIVATIONS`)."""
    if not isinstance(name, str):
        raise TypeError(f"activation name must be a string, got {type(name).__name__}")
    key = name.lower().replace(" ", "_").replace("-", "_")
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}")
    return ACTIVATIONS[key]


def _fmt(v: float) -> str:
    if np.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{round(v, 3) + 0.0:.3g}".replace("-", "−")


def activation_table(far: float = 50.0, saturation_threshold: float = 1e-2) -> pd.DataFrame:
    """Properties of the six activations computed from the functions themselves (float64).

    Columns: the output range (from the values at ``±far``; an end is closed if the function reaches
    it at a finite x), the largest derivative, the derivative at ``x = ±10`` (saturation: below
    ``saturation_threshold`` the unit learns almost nothing there), whether the derivative is
    exactly zero for every negative input (dead units), and ``f(0)`` (zero-centred outputs).
    Maxout is evaluated with its default pieces; in a network they are learned.
    """
    x = torch.linspace(-far, far, 200_001, dtype=torch.float64)
    inner = x.abs() <= 10.0
    negative = torch.linspace(-10.0, -1e-3, 1001, dtype=torch.float64)
    rows = []
    for act in ACTIVATIONS.values():
        y, dy = act(x), act.derivative_at(x)

        def at(v: float) -> float:
            return float(act(torch.tensor(v, dtype=torch.float64)))

        # an end is unbounded if the function still changes by more than 1 between |x| = far/5 and far
        lo = -np.inf if at(-far) < at(-far / 5) - 1 else float(y.min())
        hi = np.inf if at(far) > at(far / 5) + 1 else float(y.max())
        # ... and closed if its extreme value is reached at a moderate |x| (not only asymptotically)
        lo_closed = not np.isinf(lo) and float(y[inner].min()) == lo
        hi_closed = not np.isinf(hi) and float(y[inner].max()) == hi
        rng = ("[" if lo_closed else "(") + f"{_fmt(lo)}, {_fmt(hi)}" + ("]" if hi_closed else ")")
        g_left = float(act.derivative_at(torch.tensor(-10.0, dtype=torch.float64)))
        g_right = float(act.derivative_at(torch.tensor(10.0, dtype=torch.float64)))
        ends = (("x → −∞", g_left), ("x → +∞", g_right))
        sides = [s for s, g in ends if abs(g) < saturation_threshold]
        dead = bool((act.derivative_at(negative) == 0).all())
        rows.append(
            {
                "activation": act.label,
                "range": rng,
                "max |f'(x)|": round(float(dy.abs().max()), 4),
                "f'(−10)": f"{g_left:.2g}".replace("-", "−"),
                "f'(+10)": f"{g_right:.2g}".replace("-", "−"),
                "saturates": ", ".join(sides) if sides else "no",
                "dead for x < 0": "yes" if dead else "no",
                "f(0)": round(float(act(torch.tensor(0.0, dtype=torch.float64))), 4),
            }
        )
    return pd.DataFrame(rows).set_index("activation")


# --- backpropagation by hand on a 2-2-1 network ---------------------------------------------------


def init_221(seed: int = 0, dtype: torch.dtype = torch.float64) -> dict[str, Tensor]:
    """Random parameters of a 2-2-1 network: ``W1 (2, 2)``, ``b1 (2,)``, ``w2 (2,)``, ``b2 ()``."""
    g = torch.Generator().manual_seed(seed)
    return {
        "W1": torch.randn(2, 2, generator=g, dtype=dtype),
        "b1": torch.randn(2, generator=g, dtype=dtype),
        "w2": torch.randn(2, generator=g, dtype=dtype),
        "b2": torch.randn((), generator=g, dtype=dtype),
    }


def _check_221(params: Mapping[str, Tensor], x: Tensor, y: Tensor) -> None:
    missing = {"W1", "b1", "w2", "b2"} - set(params)
    if missing:
        raise ValueError(f"params is missing {sorted(missing)}; build it with init_221()")
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n, 2), got {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")


def forward_221(params: Mapping[str, Tensor], x: Tensor, activation: str = "sigmoid") -> dict[str, Tensor]:
    """Forward pass ``x -> z1 = x W1^T + b1 -> h = f(z1) -> y_hat = h . w2 + b2``.

    Returns every intermediate: ``{"z1", "h", "y_hat"}``.
    """
    f = get_activation(activation)
    z1 = x @ params["W1"].T + params["b1"]
    h = f(z1)
    y_hat = h @ params["w2"] + params["b2"]
    return {"z1": z1, "h": h, "y_hat": y_hat}


def backprop_221(
    params: Mapping[str, Tensor], x: Tensor, y: Tensor, activation: str = "sigmoid"
) -> tuple[Tensor, dict[str, Tensor]]:
    """Loss ``mean((y_hat - y)^2) / 2`` and its gradients, by the chain rule written out by hand.

    ``x`` has shape ``(n, 2)``, ``y`` shape ``(n,)``. No autograd is used; compare with
    :func:`autograd_221`.
    """
    _check_221(params, x, y)
    f = get_activation(activation)
    n = x.shape[0]
    cache = forward_221(params, x, activation)
    loss = 0.5 * ((cache["y_hat"] - y) ** 2).mean()
    d_yhat = (cache["y_hat"] - y) / n  # dL/dy_hat, shape (n,)
    grads = {
        "w2": cache["h"].T @ d_yhat,  # y_hat = h . w2 + b2
        "b2": d_yhat.sum(),
    }
    d_h = d_yhat[:, None] * params["w2"][None, :]  # dL/dh, shape (n, 2)
    d_z1 = d_h * f.derivative_at(cache["z1"])  # through the activation
    grads["W1"] = d_z1.T @ x  # z1 = x W1^T + b1
    grads["b1"] = d_z1.sum(0)
    return loss, grads


def autograd_221(
    params: Mapping[str, Tensor], x: Tensor, y: Tensor, activation: str = "sigmoid"
) -> tuple[Tensor, dict[str, Tensor]]:
    """The same loss and gradients as :func:`backprop_221`, computed by :mod:`torch.autograd`."""
    _check_221(params, x, y)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    y_hat = forward_221(leaves, x, activation)["y_hat"]
    loss = 0.5 * ((y_hat - y) ** 2).mean()
    loss.backward()
    return loss.detach(), {k: v.grad for k, v in leaves.items()}
