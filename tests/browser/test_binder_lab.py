"""The Binder configuration (``binder/``): what can be checked without Binder itself.

* ``requirements.txt`` pins the same torch as the Makefile, from PyTorch's CPU index;
* ``postBuild`` passes shellcheck;
* with ``overrides.json`` installed where ``postBuild`` puts it, JupyterLab opens a book page (a
  MyST Markdown file, what the Binder launch button links to) as a notebook with runnable cells,
  not as Markdown text: checked in Chromium against a JupyterLab started from this environment.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
PAGE = "book/neurons/neuron.md"


def test_binder_installs_the_makefiles_torch_from_the_cpu_index():
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    options = [line for line in lines if line.startswith("--")]
    requirements = [Requirement(line) for line in lines if line and not line.startswith(("#", "--"))]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    make_spec = re.search(r"^TORCH_SPEC \?= (\S+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    assert [str(r) for r in requirements] == [make_spec]
    assert (BINDER / "runtime.txt").read_text().strip() == "python-%d.%d" % sys.version_info[:2]


def test_postbuild_passes_shellcheck():
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    done = subprocess.run([shellcheck, "--severity=style", str(BINDER / "postBuild")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.access(BINDER / "postBuild", os.X_OK)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
@pytest.mark.xdist_group("book")  # the shared Playwright browser lives on the book's worker
def test_a_book_page_opens_as_a_notebook_in_jupyterlab(browser, tmp_path: Path):
    settings = tmp_path / "app-settings"
    settings.mkdir()
    shutil.copy(BINDER / "overrides.json", settings / "overrides.json")  # where postBuild puts it
    port, token = _free_port(), "binder-test"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "run"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--LabApp.app_settings_dir={settings}",
           f"--ServerApp.root_dir={REPO}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        page = browser.new_page()
        try:
            page.goto(f"{base}/lab/tree/{PAGE}?token={token}")  # the path a Binder button opens
            page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=60_000)
            # JupyterLab draws the cells one after another (and only those scrolled into view)
            page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length >= 3"
                                   " && document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell').length >= 3",
                                   timeout=60_000)
            shown = page.evaluate("""() => ({
                code: document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length,
                markdown: document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell').length,
                editors: document.querySelectorAll('.jp-FileEditor').length,
                tabs: [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab')].map((t) => t.textContent.trim()),
            })""")
        finally:
            page.close()
    finally:
        server.terminate()  # the server shuts down the kernel the notebook started
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert Path(PAGE).name in shown["tabs"] and shown["editors"] == 0, shown
    assert shown["code"] >= 3 and shown["markdown"] >= 3, shown
