"""Smoke test of ``python -m benchmarks``: the quickest mode on tiny inputs prints every row.

It checks the command and its rows, not the figures (speed targets live in docs/benchmarks.md,
measured on a quiet machine). About 15 s CPU (most of it the one-submission autograde run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_benchmarks_command_prints_every_row_in_tiny_mode():
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.__main__ import EXPECTED_ROWS, NAMES
    finally:
        sys.path.remove(str(REPO))
    env = {**os.environ, "CHEMDL_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--tiny"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert out.startswith("machine: ") and "== summary: ratio (anchor) ==" in out
    summary = out.split("== summary: ratio (anchor) ==", 1)[1].splitlines()
    for name in NAMES:
        for row in EXPECTED_ROWS[name]:
            hits = [line for line in summary if line.startswith(f"[{name}] {row}")]
            assert hits, f"row {row!r} of benchmark {name!r} missing from the summary:\n" + "\n".join(summary)
            assert all("FAILED" not in line for line in hits), hits
    # the ratios come with their anchors, and the CUDA rows say why they are empty on a CPU machine
    assert "(anchor: torch_geometric.utils.from_smiles" in out and "(anchor: MolFromSmiles" in out
    assert ("not measured (no CUDA device)" in out) or ("CUDA resident vs CPU plain" in out)
    assert "nbgrader" in out


def test_benchmarks_skip_prints_the_skipped_rows():
    env = {**os.environ, "CHEMDL_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--tiny", "--only", "book"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "[featurize] featurization vs PyG: skipped" in done.stdout
    assert "[train] train MLP" in done.stdout and "[book] book build" in done.stdout
