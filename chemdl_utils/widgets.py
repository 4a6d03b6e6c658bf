"""Interactive explorers for the book: live in Jupyter (ipywidgets), static in the HTML (plotly sliders).

One function, :func:`activation_explorer`, builds both versions of the activation-function explorer
from the same curve code (:func:`neuron_curves`):

* ``mode="live"`` returns an ipywidgets box (a dropdown for the activation, one slider per
  parameter) whose callback recomputes the curves and redraws a matplotlib figure. Every
  parameter can be moved at once. It needs a running kernel.
* ``mode="static"`` returns a plain :class:`plotly.graph_objects.Figure` in which every curve for
  every slider position has been computed in advance; the dropdown and the sliders only switch
  which curves are visible. It therefore works in a published HTML page without a kernel. Each
  slider moves one parameter with the others at their default values (precomputed curves cannot
  combine). The book draws plotly figures with the plotly.js it serves itself
  (:mod:`chemdl_utils.site.plotly_mime`), so no CDN is involved.
* ``mode="auto"`` picks ``"live"`` inside a Jupyter kernel and ``"static"`` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import torch

from .activations import ACTIVATIONS, get_activation

__all__ = [
    "ParamSpec",
    "EXPLORER_PARAMS",
    "neuron_curves",
    "activation_explorer",
    "static_molecule_box",
]


@dataclass(frozen=True)
class ParamSpec:
    """A slider: parameter ``name`` shown as ``label``, from ``low`` to ``high`` in steps of ``step``."""

    name: str
    label: str
    default: float
    low: float
    high: float
    step: float

    def values(self) -> np.ndarray:
        """The slider positions (always contains ``default``)."""
        n = int(round((self.high - self.low) / self.step))
        grid = np.round(self.low + self.step * np.arange(n + 1), 10)
        if not np.isclose(grid, self.default).any():
            raise ValueError(f"default {self.default} of {self.name!r} is not on its slider grid")
        return grid


_W = ParamSpec("w", "neuron weight w", 1.0, -3.0, 3.0, 0.5)
_B = ParamSpec("b", "neuron bias b", 0.0, -3.0, 3.0, 0.5)

#: The sliders of each activation. Every activation except maxout is applied to a neuron's
#: pre-activation ``z = w x + b``; maxout's own two affine pieces already contain weights and biases.
EXPLORER_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "sigmoid": (_W, _B),
    "leaky_relu": (_W, _B, ParamSpec("slope", "leaky slope", 0.1, 0.0, 0.5, 0.05)),
    "tanh": (_W, _B),
    "maxout": (
        ParamSpec("w1", "piece 1 weight w₁", 1.0, -2.0, 2.0, 0.5),
        ParamSpec("b1", "piece 1 bias b₁", 0.0, -2.0, 2.0, 0.5),
        ParamSpec("w2", "piece 2 weight w₂", -0.5, -2.0, 2.0, 0.5),
        ParamSpec("b2", "piece 2 bias b₂", 0.0, -2.0, 2.0, 0.5),
    ),
    "relu": (_W, _B),
    "elu": (_W, _B, ParamSpec("alpha", "ELU α", 1.0, 0.0, 2.0, 0.25)),
}


def _defaults(name: str) -> dict[str, float]:
    return {p.name: p.default for p in EXPLORER_PARAMS[name]}


def neuron_curves(
    activation: str, x: np.ndarray | Sequence[float], **params: float
) -> tuple[np.ndarray, np.ndarray]:
    """Output ``y(x)`` and derivative ``dy/dx`` of one neuron with a single input.

    For every activation but maxout, ``y = f(w x + b)`` and ``dy/dx = w f'(w x + b)`` (chain rule);
    for maxout, ``y = max(w1 x + b1, w2 x + b2)``. Missing parameters take the values of
    :data:`EXPLORER_PARAMS`; unknown ones raise ``ValueError``. Both curves are float64 NumPy arrays.
    This is the one place the explorer computes curves: the live and the static versions call it.
    """
    act = get_activation(activation)
    known = _defaults(act.name)
    unknown = set(params) - set(known)
    if unknown:
        raise ValueError(f"{act.name} has no parameter(s) {sorted(unknown)}; it takes {sorted(known)}")
    p = {**known, **params}
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if act.name == "maxout":
        return act(xt, **p).numpy(), act.derivative_at(xt, **p).numpy()
    w, b = p.pop("w"), p.pop("b")
    z = w * xt + b
    return act(z, **p).numpy(), (w * act.derivative_at(z, **p)).numpy()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def activation_explorer(
    mode: Literal["auto", "live", "static"] = "auto",
    activation: str = "elu",
    x_range: tuple[float, float] = (-4.0, 4.0),
    n_points: int = 121,
) -> Any:
    """Explore the six activations: the curve and its derivative, as parameters change.

    ``mode="live"``: an :class:`ipywidgets.VBox` (dropdown + sliders + plot) that recomputes the
    curves on every change; its ``curves`` attribute holds the latest ``(x, y, dydx)``.
    ``mode="static"``: a :class:`plotly.graph_objects.Figure` with a dropdown for the activation and
    one slider per parameter (all curves precomputed; ``fig.write_html(path)`` saves it as a page).
    ``mode="auto"``: live in a Jupyter kernel, static otherwise. ``activation`` is the one shown first.
    """
    if mode not in ("auto", "live", "static"):
        raise ValueError(f"mode must be 'auto', 'live' or 'static', got {mode!r}")
    start = get_activation(activation).name
    lo, hi = x_range
    if not hi > lo:
        raise ValueError(f"x_range must be (low, high) with high > low, got {x_range}")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    x = np.linspace(lo, hi, n_points)
    if mode == "auto":
        mode = "live" if _in_kernel() else "static"
    if mode == "live":
        return _live_explorer(start, x)
    return _static_figure(start, x)


# --- static: plotly with precomputed traces ---------------------------------------------------------

_COLORS = {"y": "#1f77b4", "dy": "#d62728"}
_PLOT_PX = 330  # height of the plotting area in pixels
_SLIDER_PX = 95  # vertical room for one slider (label, track, ticks)


def _fmt(v: float) -> str:
    return f"{v:g}"


def _static_figure(start: str, x: np.ndarray) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("output y(x)", "derivative dy/dx"),
                        horizontal_spacing=0.1)
    x0, dx = float(x[0]), float(x[1] - x[0])
    # index[name] = list of (parameter, value, trace index of y, trace index of dy/dx)
    index: dict[str, list[tuple[str, float, int, int]]] = {}
    traces: list[Any] = []
    for name, specs in EXPLORER_PARAMS.items():
        index[name] = []
        for spec in specs:
            for value in spec.values():
                y, dy = neuron_curves(name, x, **{spec.name: float(value)})
                is_default = bool(np.isclose(value, spec.default))
                visible = name == start and is_default and spec is specs[0]
                label = f"{ACTIVATIONS[name].label}, {spec.name}={_fmt(value)}"
                index[name].append((spec.name, float(value), len(traces), len(traces) + 1))
                for axis, (curve, key) in zip(("", "2"), ((y, "y"), (dy, "dy"))):
                    traces.append(go.Scatter(
                        x0=x0, dx=dx, y=curve.astype(np.float32), mode="lines", visible=visible,
                        line={"color": _COLORS[key], "width": 3}, name=label, showlegend=False,
                        xaxis="x" + axis, yaxis="y" + axis,
                        hovertemplate="x=%{x:.2f}, %{y:.3f}<extra></extra>",
                    ))
    fig.add_traces(traces)
    n_traces = len(fig.data)

    def sliders_for(name: str) -> list[dict[str, Any]]:
        own = [i for _, _, iy, idy in index[name] for i in (iy, idy)]
        sliders = []
        specs = EXPLORER_PARAMS[name]
        for s, spec in enumerate(specs):
            steps, active = [], 0
            for pname, value, iy, idy in index[name]:
                if pname != spec.name:
                    continue
                if np.isclose(value, spec.default):
                    active = len(steps)
                steps.append({
                    "method": "restyle",
                    "label": _fmt(value),
                    "args": [{"visible": [i in (iy, idy) for i in own]}, own],
                })
            sliders.append({
                "active": active, "steps": steps, "x": 0.05, "len": 0.9,
                "y": -(60 + _SLIDER_PX * s) / _PLOT_PX,
                "yanchor": "top", "pad": {"t": 30, "b": 0},
                "currentvalue": {"prefix": f"{spec.label} = ", "font": {"size": 13}},
            })
        return sliders

    buttons = []
    for name in EXPLORER_PARAMS:
        first_spec = EXPLORER_PARAMS[name][0]
        visible = [False] * n_traces
        for pname, value, iy, idy in index[name]:
            if pname == first_spec.name and np.isclose(value, first_spec.default):
                visible[iy] = visible[idy] = True
        buttons.append({
            "method": "update",
            "label": ACTIVATIONS[name].label,
            "args": [{"visible": visible}, {"sliders": sliders_for(name)}],
        })
    n_max = max(len(s) for s in EXPLORER_PARAMS.values())
    fig.update_layout(
        updatemenus=[{
            "buttons": buttons, "active": list(EXPLORER_PARAMS).index(start), "x": 0.0, "y": 1.22,
            "xanchor": "left", "yanchor": "top", "direction": "down", "showactive": True,
        }],
        sliders=sliders_for(start),
        height=100 + _PLOT_PX + 40 + _SLIDER_PX * n_max,
        margin={"t": 100, "b": 40 + _SLIDER_PX * n_max, "l": 50, "r": 20},
        template="plotly_white",
        annotations=[*fig.layout.annotations, {
            "text": "activation:", "x": 0.0, "y": 1.24, "xref": "paper", "yref": "paper",
            "showarrow": False, "xanchor": "left", "yanchor": "bottom",
        }],
    )
    fig.update_xaxes(title_text="input x", range=[float(x[0]), float(x[-1])], zeroline=True)
    fig.update_yaxes(range=[-3.4, 3.4], zeroline=True, row=1, col=1)
    fig.update_yaxes(range=[-3.4, 3.4], zeroline=True, row=1, col=2)
    return fig


# --- live: ipywidgets + matplotlib ------------------------------------------------------------------


def _live_explorer(start: str, x: np.ndarray) -> Any:
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    dropdown = widgets.Dropdown(
        options=[(a.label, name) for name, a in ACTIVATIONS.items()], value=start, description="activation"
    )
    sliders: dict[str, widgets.FloatSlider] = {}
    for specs in EXPLORER_PARAMS.values():
        for spec in specs:
            if spec.name not in sliders:
                sliders[spec.name] = widgets.FloatSlider(
                    value=spec.default, min=spec.low, max=spec.high, step=spec.step / 5,
                    description=spec.name, continuous_update=True, readout_format=".2f",
                    style={"description_width": "initial"}, layout={"width": "420px"},
                )
    out = widgets.Output()
    box = widgets.VBox([dropdown, *sliders.values(), out])
    box.dropdown, box.sliders, box.output = dropdown, sliders, out  # for tests and curious readers
    box.curves = (x, *neuron_curves(start, x))
    box.n_updates = 0

    def redraw(*_: Any) -> None:
        name = dropdown.value
        names = {s.name for s in EXPLORER_PARAMS[name]}
        for pname, slider in sliders.items():
            slider.layout.display = None if pname in names else "none"
        params = {p: sliders[p].value for p in names}
        y, dy = neuron_curves(name, x, **params)
        box.curves = (x, y, dy)
        box.n_updates += 1
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
            for ax, curve, title, color in ((axes[0], y, "output y(x)", _COLORS["y"]),
                                            (axes[1], dy, "derivative dy/dx", _COLORS["dy"])):
                ax.plot(x, curve, color=color, lw=2.5)
                ax.axhline(0, color="0.7", lw=0.8)
                ax.axvline(0, color="0.7", lw=0.8)
                ax.set_title(title)
                ax.set_xlabel("input x")
            axes[0].set_ylim(-3.4, 3.4)
            axes[1].set_ylim(-3.4, 3.4)
            setting = ", ".join(f"{k}={v:.2f}" for k, v in params.items())
            fig.suptitle(f"{ACTIVATIONS[name].label}: {setting}")
            plt.close(fig)
            display(fig)

    dropdown.observe(redraw, names="value")
    for slider in sliders.values():
        slider.observe(redraw, names="value")
    box.redraw = redraw
    redraw()
    return box


# ------------------------------------------------------------------------------------------------
# the molecule box of the static book (no kernel): chemdl_utils/site/assets/molecule-box.js

#: tooltips of the feature tables' column headers; molecule-box.js has the same (COLUMN_HELP)
_MB_COLUMN_HELP = {
    "element": "element symbol (Atom.GetSymbol())",
    "atomic_number": "atomic number Z (Atom.GetAtomicNum())",
    "num_neighbors": "directly bonded neighbours, hydrogens included (Atom.GetTotalDegree())",
    "num_hydrogens": "attached hydrogens, implicit and explicit (Atom.GetTotalNumHs())",
    "formal_charge": "formal charge (Atom.GetFormalCharge())",
    "atomic_mass": "atomic mass in u: standard atomic weight, or the isotope's mass (Atom.GetMass())",
    "in_ring": "1 if the atom is in a ring (Atom.IsInRing())",
    "atom_i": "first atom of the bond (Bond.GetBeginAtomIdx() + 1)",
    "atom_j": "second atom of the bond (Bond.GetEndAtomIdx() + 1)",
    "bond_type": "RDKit bond type: 1 single, 2 double, 3 triple, 12 aromatic, 17 dative (Bond.GetBondType())",
    "stereo": "RDKit bond stereo: 0 none, 1 any, 2 Z, 3 E (Bond.GetStereo())",
}
_MB_COUNTER = iter(range(1, 1 << 62))

# Loads molecule-box.js from the site that shows the page (Sphinx writes the path from the page to
# the site root into <html data-content_root>); elsewhere (a notebook) it says where the box works.
_MB_LOADER = """<script>(function () {
  if (window.chemdlMoleculeBox) { window.chemdlMoleculeBox.start(); return; }
  if (document.querySelector("script[data-chemdl-molecule-box]")) return;
  var root = document.documentElement.getAttribute("data-content_root");
  if (root === null) {
    document.querySelectorAll(".chemdl-molecule-box .chemdl-mb-message").forEach(function (p) {
      p.textContent = "This box computes other molecules only on the course's web pages; in a " +
        "notebook, call feature_table(smiles) or use a live ipywidgets box.";
    });
    return;
  }
  var script = document.createElement("script");
  script.src = root + "_static/chemdl/molecule-box.js";
  script.setAttribute("data-chemdl-molecule-box", "");
  document.head.appendChild(script);
})();</script>"""


def _mb_table(kind: str, frame: Any, caption: str) -> str:
    import html

    from rdkit import Chem

    esc = html.escape
    head = "".join(
        f'<th scope="col" title="{esc(_MB_COLUMN_HELP[c])}">{esc(c)}</th>' for c in frame.columns
    )
    rows = []
    for number, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            value = row[c]
            if c == "atomic_mass":
                text = f"{float(value):.3f}"
            elif c == "element":
                text = str(value)
            else:
                text = str(int(value))
            title = ""
            if c == "bond_type":
                title = f' title="{Chem.BondType.values[int(value)]}"'
            elif c == "stereo":
                title = f' title="{Chem.BondStereo.values[int(value)]}"'
            cells.append(f'<td data-col="{c}"{title}>{esc(text)}</td>')
        rows.append(f'<tr><th scope="row">{int(number)}</th>{"".join(cells)}</tr>')
    return (
        f'<table class="chemdl-mb-table dataframe" data-table="{kind}"><caption>{esc(caption)}</caption>'
        f'<thead><tr><th scope="col">{"atom" if kind == "atoms" else "bond"}</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>'
    )


def static_molecule_box(smiles: str = "CC(=O)Oc1ccccc1C(=O)O", size: tuple[int, int] = (360, 260)) -> Any:
    """A SMILES box for the static web book: the lecture's atom and bond tables and a numbered
    drawing of whatever molecule the reader types, computed in the browser, without a kernel.

    Returns an :class:`IPython.display.HTML` object (display it, or make it a cell's last line).
    The HTML already holds the tables and the drawing of ``smiles`` (computed here with
    :func:`chemdl_utils.feature_table` and :func:`chemdl_utils.draw_molecule`), so a page shows
    them without downloading anything. When the reader submits another SMILES, the page's
    ``_static/chemdl/molecule-box.js`` computes the same tables with RDKit.js (RDKit's
    WebAssembly build, served by the site itself: it works offline) and redraws. The tables
    equal :func:`chemdl_utils.feature_table` cell by cell; an invalid SMILES gets a message that
    says so. The box needs the built book (``chemdl book build``), which vendors RDKit.js; in a
    notebook it shows the first molecule only and points to the live ipywidgets box.

    The box is labelled and keyboard-usable (a form: type, press Enter), and its message is an
    ``aria-live`` status. Raises :class:`chemdl_utils.chem.InvalidSmilesError` for an invalid
    ``smiles`` and ``ValueError`` for a bad ``size``.
    """
    import html

    from IPython.display import HTML

    from .chem import feature_table
    from .plots import draw_molecule

    if (
        not isinstance(size, tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 2000 for v in size)
    ):
        raise ValueError(f"size must be a (width, height) tuple of ints between 100 and 2000 pixels, got {size!r}")
    atoms, bonds = feature_table(smiles)  # raises InvalidSmilesError with the reason
    text = smiles.strip()
    width, height = size
    svg = draw_molecule(text, atom_numbers=True, size=size).data
    label = f"Drawing of {text} with its atoms numbered 1 to {len(atoms)}, the rows of the atom table"
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)
    na, nb = len(atoms), len(bonds)
    atoms_caption = f"Atoms: {na} atom{'s' if na != 1 else ''}, the lecture's six features"
    bonds_caption = f"Bonds: {nb} bond{'s' if nb != 1 else ''}, the lecture's two features" if nb else "Bonds: none"
    ident = f"chemdl-mb-{next(_MB_COUNTER)}"
    esc = html.escape
    message = (
        f"{text}: {na} atom{'s' if na != 1 else ''}; "
        f"{f'{nb} bond' + ('s' if nb != 1 else '') if nb else 'no bonds'}. "
        "Computed when this page was built; type another SMILES to compute it in your browser."
    )
    body = f"""<div class="chemdl-molecule-box" id="{ident}" data-width="{width}" data-height="{height}" data-shown="{esc(text)}">
<form class="chemdl-mb-form" action="#" autocomplete="off">
<label for="{ident}-input">SMILES</label>
<input class="chemdl-mb-input" id="{ident}-input" name="smiles" type="text" value="{esc(text)}" spellcheck="false" autocapitalize="off" autocorrect="off" aria-describedby="{ident}-help {ident}-message">
<button type="submit">Show</button>
</form>
<p class="chemdl-mb-help" id="{ident}-help">Type a SMILES and press Enter (or Show): RDKit, running in your browser, computes the atom and bond tables and draws the molecule with its atoms numbered as the table rows.</p>
<p class="chemdl-mb-message" id="{ident}-message" role="status" aria-live="polite">{esc(message)}</p>
<div class="chemdl-mb-drawing">{svg}</div>
<div class="chemdl-mb-tables" role="region" aria-label="Feature tables" tabindex="0">{_mb_table("atoms", atoms, atoms_caption)}{_mb_table("bonds", bonds, bonds_caption)}</div>
<noscript><p>This box needs JavaScript to compute other molecules; the tables show {esc(text)}.</p></noscript>
</div>
{_MB_LOADER}"""
    return HTML(body)
