"""`chemdl grade ...`: help for every step, one-line errors, and a short run through the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fixture_course import write_submissions

from chemdl_utils.cli import main

STEPS = ["release", "collect", "autograde", "feedback", "export", "report"]


@pytest.mark.parametrize("step", STEPS)
def test_help_of_every_step(step, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["grade", step, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"chemdl grade {step}" in out and "--db URL" in out


def test_grade_lists_steps(capsys):
    assert main(["grade"]) == 2
    out = capsys.readouterr().out
    assert all(step in out for step in STEPS)


def test_errors_are_one_line(course, capsys):
    args = ["--course", str(course.root), "--workspace", str(course.workspace)]
    assert main(["grade", "autograde", "nope", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chemdl: error: no assignment 'nope'") and "\n" not in err
    assert main(["grade", "collect", "toy", str(course.root / "missing.zip"), *args]) == 1
    assert "do not exist" in capsys.readouterr().err
    assert main(["grade", "export", "--db", "nonsense", *args]) == 1
    assert "is not a database URL" in capsys.readouterr().err
    assert main(["grade", "report", "toy", *args]) == 1
    assert "no graded submissions of 'toy'" in capsys.readouterr().err


def test_cli_round_trip(course, tmp_path, capsys):
    write_submissions(course, ["s_wrong"])
    args = ["--course", str(course.root), "--workspace", str(course.workspace)]
    limits = ["--cell-timeout", "5", "--timeout", "120"]
    assert main(["grade", "autograde", "toy", "--workers", "1", *limits, *args]) == 0
    out = capsys.readouterr().out
    assert "s_wrong" in out and "graded  5/9" in out and "1 graded, 0 failed" in out
    assert main(["grade", "export", "-o", str(tmp_path / "g.csv"), *args]) == 0
    assert "s_wrong,toy,yes,2026-11-20 12:00:00,5.0,9.0" in (tmp_path / "g.csv").read_text()
    assert main(["grade", "report", "toy", "-o", str(tmp_path / "rep"), *args]) == 0
    assert (tmp_path / "rep" / "toy-questions.png").is_file()
    assert "Hardest: q2_hidden" in capsys.readouterr().out


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "chemdl_utils", "grade", "export", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--by-question" in proc.stdout
