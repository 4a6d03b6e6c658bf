"""One progress bar for the whole package: notebook widget in Jupyter, text in a terminal."""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress"]

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool = True, **kwargs) -> tqdm:
    """Wrap ``iterable`` in a tqdm bar (``tqdm.auto``: a widget in notebooks).

    ``CHEMDL_PROGRESS=0`` switches all bars off (used by the test suite and the book build).
    """
    off = not enabled or os.environ.get("CHEMDL_PROGRESS", "1") == "0"
    return tqdm(iterable, total=total, desc=desc, disable=off, leave=False, **kwargs)
