"""Sphinx extension: make every HTML build of the book self-contained.

Listed in ``_config.yml`` under ``sphinx.extra_extensions``, so the field's own command
``jupyter-book build .`` and ``chemdl book build`` give the same offline site: at the end of a
successful ``html`` build (``build-finished``) it runs :func:`chemdl_utils.site.post_build`
(vendor MathJax, require.js, the widgets manager and plotly.js into ``_static/chemdl/``, put
executed outputs into the ``_sources/*.ipynb`` downloads, fix the pages, then check that no page
fetches anything from another host and that no plotly figure was dropped). A failed build or
another builder (``latex``, ``linkcheck``, ``dirhtml``, ...) is left alone. If a check fails, the
build fails with its message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["EXTENSION", "setup"]

#: the name to list under ``sphinx.extra_extensions``
EXTENSION = "chemdl_utils.site.sphinx_ext"


def _post_build(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.name != "html":
        return
    from sphinx.util import logging

    from . import post_build

    config = getattr(app.env, "mystnb_config", None)
    cache = getattr(config, "execution_cache_path", None) or None
    post_build(Path(app.srcdir), Path(app.outdir), cache_dir=Path(cache) if cache else None)
    logging.getLogger(__name__).info("chemdl: vendored assets into _static/chemdl; the site is self-contained")


def setup(app: Any) -> dict:
    """Sphinx entry point."""
    # after MyST-NB's own build-finished handler (it writes the global notebook assets)
    app.connect("build-finished", _post_build, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
