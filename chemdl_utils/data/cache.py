"""Where cached artefacts (featurized graph datasets) live: ``$CHEMDL_CACHE_DIR`` or ``~/.cache/chemdl``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir"]

#: environment variable that moves the cache (the test suite points it at a temporary folder)
CACHE_ENV = "CHEMDL_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder: ``$CHEMDL_CACHE_DIR`` if set, else ``~/.cache/chemdl`` (not created here)."""
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "chemdl"
