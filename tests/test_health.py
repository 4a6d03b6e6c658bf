"""``chemdl info``'s machine checks: each says what works, and the exact fix when it does not."""

from __future__ import annotations

import builtins

from chemdl_utils import health
from chemdl_utils.cli import main


def test_info_prints_every_machine_check(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "this machine:" in out
    for name in ("rdkit drawing:", "browser:", "grading sandbox:"):
        assert name in out


def test_drawing_without_the_x_libraries_names_the_packages(monkeypatch):
    real_import = builtins.__import__

    def no_xrender(name, *args, **kwargs):
        if name.startswith("rdkit.Chem.Draw"):
            raise ImportError("libXrender.so.1: cannot open shared object file: No such file or directory")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xrender)
    check = health.check_drawing()
    assert not check.ok and "libXrender" in check.detail
    assert "libxrender1 libxext6 libx11-6" in check.line()


def test_missing_browser_and_weak_sandbox_say_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(health, "CHROMIUM", tmp_path / "no-chromium")
    browser = health.check_browser()
    assert not browser.ok and "apt-get install -y chromium" in browser.line()

    from chemdl_utils.grading import isolation

    monkeypatch.setattr(isolation, "available_levels", lambda: ["rlimits"])
    monkeypatch.setattr(health.shutil, "which", lambda name: None)
    sandbox = health.check_sandbox()
    assert not sandbox.ok and "rlimits" in sandbox.detail and "bubblewrap" in sandbox.fix


def test_a_working_machine_reports_ok():
    check = health.check_drawing()
    assert check.ok, check.line()  # make sysdeps installs the X libraries the drawing module needs
