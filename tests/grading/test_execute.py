"""The one execution path alone (``grader.secure_execute``, as ``autograde`` calls it):
timeouts, crashes, output and memory limits, the notebook limit, state restored after a restart."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chemdl_utils.grading.execute import ExecutionResult
from chemdl_utils.grading.limits import Limits
from chemdl_utils.grading.grader import secure_execute

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _notebook(sources: list[str]) -> nbformat.NotebookNode:
    cells = [new_markdown_cell(s[3:]) if s.startswith("md:") else new_code_cell(s) for s in sources]
    return new_notebook(cells=cells, metadata={"kernelspec": KERNEL})


def _run(folder: Path, sources: list[str], limits: Limits) -> ExecutionResult:
    """Execute a notebook without tests: the instructor's source is the same notebook."""
    os.chmod(folder, 0o711)
    work = Path(tempfile.mkdtemp(dir=folder))
    nb = _notebook(sources)
    path = work / "nb.ipynb"
    nbformat.write(nb, path)
    return secure_execute(path, work, limits, nb)


@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory) -> ExecutionResult:
    """One notebook that times out, crashes the kernel, prints too much and allocates too much."""
    return _run(tmp_path_factory.mktemp("exec"), [
        "x = 21\nopen('written.txt', 'w').write('ok')",
        "while True:\n    pass",
        "print(x * 2)",
        "import os\nos._exit(1)",
        "print(x + 1)",
        "print('y' * 50_000)",
        "big = bytearray(1 << 30)",
        "md:the end",
    ], Limits(cell_timeout=4, notebook_timeout=120, max_output_chars=1000, memory_mb=768))


def _text(cell) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") + o.get("ename", "") for o in cell.outputs)


def test_runs_to_the_end_despite_timeout_and_crash(misbehaving):
    r = misbehaving
    assert r.status == "ok", r.reason + r.stderr_tail
    assert r.cell_status == ["ok", "timeout", "ok", "crashed", "ok", "ok", "error", ""]
    assert r.problems() == ["cell 1 timed out", "cell 3 crashed the kernel"]


def test_state_is_restored_after_a_restart(misbehaving):
    cells = misbehaving.notebook.cells
    assert _text(cells[2]).strip() == "42"  # x survived the timeout's restart (cell 0 replayed)
    assert _text(cells[4]).strip() == "22"  # and the crash's restart


def test_timeout_and_crash_cells_carry_an_error(misbehaving):
    cells = misbehaving.notebook.cells
    assert "time limit of 4 s" in _text(cells[1])
    assert "kernel died" in _text(cells[3])


def test_huge_output_is_truncated(misbehaving):
    text = _text(misbehaving.notebook.cells[5])
    assert len(text) < 1500 and "output truncated" in text


def test_memory_limit_gives_memory_error(misbehaving):
    assert "MemoryError" in _text(misbehaving.notebook.cells[6])


def test_notebook_timeout_stops_everything(tmp_path):
    r = _run(tmp_path, ["import time\ntime.sleep(60)"], Limits(cell_timeout=50, notebook_timeout=6))
    assert r.status == "timeout" and r.notebook is None
    assert "time limit of 6 s" in r.reason
    assert r.duration_s < 30


def test_limits_are_validated():
    with pytest.raises(ValueError, match="cell_timeout must be a positive"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=-1)
    assert Limits.from_json(Limits(cell_timeout=3).to_json()) == Limits(cell_timeout=3)
    assert Limits(memory_mb=2).memory_bytes == 2 << 20


def test_an_unreadable_notebook_scores_zero_with_a_reason(tmp_path):
    os.chmod(tmp_path, 0o711)
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    r = secure_execute(path, tmp_path, Limits(), _notebook(["print(1)"]))
    assert r.status == "failed" and "unreadable" in r.reason
