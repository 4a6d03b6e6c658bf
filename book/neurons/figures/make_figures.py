"""Schematic figures of the neurons chapter (SVG), drawn with matplotlib.

Run from anywhere: ``python book/neurons/figures/make_figures.py``. Writes neuron.svg, layer.svg and
backprop_221.svg next to this file. The output is deterministic (fixed SVG ids, no date), so
re-running it only changes the files when the drawing code changes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = Path(__file__).resolve().parent
plt.rcParams.update({"svg.hashsalt": "chemdl-neurons", "font.family": "DejaVu Sans", "font.size": 11})
BLUE, GREEN, GREY = "#3b528b", "#21918c", "#555555"   # viridis shades: colour-blind safe


def _save(fig: plt.Figure, name: str) -> None:
    fig.savefig(HERE / name, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def _arrow(ax, start, end, color=GREY, lw=1.3, style="-|>", ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, lw=lw,
                                 linestyle=ls, shrinkA=0, shrinkB=0))


def _node(ax, xy, r, text, face="white", edge=BLUE, fontsize=11):
    ax.add_patch(Circle(xy, r, facecolor=face, edgecolor=edge, lw=1.8, zorder=3))
    ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def neuron() -> None:
    """Inputs, weights, the transfer (weighted sum + bias) and the activation of one neuron."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ys = [2.6, 1.6, 0.6]
    labels = [("$x_1$", "logP"), ("$x_2$", "MW"), ("$x_n$", "aromatic\nproportion")]
    for y, (sym, chem), w in zip(ys, labels, ("$w_1$", "$w_2$", "$w_n$")):
        _node(ax, (0.6, y), 0.28, sym)
        ax.text(0.05, y, chem, ha="right", va="center", fontsize=9, color=GREY)
        _arrow(ax, (0.9, y), (2.75, 1.6 + (y - 1.6) * 0.25))
        ax.text(1.7, 1.6 + (y - 1.6) * 0.62 + 0.12, w, ha="center", fontsize=11, color=BLUE)
    ax.text(0.6, 1.1, "⋮", ha="center", va="center", fontsize=14)
    _node(ax, (3.1, 1.6), 0.42, r"$\Sigma$" + "\n" + r"$+\,b$", face="#e8f4f3", edge=GREEN, fontsize=12)
    ax.text(3.1, 0.9, "transfer:\n$z = \\mathbf{w}^\\top\\mathbf{x} + b$", ha="center", va="top", fontsize=9)
    _arrow(ax, (3.55, 1.6), (4.45, 1.6))
    ax.add_patch(FancyBboxPatch((4.5, 1.2), 1.0, 0.8, boxstyle="round,pad=0.05", facecolor="#e8f4f3",
                                edgecolor=GREEN, lw=1.8))
    ax.text(5.0, 1.6, "$f(z)$", ha="center", va="center", fontsize=12)
    ax.text(5.0, 0.9, "activation", ha="center", va="top", fontsize=9)
    _arrow(ax, (5.6, 1.6), (6.5, 1.6))
    ax.text(6.6, 1.6, "$a = f(\\mathbf{w}^\\top\\mathbf{x} + b)$", ha="left", va="center", fontsize=12)
    ax.text(3.1, 2.45, "bias $b$", ha="center", fontsize=10, color=GREEN)
    ax.set_xlim(-1.2, 8.6)
    ax.set_ylim(0.1, 3.1)
    ax.set_aspect("equal")
    ax.axis("off")
    _save(fig, "neuron.svg")


