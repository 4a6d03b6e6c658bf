"""Fixtures for the grading tests: the released fixture course, one full autograde run of every
bad-input case (shared, it is the slow part), and a real PostgreSQL server for ``--db``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))

import fixture_course  # noqa: E402

#: short limits: the infinite loop costs CELL_TIMEOUT seconds
CELL_TIMEOUT = 5.0
NOTEBOOK_TIMEOUT = 120.0


@pytest.fixture(scope="session")
def limits():
    from chemdl_utils.grading.limits import Limits

    return Limits(cell_timeout=CELL_TIMEOUT, notebook_timeout=NOTEBOOK_TIMEOUT, memory_mb=2048)


@pytest.fixture(scope="session")
def released_template(tmp_path_factory) -> Path:
    """A fixture course with both assignments released (SQLite gradebook); copy it, never edit it."""
    from chemdl_utils.grading.release import release_assignment

    folder = tmp_path_factory.mktemp("template") / "course"
    course = fixture_course.make_course(folder)
    for name in ("toy", "other"):
        release_assignment(course, name)
    return folder


def copy_course(template: Path, dest: Path, db_url: str | None = None):
    """A private copy of the released course (its own gradebook)."""
    from chemdl_utils.grading.course import Course

    shutil.copytree(template, dest)
    return Course.from_root(dest, workspace=dest / "instructor", db_url=db_url)


@pytest.fixture
def course(released_template, tmp_path):
    """A fresh copy of the released fixture course for one test."""
    return copy_course(released_template, tmp_path / "course")


@pytest.fixture(scope="session")
def graded_all(released_template, tmp_path_factory, limits):
    """Every bad-input case submitted and autograded once, with 2 workers: ``(course, summary)``."""
    from chemdl_utils.grading.autograde import autograde_assignment

    course = copy_course(released_template, tmp_path_factory.mktemp("graded") / "course")
    fixture_course.write_submissions(course, sorted(fixture_course.EXPECTED))
    summary = autograde_assignment(course, "toy", workers=2, limits=limits)
    return course, summary


# ------------------------------------------------------------------------------ PostgreSQL


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _install_postgres() -> str | None:
    """Why PostgreSQL is unavailable (it is installed by `make sysdeps` before the tests)."""
    return "PostgreSQL is not installed: run `make sysdeps` as root (apt-get install -y postgresql)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for this test session: initdb in a temporary folder as the
    ``postgres`` OS user, started on a free localhost port; stopped and removed at the end."""
    bindir = _pg_bindir()
    if bindir is None:
        why = _install_postgres()
        bindir = _pg_bindir()
        if bindir is None:
            pytest.skip(f"UNAVAILABLE: PostgreSQL tests not run: {why or 'pg_ctl not found after install'} !!!")
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("UNAVAILABLE: PostgreSQL tests not run: root without runuser (initdb refuses root) !!!")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = Path(tempfile.mkdtemp(prefix="chemdl-pg-"))
    if as_postgres:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    def run(*argv):
        return subprocess.run([*as_postgres, *map(str, argv)], capture_output=True, text=True)

    proc = run(bindir / "initdb", "-D", data / "db", "-U", "postgres", "-A", "trust", "--no-sync")
    if proc.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"initdb failed: {proc.stderr[-500:]}")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    proc = run(bindir / "pg_ctl", "-D", data / "db", "-o", opts, "-l", data / "log", "-w", "-t", "60",
               "start")
    if proc.returncode != 0:
        log = (data / "log").read_text() if (data / "log").exists() else ""
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {proc.stderr[-300:]} {log[-500:]}")
    try:
        proc = run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "chemdl_test")
        assert proc.returncode == 0, proc.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/chemdl_test"
    finally:
        run(bindir / "pg_ctl", "-D", data / "db", "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)
