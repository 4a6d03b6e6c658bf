"""execute_submission alone: timeouts, crashes, output and memory limits, the notebook limit."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chemdl_utils.grading.execute import ExecutionResult, Limits, execute_submission

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _write(folder, sources):
    cells = [new_markdown_cell(s[3:]) if s.startswith("md:") else new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNEL})
    path = folder / "nb.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory) -> ExecutionResult:
    """One notebook that times out, crashes the kernel, prints too much and allocates too much."""
    folder = tmp_path_factory.mktemp("exec")
    path = _write(folder, [
        "x = 21\nopen('written.txt', 'w').write('ok')",
        "while True:\n    pass",
        "print(x * 2)",
        "import os\nos._exit(1)",
        "print(x + 1)",
        "print('y' * 50_000)",
        "big = bytearray(1 << 30)",
        "md:the end",
    ])
    limits = Limits(cell_timeout=4, notebook_timeout=120, max_output_chars=1000, memory_mb=768)
    return execute_submission(path, folder, limits)


def _text(cell) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") + o.get("ename", "") for o in cell.outputs)


def test_runs_to_the_end_despite_timeout_and_crash(misbehaving):
    r = misbehaving
    assert r.status == "ok", r.reason + r.stderr_tail
    assert r.cell_status == ["ok", "timeout", "ok", "crashed", "ok", "ok", "error", ""]
    assert r.restarts == 2
    assert r.problems() == ["cell 1 timed out", "cell 3 crashed the kernel"]


def test_state_is_restored_after_a_restart(misbehaving):
    cells = misbehaving.notebook.cells
    assert _text(cells[2]).strip() == "42"  # x survived the timeout's restart (cell 0 replayed)
    assert _text(cells[4]).strip() == "22"  # and the crash's restart


def test_timeout_and_crash_cells_carry_an_error(misbehaving):
    cells = misbehaving.notebook.cells
    assert "CellTimeoutError" in _text(cells[1]) and "4 s" in _text(cells[1])
    assert "DeadKernelError" in _text(cells[3])


def test_huge_output_is_truncated(misbehaving):
    text = _text(misbehaving.notebook.cells[5])
    assert len(text) < 1200 and "output truncated by the grader after 1000 characters" in text


def test_memory_limit_gives_memory_error(misbehaving):
    assert "MemoryError" in _text(misbehaving.notebook.cells[6])


def test_notebook_timeout_kills_everything(tmp_path):
    path = _write(tmp_path, ["import time\ntime.sleep(60)"])
    r = execute_submission(path, tmp_path, Limits(cell_timeout=50, notebook_timeout=6))
    assert r.status == "timeout" and r.notebook is None
    assert "time limit of 6 s" in r.reason
    assert r.duration_s < 20


def test_limits_are_validated():
    with pytest.raises(ValueError, match="cell_timeout must be a positive"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=-1)
    assert Limits.from_json(Limits(cell_timeout=3).to_json()) == Limits(cell_timeout=3)
    assert Limits(memory_mb=2).memory_bytes == 2 << 20


def test_missing_paths_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        execute_submission(tmp_path / "nope.ipynb", tmp_path, Limits())


def test_runs_plainly_without_the_isolation_module(tmp_path, monkeypatch):
    import chemdl_utils.grading.execute as execute

    monkeypatch.setattr(execute, "_isolation_module", lambda: None)
    path = _write(tmp_path, ["import os\nprint(os.environ['NBGRADER_EXECUTION'])"])
    r = execute_submission(path, tmp_path, Limits(cell_timeout=30, notebook_timeout=60))
    assert r.status == "ok" and r.isolation == "none"
    assert _text(r.notebook.cells[0]).strip() == "autograde"


def test_isolation_failure_is_reported_not_bypassed(tmp_path, monkeypatch):
    import chemdl_utils.grading.execute as execute

    class Broken:
        @staticmethod
        def isolated_command(argv, workdir, limits):
            raise RuntimeError("no sandbox here")

    monkeypatch.setattr(execute, "_isolation_module", lambda: Broken)
    path = _write(tmp_path, ["print(1)"])
    r = execute_submission(path, tmp_path, Limits())
    assert r.status == "failed" and r.reason == "isolation failed: no sandbox here"
