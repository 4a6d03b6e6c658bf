"""The course's figures stay readable for colour-blind readers: chemdl_utils.plots gives each model
an Okabe-Ito colour and its own marker, and the colours stay apart under simulated protanopia,
deuteranopia and tritanopia (Machado et al. 2009, severity 1)."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from chemdl_utils.plots import MARKERS, OKABE_ITO, parity_plot, plot_learning_curves  # noqa: E402
from chemdl_utils.train import History  # noqa: E402

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _linear(rgb):
    c = np.asarray(rgb, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb):
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a, b, vision=None):
    la, lb = _linear(to_rgb(a)), _linear(to_rgb(b))
    if vision:
        la, lb = np.asarray(CVD[vision]) @ la, np.asarray(CVD[vision]) @ lb
    return float(np.linalg.norm(_lab(la) - _lab(lb)))


@pytest.mark.parametrize("vision", [None, *CVD])
def test_the_first_six_model_colours_stay_apart(vision):
    for a, b in itertools.combinations(OKABE_ITO[:6], 2):
        assert _delta_e(a, b, vision) > 10, f"{a} and {b} look alike ({vision or 'normal vision'})"


def test_the_check_detects_a_red_green_pair():
    # matplotlib's default red and green: distinct for normal vision, close for deuteranopes
    assert _delta_e("tab:red", "tab:green") > 40
    assert _delta_e("tab:red", "tab:green", "deuteranopia") < 0.5 * _delta_e("tab:red", "tab:green")


def _history(n=30, shift=0.0):
    h = History()
    h.train_loss = list(np.linspace(2, 0.5, n) + shift)
    h.val_loss = list(np.linspace(2.2, 0.8, n) + shift)
    h.best_epoch, h.best_val_loss = n, h.val_loss[-1]
    return h


def test_learning_curves_give_each_model_a_colour_and_a_marker():
    ax = plot_learning_curves({f"model {k}": _history(shift=0.1 * k) for k in range(4)})
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == 8
    for k in range(4):
        train, val = lines[2 * k], lines[2 * k + 1]
        assert to_rgb(train.get_color()) == to_rgb(OKABE_ITO[k]) == to_rgb(val.get_color())
        assert train.get_marker() == MARKERS[k] == val.get_marker()
        assert (train.get_linestyle(), val.get_linestyle()) == ("-", "--")
    plt.close(ax.figure)


def test_parity_plot_overlays_models_with_different_colours_and_markers():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    ax = parity_plot(y, y + rng.normal(scale=0.1, size=50), label="GNN")
    parity_plot(y, y + rng.normal(scale=0.3, size=50), ax=ax, label="MLP")
    colours = [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]
    assert colours == [to_rgb(OKABE_ITO[0]), to_rgb(OKABE_ITO[1])]
    paths = [c.get_paths()[0].vertices.shape for c in ax.collections]
    assert paths[0] != paths[1], "the two models share a marker"
    plt.close(ax.figure)
