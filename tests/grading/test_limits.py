"""The one ``Limits`` type: units, validation, and how the CLI and nbgrader's configuration map onto it."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from chemdl_utils.grading.limits import Limits, coerce_limits


def test_sizes_are_stored_once_and_the_sandbox_reads_bytes():
    lim = Limits(memory_mb=2048, max_file_mb=8, max_disk_mb=64, max_output_chars=1000)
    assert (lim.memory_bytes, lim.max_file_bytes, lim.max_disk_bytes) == (2048 << 20, 8 << 20, 64 << 20)
    assert lim.max_output_bytes == 1000
    # the byte names are accepted and stored in the instructor's unit: the same object
    assert Limits(memory_bytes=2048 << 20, max_file_bytes=8 << 20, max_disk_bytes=64 << 20,
                  max_output_bytes=1000) == lim
    assert coerce_limits(lim) is lim  # a Limits is taken as it is, not copied
    assert Limits(**lim.__dict__) == lim
    assert Limits.from_json(lim.to_json()) == lim


def test_bad_limits_raise_one_clear_error():
    with pytest.raises(ValueError, match="whole number of MiB"):
        Limits(memory_bytes=1000)
    with pytest.raises(TypeError, match="not both"):
        Limits(memory_mb=1, memory_bytes=1 << 20)
    with pytest.raises(ValueError, match="max_restarts"):
        Limits(max_restarts=-1)
    with pytest.raises(ValueError, match="level must be one of"):
        Limits(level="docker")
    with pytest.raises(ValueError, match="protected_paths must be a list"):
        Limits(protected_paths="/srv/course")
    with pytest.raises(TypeError, match="unknown limit.*timeout"):
        coerce_limits({"timeout": 3})  # no silent aliases: a misspelt limit is an error
    assert coerce_limits({"cell_timeout": 3}) == Limits(cell_timeout=3)


def test_nbgrader_configuration_then_options():
    config = Config()
    config.Execute.timeout = 30
    assert Limits.from_options(config).cell_timeout == 30
    old = Config()
    old.ExecutePreprocessor.timeout = 45
    assert Limits.from_options(old).cell_timeout == 45
    # an option the instructor gave wins; one left out (None) keeps the configured value
    lim = Limits.from_options(config, cell_timeout=7, notebook_timeout=None, memory_mb=512)
    assert (lim.cell_timeout, lim.notebook_timeout, lim.memory_mb) == (7, 900.0, 512)
    assert Limits.from_options(Config()) == Limits()


def test_the_autograde_command_maps_its_options_once(monkeypatch, tmp_path):
    from chemdl_utils.cli import main
    from chemdl_utils.grading import autograde

    seen = {}

    def fake(course, assignment, **kw):
        seen["limits"] = kw["limits"]
        raise SystemExit(0)

    monkeypatch.setattr(autograde, "autograde_assignment", fake)
    root = tmp_path / "course"
    (root / "solutions" / "hw").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 33\n")
    common = ["--course", str(root), "--workspace", str(tmp_path / "ws")]
    with pytest.raises(SystemExit):
        main(["grade", "autograde", "hw", "--memory", "1024", *common])
    assert seen["limits"] == Limits(cell_timeout=33, memory_mb=1024)
    with pytest.raises(SystemExit):
        main(["grade", "autograde", "hw", "--cell-timeout", "5", "--timeout", "60", *common])
    assert seen["limits"] == Limits(cell_timeout=5, notebook_timeout=60)