def layer() -> None:
    """A 3-4-1 fully connected network: input layer, one hidden layer, output layer."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    cols = {0: [2.5, 1.5, 0.5], 1: [3.0, 2.0, 1.0, 0.0], 2: [1.5]}
    xs = {0: 0.5, 1: 2.6, 2: 4.7}
    for c in (0, 1):
        for y0 in cols[c]:
            for y1 in cols[c + 1]:
                _arrow(ax, (xs[c] + 0.25, y0), (xs[c + 1] - 0.27, y1), lw=0.9, style="-")
    for k, y in enumerate(cols[0]):
        _node(ax, (xs[0], y), 0.25, f"$x_{k + 1}$")
    for k, y in enumerate(cols[1]):
        _node(ax, (xs[1], y), 0.25, f"$h_{k + 1}$", face="#e8f4f3", edge=GREEN)
    _node(ax, (xs[2], 1.5), 0.25, r"$\hat y$", face="#fdf3d8", edge="#b5a300")
    for x, text in ((xs[0], "input layer\n(features)"), (xs[1], "hidden layer\n$\\mathbf{h} = f(W_1\\mathbf{x} + \\mathbf{b}_1)$"),
                    (xs[2], "output layer\n$\\hat y = \\mathbf{w}_2^\\top\\mathbf{h} + b_2$")):
        ax.text(x, -0.75, text, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.3, 5.8)
    ax.set_ylim(-1.6, 3.4)
    ax.set_aspect("equal")
    ax.axis("off")
    _save(fig, "layer.svg")


def backprop_221() -> None:
    """The 2-2-1 network of the training page: forward values left to right, gradients right to left."""
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    xin, xh, xo, xl = 0.5, 3.0, 5.6, 7.6
    yin, yh = [2.4, 0.8], [2.4, 0.8]
    for yi in yin:
        for yj in yh:
            _arrow(ax, (xin + 0.3, yi), (xh - 0.42, yj), color=BLUE, lw=1.1)
    for yj in yh:
        _arrow(ax, (xh + 0.42, yj), (xo - 0.32, 1.6), color=BLUE, lw=1.1)
    _arrow(ax, (xo + 0.32, 1.6), (xl - 0.35, 1.6), color=BLUE, lw=1.1)
    for k, y in enumerate(yin):
        _node(ax, (xin, y), 0.3, f"$x_{k + 1}$")
    for k, y in enumerate(yh):
        _node(ax, (xh, y), 0.42, f"$z_{k + 1}\\to h_{k + 1}$", face="#e8f4f3", edge=GREEN, fontsize=10)
    _node(ax, (xo, 1.6), 0.32, r"$\hat y$", face="#fdf3d8", edge="#b5a300")
    _node(ax, (xl, 1.6), 0.32, "$L$", face="#f6e1e1", edge="#8c2d04")
    ax.text(1.75, 3.05, "$W_1,\\ \\mathbf{b}_1$", ha="center", color=BLUE)
    ax.text(4.35, 2.55, "$\\mathbf{w}_2,\\ b_2$", ha="center", color=BLUE)
    ax.text(xh, 3.05, "$h = \\sigma(z)$", ha="center", fontsize=9)
    ax.text(6.6, 1.85, "$\\frac{1}{2}(\\hat y - y)^2$", ha="center", fontsize=9)
    # backward pass, drawn below
    yb = -0.55
    steps = [(xl, "$\\delta = \\hat y - y$"), (xo, "$\\partial L/\\partial \\mathbf{w}_2 = \\delta\\,\\mathbf{h}$\n$\\partial L/\\partial \\mathbf{h} = \\delta\\,\\mathbf{w}_2$"),
             (xh, "$\\partial L/\\partial \\mathbf{z} = \\partial L/\\partial \\mathbf{h} \\odot \\sigma'(\\mathbf{z})$"),
             (xin, "$\\partial L/\\partial W_1 = \\partial L/\\partial \\mathbf{z}\\; \\mathbf{x}^\\top$")]
    for (x0, _), (x1, _) in zip(steps[:-1], steps[1:]):
        _arrow(ax, (x0 - 0.4, yb), (x1 + 0.4, yb), color="#8c2d04", lw=1.6, ls="--")
    for k, (x, text) in enumerate(steps):
        ax.text(x, yb - 0.2 - 0.75 * (k % 2), text, ha="center", va="top", fontsize=9, color="#8c2d04")
    ax.text(-0.2, yb, "backward\n(chain rule)", ha="right", va="center", fontsize=9, color="#8c2d04")
    ax.text(-0.2, 1.6, "forward", ha="right", va="center", fontsize=9, color=BLUE)
    ax.set_xlim(-1.4, 8.4)
    ax.set_ylim(-2.6, 3.4)
    ax.set_aspect("equal")
    ax.axis("off")
    _save(fig, "backprop_221.svg")


if __name__ == "__main__":
    neuron()
    layer()
    backprop_221()
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.svg"))))
