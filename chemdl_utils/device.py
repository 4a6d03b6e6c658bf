"""Where code runs and how it is made reproducible.

Every training cell in the book and every exercise asks :func:`get_device` for its device, so the
same code uses a CUDA GPU where one exists, Apple's MPS backend on a Mac, and the CPU otherwise.
Set ``CHEMDL_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) to override the choice.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get_device", "device_summary", "seed_everything", "is_gpu"]

_ENV_VAR = "CHEMDL_DEVICE"


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device training should use.

    Order: the ``prefer`` argument, then the ``CHEMDL_DEVICE`` environment variable, then CUDA,
    then MPS, then CPU. A requested device that is not available raises ``RuntimeError`` naming
    it, rather than silently falling back.
    """
    requested = prefer or os.environ.get(_ENV_VAR, "").strip()
    if requested:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"{_ENV_VAR}/prefer asked for {requested!r} but CUDA is not available; "
                f"unset {_ENV_VAR} or set it to 'cpu'."
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"{requested!r} requested but Apple MPS is not available here.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def is_gpu(device: torch.device | None = None) -> bool:
    """True when ``device`` (default: :func:`get_device`) is an accelerator."""
    return (device or get_device()).type in {"cuda", "mps"}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device_summary(device: torch.device | None = None) -> str:
    """One line describing the device, for chapter headers and ``chemdl info``."""
    device = device or get_device()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return (
            f"cuda:{index} ({props.name}, {props.total_memory / 2**30:.0f} GiB), "
            f"torch {torch.__version__}"
        )
    if device.type == "mps":
        return f"mps (Apple GPU), torch {torch.__version__}"
    return f"cpu ({torch.get_num_threads()} threads), torch {torch.__version__}"


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all CUDA devices too).

    With ``deterministic=True`` torch is also asked for deterministic kernels
    (slower on GPU; some operations then raise instead of running nondeterministically).
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    elif torch.are_deterministic_algorithms_enabled():
        # only switch off when on: the call imports torch._dynamo, which costs seconds
        torch.use_deterministic_algorithms(False)
