"""Tests of chemdl_utils.plots: the figures return objects with the expected content."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from chemdl_utils.chem import atom_table, bond_table, mol_from_smiles  # noqa: E402
from chemdl_utils.plots import (  # noqa: E402
    draw_molecule,
    draw_molecules,
    metrics_table,
    molecule_graph_figure,
    parity_plot,
    plot_learning_curves,
)
from chemdl_utils.train import History, regression_metrics  # noqa: E402

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(n: int = 10, best: int = 6) -> History:
    train = [1.0 / k for k in range(1, n + 1)]
    val = [1.2 / k if k <= best else 1.2 / best + 0.01 * (k - best) for k in range(1, n + 1)]
    return History(train_loss=train, val_loss=val, best_epoch=best, best_val_loss=val[best - 1],
                   epochs_run=n, device="cpu")


# ---------------------------------------------------------------------------- learning curves
def test_learning_curves_two_lines_per_history_and_best_marked() -> None:
    ax = plot_learning_curves({"MLP": _history(), "GNN": _history(8, 4)}, title="ESOL")
    lines = ax.get_lines()
    assert len(lines) == 4
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert list(lines[1].get_xdata()) == list(range(1, 11))
    assert ax.get_yscale() == "log" and ax.get_title() == "ESOL"
    stars = [c.get_offsets()[0].tolist() for c in ax.collections]
    assert stars == [[6, pytest.approx(0.2)], [4, pytest.approx(0.3)]]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "MLP train" in labels and "GNN validation" in labels


def test_learning_curves_single_history_linear_and_train_only() -> None:
    ax = plot_learning_curves(_history(), log=False)
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "linear"
    train_only = History(train_loss=[3.0, 2.0, 1.0], best_epoch=3, epochs_run=3)
    ax2 = plot_learning_curves(train_only)
    assert len(ax2.get_lines()) == 1 and not ax2.collections
    negative = History(train_loss=[1.0, -0.5], best_epoch=2, epochs_run=2)
    assert plot_learning_curves(negative).get_yscale() == "linear"  # log impossible
    with pytest.raises(TypeError, match="History"):
        plot_learning_curves({"a": [1, 2, 3]})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------- parity plot
def test_parity_plot_text_limits_and_diagonal() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=40) * 2
    y_hat = y + rng.normal(scale=0.3, size=40)
    ax = parity_plot(y, y_hat, units="kcal/mol", title="test set")
    m = regression_metrics(y, y_hat)
    text = ax.texts[0].get_text()
    assert f"MAE = {m['mae']:.3g} kcal/mol" in text
    assert f"RMSE = {m['rmse']:.3g} kcal/mol" in text and f"R² = {m['r2']:.3g}" in text
    assert ax.get_xlim() == ax.get_ylim()
    lo, hi = ax.get_xlim()
    assert lo < min(y.min(), y_hat.min()) and hi > max(y.max(), y_hat.max())
    (diag,) = ax.get_lines()
    np.testing.assert_allclose(diag.get_xdata(), diag.get_ydata())
    assert "kcal/mol" in ax.get_xlabel() and ax.get_title() == "test set"


def test_parity_plot_overlays_two_models_with_legend() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=30)
    ax = parity_plot(y, y + 0.1, label="GNN", units="eV")
    ax = parity_plot(y * 3, y * 3 - 0.5, ax=ax, label="MLP")
    assert len(ax.collections) == 2 and len(ax.get_lines()) == 1 and len(ax.texts) == 1
    text = ax.texts[0].get_text()
    assert text.splitlines()[0] == "MAE, RMSE in eV"
    assert "GNN: MAE 0.1, RMSE 0.1, R² 0.9" in text and "MLP: MAE 0.5," in text
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GNN", "MLP"]
    lo, hi = ax.get_xlim()
    assert ax.get_ylim() == (lo, hi) and hi > (y * 3).max()  # limits cover both models


def test_parity_plot_after_clearing_axes_starts_fresh() -> None:
    ax = parity_plot([1.0, 2.0, 3.0], [1.1, 2.1, 2.9], label="old")
    ax.cla()
    ax = parity_plot([1.0, 2.0, 3.0], [1.0, 2.0, 3.5], ax=ax)
    assert ax.texts[0].get_text().startswith("MAE = 0.167") and len(ax.get_lines()) == 1


def test_parity_plot_errors() -> None:
    with pytest.raises(ValueError, match="samples"):
        parity_plot([1, 2, 3], [1, 2])


# ---------------------------------------------------------------------------- metrics table
def test_metrics_table_rows_models_columns_with_units() -> None:
    results = {"MLP": {"mae": 0.9, "rmse": 1.2, "r2": 0.7}, "GNN": {"mae": 0.6, "rmse": 0.8, "r2": 0.85}}
    table = metrics_table(results, units="kcal/mol")
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["MLP", "GNN"]
    assert list(table.columns) == ["MAE (kcal/mol)", "RMSE (kcal/mol)", "R²"]
    assert table.loc["GNN", "MAE (kcal/mol)"] == 0.6
    plain = metrics_table({"logreg": {"accuracy": 0.8, "roc_auc": 0.9}, "gnn": {"accuracy": 0.85}})
    assert list(plain.columns) == ["accuracy", "ROC AUC"] and np.isnan(plain.loc["gnn", "ROC AUC"])


# ---------------------------------------------------------------------------- molecules
def test_draw_molecule_numbers_atoms_from_one() -> None:
    svg = draw_molecule(CAFFEINE)
    data = svg.data
    assert data.lstrip().startswith("<svg") or "<svg" in data
    assert "atom 14 (C)" in data and "atom 1 (C)" in data and "atom 2 (N)" in data
    assert "atom 0 " not in data and "atom 15 " not in data  # 1-based, 14 atoms
    assert "http" not in data.replace("http://www.w3.org", "").replace("http://www.rdkit.org", "")
    plain = draw_molecule(CAFFEINE, atom_numbers=False, highlight_atoms=[1, 14], size=(300, 200))
    assert re.search(r"width=[\"']300px", plain.data)
    with pytest.raises(ValueError, match="1..14"):
        draw_molecule(CAFFEINE, highlight_atoms=[0])
    with pytest.raises(ValueError, match="C1CC"):
        draw_molecule("C1CC")


def test_draw_molecules_grid_and_invalid_smiles() -> None:
    names = ["ethanol", "benzene", "caffeine"]
    grid = draw_molecules(["CCO", "c1ccccc1", CAFFEINE], legends=names, mols_per_row=2)
    assert "<title>ethanol: CCO</title>" in grid.data and "caffeine: " in grid.data
    # 2 x 2 cells of 220 x 180 pixels
    assert re.search(r"width=[\"']440px", grid.data) and re.search(r"height=[\"']360px", grid.data)
    with pytest.raises(ValueError, match=r"'C1CC'.*entry 1"):
        draw_molecules(["CCO", "C1CC"])
    with pytest.raises(ValueError, match="legends"):
        draw_molecules(["CCO"], legends=["a", "b"])


def test_molecule_graph_figure_hover_shows_lecture_features() -> None:
    import plotly.graph_objects as go

    fig = molecule_graph_figure(CAFFEINE)
    assert isinstance(fig, go.Figure)
    atoms = next(t for t in fig.data if t.name == "atoms")
    assert len(atoms.x) == 14 and atoms.text[1] == "N2" and atoms.text[13] == "C14"
    hover = atoms.hovertext[1]
    for feature in ("atomic_number: 7", "num_neighbors: 3", "num_hydrogens: 0", "formal_charge: 0",
                    "atomic_mass: 14.007", "in_ring: 1"):
        assert feature in hover
    # every atom's hover text agrees with the atom_table row
    table = atom_table(mol_from_smiles(CAFFEINE))
    for k, text in enumerate(atoms.hovertext, 1):
        assert f"atomic_number: {table.loc[k, 'atomic_number']}<" in text
        assert f"atomic_mass: {table.loc[k, 'atomic_mass']:.3f}".rstrip("0") in text
    bonds = next(t for t in fig.data if t.name.startswith("bonds"))
    btable = bond_table(mol_from_smiles(CAFFEINE))
    assert len(bonds.x) == len(btable) == 15
    first = btable.loc[1]
    assert f"atoms {first['atom_i']}–{first['atom_j']}" in bonds.hovertext[0]
    assert f"bond_type: {first['bond_type']}" in bonds.hovertext[0] and "stereo: 0" in bonds.hovertext[0]
    # bond midpoints sit halfway between their atoms
    i, j = first["atom_i"] - 1, first["atom_j"] - 1
    assert bonds.x[0] == pytest.approx((atoms.x[i] + atoms.x[j]) / 2)
    # plain plotly: exports to self-contained HTML without any CDN
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    assert not re.search(r"<script[^>]+src=", html) and "N2" in html
