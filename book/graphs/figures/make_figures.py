"""Schematic figure of the GNN chapter (SVG): one message-passing step on acetic acid.

Run from anywhere: ``python book/graphs/figures/make_figures.py``; writes message_passing.svg next
to this file (deterministic: fixed SVG ids, no date).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402

HERE = Path(__file__).resolve().parent
plt.rcParams.update({"svg.hashsalt": "chemdl-graphs", "font.family": "DejaVu Sans", "font.size": 11})
BLUE, GREEN, GREY, RED = "#3b528b", "#21918c", "#555555", "#8c2d04"   # colour-blind-safe shades

# acetic acid CC(=O)O in RDKit's atom order: C1 (methyl), C2 (carboxyl C), O3 (=O), O4 (-OH)
ATOMS = {1: ("C", (0.0, 0.0)), 2: ("C", (1.6, 0.0)), 3: ("O", (2.4, 1.3)), 4: ("O", (2.4, -1.3))}
BONDS = [(1, 2, 1), (2, 3, 2), (2, 4, 1)]


def _molecule(ax, highlight: int | None = None) -> None:
    for i, j, order in BONDS:
        (x0, y0), (x1, y1) = ATOMS[i][1], ATOMS[j][1]
        ax.plot([x0, x1], [y0, y1], color="0.75", lw=6 if order == 2 else 3, solid_capstyle="round", zorder=1)
    for k, (el, xy) in ATOMS.items():
        face = "#e8f4f3" if k == highlight else "white"
        ax.add_patch(Circle(xy, 0.36, facecolor=face, edgecolor=GREEN if k == highlight else BLUE, lw=2, zorder=3))
        ax.text(*xy, f"{el}{k}", ha="center", va="center", zorder=4, fontsize=11)


def _arrow(ax, a, b, color, lw=1.8, rad=0.0):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=color, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=16, shrinkB=16, zorder=5))


def message_passing() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    ax = axes[0]
    _molecule(ax, highlight=2)
    for j in (1, 3, 4):
        _arrow(ax, ATOMS[j][1], ATOMS[2][1], RED, rad=0.25)
    ax.text(0.55, 0.5, "$m_{1\\to2}$", color=RED, fontsize=10)
    ax.text(1.35, 1.15, "$m_{3\\to2}$", color=RED, fontsize=10)
    ax.text(1.3, -1.2, "$m_{4\\to2}$", color=RED, fontsize=10)
    ax.text(1.2, -2.35, "1. messages $m_{j\\to i} = \\phi(h_i, h_j, e_{ij})$ along the bonds\n"
                        "2. aggregate: $a_2 = m_{1\\to2} + m_{3\\to2} + m_{4\\to2}$\n"
                        "3. update: $h_2' = \\psi(h_2, a_2)$", ha="center", va="top", fontsize=10)
    ax.set_title("one atom (C2) receives and updates", fontsize=11)
    ax = axes[1]
    _molecule(ax)
    for i, j, _ in BONDS:
        _arrow(ax, ATOMS[i][1], ATOMS[j][1], BLUE, lw=1.4, rad=0.3)
        _arrow(ax, ATOMS[j][1], ATOMS[i][1], BLUE, lw=1.4, rad=0.3)
    ax.text(1.2, -2.35, "every bond carries a message in each direction (two directed\n"
                        "edges per bond); all atoms update at the same time, with the\n"
                        "same $\\phi$ and $\\psi$: after $t$ steps an atom has heard from\n"
                        "every atom within $t$ bonds", ha="center", va="top", fontsize=10)
    ax.set_title("one layer: all atoms at once", fontsize=11)
    for ax in axes:
        ax.set_xlim(-0.9, 3.3)
        ax.set_ylim(-3.9, 2.0)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.savefig(HERE / "message_passing.svg", format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


if __name__ == "__main__":
    message_passing()
    print("wrote message_passing.svg")
