"""One progress bar for the whole package: notebook widget in Jupyter, text in a terminal."""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress", "finish_early"]

T = TypeVar("T")


def progress(iterable: Iterable[T] | None, *, total: int | None = None, desc: str = "", enabled: bool = True, **kwargs) -> tqdm:
    """Wrap ``iterable`` in a tqdm bar (``tqdm.auto``: a widget in notebooks); ``None``: a manual bar
    (``bar.update(1)`` per step), which a loop can leave early without the bar closing as failed.

    ``CHEMDL_PROGRESS=0`` switches all bars off (used by the test suite and the book build).
    """
    off = not enabled or os.environ.get("CHEMDL_PROGRESS", "1") == "0"
    return tqdm(iterable, total=total, desc=desc, disable=off, leave=False, **kwargs)


def finish_early(bar: tqdm, epoch: int, best_epoch: int | None = None) -> None:
    """Mark ``bar`` as finished at ``epoch`` because training stopped early (call before ``bar.close()``).

    Without this, tqdm closes a bar that stopped short of its total as a failure: the notebook
    widget stays red at e.g. ``60% 36/60``. Here the bar ends full and green, and stays on screen
    with the reason: ``stopped early at epoch 37, best 12``.
    """
    if type(epoch) is not int or epoch < 1:
        raise ValueError(f"epoch must be a positive int (the last epoch run), got {epoch!r}")
    text = f"stopped early at epoch {epoch}" + (f", best {best_epoch}" if best_epoch is not None else "")
    bar.n = epoch
    bar.total = epoch
    bar.leave = True  # keep the finished bar (and its message) on screen
    bar.set_description_str(text, refresh=False)
    if bar.disable:
        return
    container = getattr(bar, "container", None)  # tqdm.notebook: the widget's maximum follows the new total
    if container is not None:
        _, widget, _ = container.children
        widget.max = epoch
        widget.bar_style = "success"
    bar.refresh()
