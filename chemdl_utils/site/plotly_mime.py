"""Render plotly figures (``application/vnd.plotly.v1+json`` outputs) in the built book, offline.

In a kernel started by the book build (nbclient), ``fig.show()`` and a figure as the last
expression of a cell produce only the plotly mime bundle. myst-nb has no renderer for it and
drops the output (warning subtype ``mystnb.unknown_mime_type``), so the figure would be missing
from the page. This plugin, registered under the ``myst_nb.mime_renderers`` entry-point group
(see ``pyproject.toml``), writes the figure JSON into the page; ``_static/chemdl/plotly-loader.js``
(vendored by :func:`chemdl_utils.site.post_build`) draws it with the plotly.js that the installed
``plotly`` Python package ships, so no CDN is involved and the figure stays interactive
(hover, zoom, sliders, buttons, animation frames).

The JSON is also preferred over a ``text/html`` rendering of the same figure, which plotly's
``notebook_connected`` / ``cdn`` renderers point at ``cdn.plot.ly``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Sequence

from docutils import nodes

__all__ = ["PLOTLY_MIME", "PlotlyMimeRenderer", "figure_html"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: CSS class of the ``<script>`` holding a figure's JSON; the loader draws each one before it.
DATA_CLASS = "chemdl-plotly-data"


def figure_html(figure: dict[str, Any] | str) -> str:
    """The HTML placeholder for one figure: its JSON in a non-executed ``<script>`` element."""
    if isinstance(figure, (bytes, str)):
        figure = json.loads(figure)
    if not isinstance(figure, dict) or "data" not in figure:
        raise ValueError(f"a plotly figure must be a dict with a 'data' key, got {type(figure).__name__}")
    text = json.dumps(figure, separators=(",", ":"), allow_nan=False, default=str)
    # keep the HTML parser inside the script element ("</script>", "<!--")
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return (
        '<div class="chemdl-plotly output">'
        f'<script type="{PLOTLY_MIME}" class="{DATA_CLASS}">{text}</script>'
        "</div>"
    )


def _sanitize(value: Any) -> Any:
    """Replace NaN/inf (invalid in JSON.parse) with None, as plotly.js treats gaps."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _sanitize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    return value


class PlotlyMimeRenderer:
    """myst-nb ``MimeRenderPlugin`` for plotly figures (HTML builders only)."""

    # myst-nb sorts ascending: before text/html (30), after widget views (10)
    mime_priority_overrides: ClassVar[Sequence[tuple[str, str, int | None]]] = (
        ("html", PLOTLY_MIME, 25),
        ("dirhtml", PLOTLY_MIME, 25),
        ("singlehtml", PLOTLY_MIME, 25),
    )

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        if data.mime_type != PLOTLY_MIME or inline:
            return None
        content = data.content
        if isinstance(content, (bytes, str)):
            content = json.loads(content)
        return [nodes.raw(text=figure_html(_sanitize(content)), format="html", classes=["output", "text_html"])]
