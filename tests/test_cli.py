"""The ``chemdl`` command."""

from __future__ import annotations

import subprocess
import sys

import pytest

import chemdl_utils
from chemdl_utils.cli import build_parser, main


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"chemdl {chemdl_utils.__version__}"


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("info", "book"):
        assert command in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: chemdl" in capsys.readouterr().out


def test_info_reports_versions_and_device(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"chemdl_utils {chemdl_utils.__version__}" in out
    assert "torch" in out and "rdkit" in out and "device: cpu" in out


def test_book_build_outside_a_book_is_a_clear_error(tmp_path, capsys):
    assert main(["book", "build", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chemdl: error:") and "_config.yml" in err


def test_book_serve_without_build_is_a_clear_error(tmp_path, capsys):
    assert main(["book", "serve", "--html", str(tmp_path)]) == 1
    assert "build the book first" in capsys.readouterr().err


def test_book_without_action_shows_help(capsys):
    assert main(["book"]) == 2


def test_module_entry_point_and_console_script():
    out = subprocess.run([sys.executable, "-m", "chemdl_utils", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"chemdl {chemdl_utils.__version__}"
    parser = build_parser()
    assert parser.prog == "chemdl"
