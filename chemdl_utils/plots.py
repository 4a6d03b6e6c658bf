"""Figures the book uses: learning curves, parity plots, metric tables and molecule drawings.

Static figures use matplotlib (new figures via ``plt.subplots``, so they work with the Agg
backend of the book build); :func:`molecule_graph_figure` uses plotly because hovering helps
there. Nothing here loads anything from the network. Atom numbers are 1-based everywhere, as in
the lecture and in :func:`chemdl_utils.chem.atom_table`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .train import History, _arrays, regression_metrics

if TYPE_CHECKING:  # heavy imports only when used
    import plotly.graph_objects as go
    from IPython.display import SVG
    from matplotlib.axes import Axes
    from rdkit import Chem

__all__ = [
    "plot_learning_curves",
    "parity_plot",
    "metrics_table",
    "draw_molecule",
    "draw_molecules",
    "molecule_graph_figure",
]


#: Okabe & Ito's palette, distinguishable with every common colour-vision deficiency: orange, sky
#: blue, bluish green, yellow, blue, vermillion, reddish purple, black. Models get colours in this
#: order; no two of the first four differ only in red against green.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: one marker per model as a second cue besides colour (figures stay readable in grey-scale print)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _style(k: int) -> tuple[str, str]:
    """Colour and marker of the ``k``-th model of a figure."""
    return OKABE_ITO[k % len(OKABE_ITO)], MARKERS[k % len(MARKERS)]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _num(value: Any) -> str:
    """A table value for hover text: integers without decimals, floats to 3 decimals (14.007)."""
    f = float(value)
    return str(int(f)) if f.is_integer() else str(round(f, 3))


def _fmt(value: float) -> str:
    """Three significant digits, as printed in figure text boxes."""
    return f"{value:.3g}"


# --------------------------------------------------------------------------------------------
# training figures
# --------------------------------------------------------------------------------------------
def plot_learning_curves(
    histories: History | Mapping[str, History] | Sequence[History],
    ax: Axes | None = None,
    log: bool = True,
    title: str = "",
) -> Axes:
    """Training loss (solid) and validation loss (dashed, same colour) against epoch.

    ``histories`` is one :class:`~chemdl_utils.train.History`, a ``{label: History}`` dict or a
    list. The best validation epoch (the weights the model kept) is marked with a star. ``log``
    uses a log scale for the loss when all values are positive. Each run has its own colour
    (:data:`OKABE_ITO`, safe for colour-blind readers) and its own marker on about ten epochs, so
    runs differ by more than colour.
    """
    if isinstance(histories, History):
        items = [("", histories)]
    elif isinstance(histories, Mapping):
        items = list(histories.items())
    elif isinstance(histories, Sequence) and not isinstance(histories, str):
        items = [(f"run {k}", h) for k, h in enumerate(histories, 1)]
    else:
        raise TypeError(f"histories must be a History or a dict of them, got {type(histories).__name__}")
    if not items:
        raise ValueError("histories is empty; pass at least one History from fit()")
    for label, h in items:
        if not isinstance(h, History):
            raise TypeError(f"histories[{label!r}] is a {type(h).__name__}, not a History from fit()")
        if not h.train_loss:
            raise ValueError(f"History {label!r} has no epochs to plot")

    ax = _new_axes(ax, (6, 4))
    positive = True
    marked = False
    for k, (label, h) in enumerate(items):
        prefix = f"{label} " if label else ""
        color, marker = _style(k)
        epochs = np.arange(1, len(h.train_loss) + 1)
        every = max(1, len(epochs) // 10)
        ax.plot(epochs, h.train_loss, "-", color=color, marker=marker, markevery=every, ms=5,
                label=f"{prefix}train")
        positive &= min(h.train_loss) > 0
        if h.val_loss:
            val_epochs = np.arange(1, len(h.val_loss) + 1)
            ax.plot(val_epochs, h.val_loss, "--", color=color, marker=marker, markevery=every, ms=5,
                    mfc="white", label=f"{prefix}validation")
            positive &= min(h.val_loss) > 0
            if h.best_val_loss is not None and h.best_epoch >= 1:
                ax.scatter(
                    [h.best_epoch], [h.best_val_loss], marker="*", s=140, color=color,
                    edgecolors="black", zorder=3, label="_nolegend_" if marked else "best epoch",
                )
                marked = True
    if log and positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" + (" (log scale)" if log and positive else ""))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def parity_plot(
    y_true: Any,
    y_pred: Any,
    ax: Axes | None = None,
    units: str = "",
    title: str = "",
    label: str | None = None,
) -> Axes:
    """Predicted against true values with the ``y = x`` line, equal axis limits and MAE / RMSE /
    R² (with ``units``) in a text box.

    Call it again with the same ``ax`` (and a ``label``) to overlay a second model: limits, the
    diagonal and the text box are updated to cover every model and a legend is added.
    """
    yt, yp = _arrays(y_true, y_pred, "y_pred")  # NumPy (tensors too); checks lengths and NaN
    if yt.ndim != 1 or yp.ndim != 1:
        raise ValueError(f"parity_plot needs one value per sample; got shapes {yt.shape} and {yp.shape} "
                         "(plot each output column separately)")
    metrics = regression_metrics(yt, yp)
    ax = _new_axes(ax, (4.8, 4.8))
    state = ax.__dict__.get("_chemdl_parity")
    if state is None or state["text"] not in ax.texts:  # first call, or the axes were cleared
        state = ax.__dict__["_chemdl_parity"] = {"models": [], "line": None, "text": None, "units": ""}
    units = state["units"] = units or state["units"]
    name = label if label is not None else f"model {len(state['models']) + 1}"
    color, marker = _style(len(state["models"]))  # colour-blind safe, and a marker per model
    ax.scatter(yt, yp, s=16, alpha=0.6, color=color, marker=marker, edgecolors="none", label=name)
    state["models"].append({"name": name, "metrics": metrics, "lo": min(yt.min(), yp.min()),
                            "hi": max(yt.max(), yp.max()), "labelled": label is not None})

    lo = min(m["lo"] for m in state["models"])
    hi = max(m["hi"] for m in state["models"])
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    lo, hi = lo - pad, hi + pad
    if state["line"] is None:
        (state["line"],) = ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="_nolegend_", zorder=0)
    else:
        state["line"].set_data([lo, hi], [lo, hi])
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")

    u = f" {units}" if units else ""
    if len(state["models"]) == 1:
        m = metrics
        text = f"MAE = {_fmt(m['mae'])}{u}\nRMSE = {_fmt(m['rmse'])}{u}\nR² = {_fmt(m['r2'])}"
    else:
        lines = [f"MAE, RMSE in {units}"] if units else []
        lines += [
            f"{e['name']}: MAE {_fmt(e['metrics']['mae'])}, RMSE {_fmt(e['metrics']['rmse'])}, "
            f"R² {_fmt(e['metrics']['r2'])}"
            for e in state["models"]
        ]
        text = "\n".join(lines)
    if state["text"] is None:
        state["text"] = ax.text(
            0.03, 0.97, text, transform=ax.transAxes, va="top", ha="left", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        )
    else:
        state["text"].set_text(text)

    paren = f" ({units})" if units else ""
    ax.set_xlabel(f"true{paren}")
    ax.set_ylabel(f"predicted{paren}")
    if title:
        ax.set_title(title)
    if len(state["models"]) > 1 or any(m["labelled"] for m in state["models"]):
        ax.legend(loc="lower right", frameon=False)
    return ax


_METRIC_NAMES = {
    "mae": "MAE", "rmse": "RMSE", "mse": "MSE", "r2": "R²", "accuracy": "accuracy", "roc_auc": "ROC AUC",
}
_METRICS_WITH_UNITS = {"mae", "rmse"}


def metrics_table(results: Mapping[str, Mapping[str, float]], units: str = "") -> pd.DataFrame:
    """A DataFrame with one row per model and one column per metric.

    ``results`` maps model name -> metrics dict (as from :func:`~chemdl_utils.train.evaluate`).
    Column names are readable and carry ``units`` where the metric has them:
    ``{"mae", "rmse", "r2"}`` -> ``"MAE (kcal/mol)"``, ``"RMSE (kcal/mol)"``, ``"R²"``. A metric a
    model lacks is NaN.
    """
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a dict {{model: {{metric: value}}}}, got {type(results).__name__}")
    for model, metrics in results.items():
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"results[{model!r}] must be a dict of metric -> value, got {type(metrics).__name__}"
            )

    def column(key: str) -> str:
        name = _METRIC_NAMES.get(key, key)
        if units and key in _METRICS_WITH_UNITS:
            return f"{name} ({units})"
        if units and key == "mse":
            return f"{name} (({units})²)"
        return name

    keys: list[str] = []
    for metrics in results.values():
        keys.extend(k for k in metrics if k not in keys)
    frame = pd.DataFrame(
        [[float(metrics.get(k, np.nan)) for k in keys] for metrics in results.values()],
        index=pd.Index(list(results), name="model"),
        columns=[column(k) for k in keys],
    )
    return frame


# --------------------------------------------------------------------------------------------
# molecules
# --------------------------------------------------------------------------------------------
def _as_mol(smiles_or_mol: Any) -> Chem.Mol:
    from rdkit import Chem

    from .chem import mol_from_smiles

    if isinstance(smiles_or_mol, Chem.Mol):
        return Chem.Mol(smiles_or_mol)  # a copy: drawing adds coordinates and properties
    if isinstance(smiles_or_mol, str):
        return mol_from_smiles(smiles_or_mol)
    raise TypeError(f"expected a SMILES string or an RDKit Mol, got {type(smiles_or_mol).__name__}")


def _check_size(size: Any) -> tuple[int, int]:
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(int(s) > 0 for s in size)):
        raise ValueError(f"size must be (width, height) in pixels, got {size!r}")
    return int(size[0]), int(size[1])


def draw_molecule(
    smiles_or_mol: str | Chem.Mol,
    atom_numbers: bool = True,
    highlight_atoms: Sequence[int] | None = None,
    size: tuple[int, int] = (400, 300),
) -> SVG:
    """An SVG drawing (displays in notebooks and the static book) with atoms numbered 1..n.

    The numbers match the rows of :func:`chemdl_utils.chem.atom_table` (RDKit order, from 1).
    ``highlight_atoms`` uses the same 1-based numbers. Hovering an atom in a browser shows its
    number and element.
    """
    from IPython.display import SVG
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = _as_mol(smiles_or_mol)
    width, height = _check_size(size)
    n = mol.GetNumAtoms()
    highlight: list[int] = []
    for k in highlight_atoms or ():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
            raise ValueError(
                f"highlight_atoms must hold atom numbers 1..{n} (1-based, as in atom_table); got {k!r}"
            )
        highlight.append(int(k) - 1)
    if atom_numbers:
        for atom in mol.GetAtoms():
            atom.SetProp("atomNote", str(atom.GetIdx() + 1))
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().annotationFontScale = 0.7
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol, highlightAtoms=highlight)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    # invisible hover targets with a <title>: a tooltip per atom, also in the static HTML book
    tips = []
    for atom in mol.GetAtoms():
        p = drawer.GetDrawCoords(atom.GetIdx())
        tips.append(
            f"<circle cx='{p.x:.1f}' cy='{p.y:.1f}' r='10' fill='#fff' fill-opacity='0'>"
            f"<title>atom {atom.GetIdx() + 1} ({atom.GetSymbol()})</title></circle>"
        )
    svg = svg.replace("</svg>", "\n".join(tips) + "\n</svg>")
    return SVG(data=svg)


def draw_molecules(
    smiles: Sequence[str | Chem.Mol],
    legends: Sequence[str] | None = None,
    mols_per_row: int = 4,
    size: tuple[int, int] = (220, 180),
) -> SVG:
    """A grid of molecules as one SVG; ``size`` is per molecule. An invalid SMILES raises
    ``ValueError`` naming it and its position in the list."""
    from IPython.display import SVG
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    from .chem import InvalidSmilesError

    if isinstance(smiles, str):
        smiles = [smiles]
    smiles = list(smiles)
    if not smiles:
        raise ValueError("smiles is empty; pass at least one SMILES string")
    if legends is not None:
        legends = [str(x) for x in legends]
        if len(legends) != len(smiles):
            raise ValueError(f"legends has {len(legends)} entries but smiles has {len(smiles)}")
    if not isinstance(mols_per_row, int) or mols_per_row < 1:
        raise ValueError(f"mols_per_row must be an integer >= 1, got {mols_per_row!r}")
    width, height = _check_size(size)
    mols = []
    for i, s in enumerate(smiles):
        try:
            mols.append(_as_mol(s))
        except InvalidSmilesError as err:
            raise InvalidSmilesError(s, f"{err.reason} (entry {i} of smiles)") from None
    cols = min(mols_per_row, len(mols))
    rows = -(-len(mols) // cols)
    drawer = rdMolDraw2D.MolDraw2DSVG(cols * width, rows * height, width, height)
    drawer.DrawMolecules(mols, legends=legends or [""] * len(mols))
    drawer.FinishDrawing()
    # a hover tooltip per cell (legend and SMILES), also in the static HTML book
    tips = []
    for k, mol in enumerate(mols):
        name = html.escape(f"{legends[k]}: " if legends else "") + html.escape(Chem.MolToSmiles(mol))
        x, y = (k % cols) * width, (k // cols) * height
        tips.append(f"<rect x='{x}' y='{y}' width='{width}' height='{height}' fill='#fff' fill-opacity='0'>"
                    f"<title>{name}</title></rect>")
    svg = drawer.GetDrawingText().replace("</svg>", "\n".join(tips) + "\n</svg>")
    return SVG(data=svg)


_ELEMENT_COLORS = {
    "C": "#d0d0d0", "N": "#8fb0ff", "O": "#ff9a9a", "S": "#ffe066", "P": "#ffb366",
    "F": "#a6e3a1", "Cl": "#a6e3a1", "Br": "#d9a38c", "I": "#d0a6f0", "H": "#ffffff",
}
_BOND_NAMES = {1: "single", 2: "double", 3: "triple", 12: "aromatic"}
_STEREO_NAMES = {0: "none", 1: "any", 2: "Z", 3: "E", 4: "cis", 5: "trans"}
_BOND_STYLE = {1: (2, "solid"), 2: (5, "solid"), 3: (8, "solid"), 12: (4, "dot")}


def molecule_graph_figure(smiles: str | Chem.Mol, title: str | None = None) -> go.Figure:
    """The molecule as the graph a GNN sees, as an interactive plotly figure.

    Atoms sit at RDKit's 2D depiction coordinates, labelled element + number (``N2``); hovering
    an atom shows its six lecture features (its :func:`~chemdl_utils.chem.atom_table` row),
    hovering the marker at a bond's midpoint shows its two bond features. Plain plotly: it works
    in the static HTML book without a kernel.
    """
    import plotly.graph_objects as go
    from rdkit.Chem import rdDepictor

    from .chem import atom_table, bond_table

    mol = _as_mol(smiles)
    rdDepictor.Compute2DCoords(mol)
    xy = mol.GetConformer().GetPositions()[:, :2]
    atoms, bonds = atom_table(mol), bond_table(mol)
    feature_cols = [c for c in atoms.columns if c != "element"]
    bond_cols = [c for c in bonds.columns if c not in ("atom_i", "atom_j")]

    fig = go.Figure()
    for btype in sorted(bonds["bond_type"].unique()) if len(bonds) else []:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for _, row in bonds[bonds["bond_type"] == btype].iterrows():
            i, j = row["atom_i"] - 1, row["atom_j"] - 1
            xs += [xy[i, 0], xy[j, 0], None]
            ys += [xy[i, 1], xy[j, 1], None]
        width, dash = _BOND_STYLE.get(int(btype), (2, "dash"))
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", line={"color": "#555", "width": width, "dash": dash},
            name=f"{_BOND_NAMES.get(int(btype), f'type {btype}')} bond",
        ))
    if len(bonds):
        mid = np.array([(xy[i - 1] + xy[j - 1]) / 2 for i, j in zip(bonds["atom_i"], bonds["atom_j"])])
        meaning = {"bond_type": _BOND_NAMES, "stereo": _STEREO_NAMES}
        bond_text = [
            f"<b>bond {k}</b>: atoms {row['atom_i']}–{row['atom_j']}<br>"
            + "<br>".join(
                f"{c}: {_num(row[c])}"
                + (f" ({meaning[c][int(row[c])]})" if int(row[c]) in meaning.get(c, {}) else "")
                for c in bond_cols
            )
            for k, row in bonds.iterrows()
        ]
        fig.add_trace(go.Scatter(
            x=mid[:, 0], y=mid[:, 1], mode="markers", name="bonds (hover the dots)",
            marker={"size": 7, "color": "#555", "symbol": "diamond"},
            hovertext=bond_text, hovertemplate="%{hovertext}<extra></extra>",
        ))
    labels = [f"{el}{k}" for k, el in atoms["element"].items()]
    atom_text = [
        f"<b>{html.escape(label)}</b> (atom {k})<br>"
        + "<br>".join(f"{c}: {_num(row[c])}" for c in feature_cols)
        for label, (k, row) in zip(labels, atoms.iterrows())
    ]
    fig.add_trace(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", name="atoms", text=labels,
        textfont={"size": 11, "color": "black"}, textposition="middle center",
        marker={"size": 30, "color": [_ELEMENT_COLORS.get(el, "#e0c0ff") for el in atoms["element"]],
                "line": {"width": 1, "color": "#333"}},
        hovertext=atom_text, hovertemplate="%{hovertext}<extra></extra>",
    ))
    fig.update_layout(
        title=title if title is not None else (smiles if isinstance(smiles, str) else ""),
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x", "scaleratio": 1},
        plot_bgcolor="white", height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.02}, hovermode="closest",
    )
    return fig
