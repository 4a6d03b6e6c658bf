"""Device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from chemdl_utils.device import device_summary, get_device, is_gpu, seed_everything


def test_cpu_machine_gets_cpu(monkeypatch):
    monkeypatch.delenv("CHEMDL_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    assert not is_gpu()


def test_cuda_is_preferred_when_present(monkeypatch):
    monkeypatch.delenv("CHEMDL_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")
    assert is_gpu(torch.device("cuda"))


def test_mps_when_no_cuda(monkeypatch):
    monkeypatch.delenv("CHEMDL_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")


def test_environment_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("CHEMDL_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")


def test_unavailable_request_is_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CHEMDL_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device()


def test_summary_is_one_line():
    line = device_summary(torch.device("cpu"))
    assert line.startswith("cpu (") and "torch" in line and "\n" not in line


def test_seed_everything_reproduces_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3).tolist()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_deterministic_mode_toggles_torch():
    try:
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()


def test_seed_must_be_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything("1")  # type: ignore[arg-type]
