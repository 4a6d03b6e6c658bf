"""Grades an instructor can defend: attacks on the autograder, and the isolation under it.

Three layers are tested:

* the OS sandbox (``chemdl_utils.grading.isolation``) directly, at every level that works on
  this machine (``bwrap``, ``unshare``, ``user``, ``rlimits``): what a sandboxed process can read,
  write, see in its environment and reach on the network, and its process/memory limits;
* the trusted grader (``grader.grade_notebook``) against the attack notebooks in
  ``attacks/`` (see ``attacks/make_attacks.py``), run two at a time next to an honest student,
  whose scores must be exactly those it gets alone;
* sanitizing (nothing of the instructor's leaks into what the student gets back).

bubblewrap is installed by `make sysdeps` before the tests start; where it is missing the
bwrap-specific tests skip as UNAVAILABLE (a failure under CI=true) and the fallbacks still run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent
ATTACKS = HERE / "attacks"
sys.path.insert(0, str(ATTACKS))
from make_attacks import HIDDEN_MARKER, SOLUTION_MARKER  # noqa: E402

SECRET_NAME = "CHEMDL_TEST_INSTRUCTOR_API_TOKEN"
SECRET_VALUE = "tok-9d1e6c0b5a-secret"
MAX = {"test_add": 2.0, "test_scale": 2.0, "test_value": 1.0}


def _ensure_bwrap() -> str | None:
    """Why bubblewrap is unavailable, or None (it is installed by `make sysdeps` before the tests)."""
    if shutil.which("bwrap"):
        return None
    return "bubblewrap (bwrap) is not installed: run `make sysdeps` as root (apt-get install -y bubblewrap)"


_BWRAP_MISSING = _ensure_bwrap()
if _BWRAP_MISSING:
    warnings.warn(f"SECURITY TESTS DEGRADED: {_BWRAP_MISSING}; bwrap-specific tests are skipped", stacklevel=1)

from chemdl_utils.grading import grader, isolation, redact  # noqa: E402
from chemdl_utils.grading.limits import LEVELS as ALL_LEVELS, Limits, coerce_limits  # noqa: E402
from chemdl_utils.grading.codec import CodecError, dumps, loads  # noqa: E402

LEVELS = isolation.available_levels()


def _level_param(level: str):
    marks = []
    if level == "bwrap" and _BWRAP_MISSING:
        marks.append(pytest.mark.skip(reason=f"UNAVAILABLE: {_BWRAP_MISSING}"))
    elif level not in LEVELS:
        marks.append(pytest.mark.skip(reason=f"isolation level {level!r} does not work on this machine "
                                             f"(available: {LEVELS})"))
    return pytest.param(level, marks=marks, id=level)


CONFINING = [_level_param(lvl) for lvl in ("bwrap", "unshare", "user")]
NAMESPACED = [_level_param(lvl) for lvl in ("bwrap", "unshare")]


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base() -> Path:
    """A scratch folder every sandbox uid can traverse (like the pipeline's scratch dir)."""
    path = Path(tempfile.mkdtemp(prefix="chemdl-sec-"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def course(base: Path) -> dict[str, Path]:
    """An instructor's files: solutions with hidden tests, another student's submission, a gradebook."""
    root = base / "course"
    (root / "solutions" / "tiny").mkdir(parents=True)
    (root / "instructor" / "submitted" / "bob" / "tiny").mkdir(parents=True)
    for name in ("source.ipynb", "source_torch.ipynb"):
        shutil.copy(ATTACKS / name, root / "solutions" / "tiny" / name)
    other = root / "instructor" / "submitted" / "bob" / "tiny" / "tiny.ipynb"
    shutil.copy(ATTACKS / "good.ipynb", other)
    gradebook = root / "instructor" / "gradebook.db"
    con = sqlite3.connect(gradebook)
    con.execute("CREATE TABLE grade (id TEXT, auto_score REAL)")
    con.execute("INSERT INTO grade VALUES ('bob-test_add', 2.0)")
    con.commit()
    con.close()
    # what an unprotected course looks like: world-readable (the 'user' level must refuse it)
    for p in (root, root / "solutions", root / "instructor"):
        os.chmod(p, 0o755)
    return {"root": root, "source": root / "solutions" / "tiny" / "source.ipynb",
            "source_torch": root / "solutions" / "tiny" / "source_torch.ipynb",
            "other": other, "gradebook": gradebook, "solutions": root / "solutions"}


@pytest.fixture(scope="module")
def secret_env():
    old = os.environ.get(SECRET_NAME)
    os.environ[SECRET_NAME] = SECRET_VALUE
    yield SECRET_VALUE
    if old is None:
        os.environ.pop(SECRET_NAME, None)
    else:
        os.environ[SECRET_NAME] = old


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


LIMITS = Limits(cell_timeout=5, notebook_timeout=120, memory_bytes=3 * 2**30, max_processes=48,
                                 max_output_bytes=64 * 1024, max_total_output_bytes=512 * 1024,
                                 max_message_bytes=2 * 2**20)


def _workdir(base: Path, name: str, course: dict[str, Path]) -> Path:
    wd = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    targets = {
        "solutions_notebook": str(course["source"]), "solutions_dir": str(course["solutions"]),
        "other_notebook": str(course["other"]), "other_dir": str(course["other"].parent),
        "gradebook": str(course["gradebook"]), "course_root": str(course["root"]),
    }
    (wd / "targets.json").write_text(json.dumps(targets))
    (wd / "data.csv").write_text("smiles,y\nCCO,1.0\n")  # released data travels with the notebook
    return wd


def _grade(base: Path, course: dict[str, Path], name: str, limits=LIMITS, torch: bool = False):
    wd = _workdir(base, name, course)
    source = course["source_torch"] if torch else course["source"]
    result = grader.grade_notebook(source, ATTACKS / f"{name}.ipynb", wd, limits,
                                          redact=[str(course["root"])])
    return result, wd


def _scores(result) -> dict[str, float]:
    return {s.grade_id: s.points for s in result.scores}


def _text(nb) -> str:
    return json.dumps(nb)


BATCH = ["eq_cheat", "monkeypatch", "snoop", "write", "memory_bomb", "fork_bomb", "huge_output", "crash",
         "system_exit", "bad_kernel", "infinite_loop", "slow_in_test", "released"]


GOOD_RUNS = 4


@pytest.fixture(scope="module")
def graded(base, course, secret_env):
    """Every attack notebook graded, two at a time, with copies of the honest student in between."""
    # a leftover from an earlier run at a weaker level (where /tmp is shared) must not decide the test
    Path("/tmp/chemdl-attack-outside").unlink(missing_ok=True)
    hashes = {"other": _digest(course["other"]), "gradebook": _digest(course["gradebook"]),
              "source": _digest(course["source"])}
    alone, _ = _grade(base, course, "good")
    order = list(BATCH)
    for i in range(GOOD_RUNS):  # honest students interleaved with the attacks
        order.insert(i * (len(BATCH) // GOOD_RUNS) + i, "good")
    results, good_runs = {}, []
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {pool.submit(_grade, base, course, name): name for name in order}
        for fut in cf.as_completed(futures):
            name = futures[fut]
            if name == "good":
                good_runs.append(fut.result()[0])
            else:
                results[name] = fut.result()
    return {"alone": alone, "good_runs": good_runs, "results": results, "hashes_before": hashes}


# ----------------------------------------------------------------------------------- isolation primitives


def _run(level: str, wd: Path, argv: list[str], limits=None, **kw) -> subprocess.CompletedProcess:
    lim = limits or Limits(level=level, protected_paths=kw.pop("protected", ()))
    cmd, env = isolation._wrap(argv, wd, coerce_limits(lim), level)
    try:
        return subprocess.run(cmd, env=env, cwd=wd, capture_output=True, text=True, timeout=60, **kw)
    finally:
        isolation.release_sandbox(wd)


def test_detect_isolation_picks_the_strongest_level_and_reports_it():
    level = isolation.detect_isolation()
    assert level in ALL_LEVELS
    assert level == LEVELS[0], (level, LEVELS)
    if not _BWRAP_MISSING:
        assert level == "bwrap", f"bubblewrap is installed but the grader would use {level!r}"
    print(f"isolation level used here: {level} (available: {LEVELS})")


def test_forcing_an_unavailable_level_is_refused(monkeypatch):
    monkeypatch.setenv("CHEMDL_ISOLATION", "no-such-level")
    with pytest.raises(isolation.IsolationError, match="not one of"):
        isolation.detect_isolation()
    monkeypatch.setenv("CHEMDL_ISOLATION", "rlimits")
    monkeypatch.setenv("CHEMDL_ISOLATION_MIN", "bwrap")
    with pytest.raises(isolation.IsolationError, match="weaker"):
        isolation.detect_isolation()


@pytest.mark.parametrize("level", CONFINING)
def test_sandbox_cannot_read_or_write_outside_its_workdir(level, base, course):
    protected = ()
    if level == "user":  # file permissions are the only barrier: the instructor dirs must be closed
        isolation.protect_paths([course["root"]])
        protected = (str(course["root"]),)
    try:
        wd = _workdir(base, f"prim-{level}", course)
        other_wd = Path(tempfile.mkdtemp(prefix="other-", dir=base))
        (other_wd / "answers.ipynb").write_text("other student's work")
        before = {p: _digest(Path(p)) for p in (course["source"], course["gradebook"], course["other"])}
        script = f"""
            cat {course['source']} && echo READ-SOLUTIONS
            cat {course['gradebook']} >/dev/null && echo READ-GRADEBOOK
            ls {course['other'].parent} && echo LISTED-OTHER
            cat {other_wd}/answers.ipynb && echo READ-OTHER-WORKDIR
            echo x >> {course['other']} && echo WROTE-OTHER
            echo x >> {course['gradebook']} && echo WROTE-GRADEBOOK
            echo x >> {other_wd}/answers.ipynb && echo WROTE-OTHER-WORKDIR
            echo x > {base}/planted && echo WROTE-BASE
            echo mine > mine.txt && echo WROTE-OWN
            cat data.csv >/dev/null && echo READ-OWN
            id -u
        """
        proc = _run(level, wd, ["/bin/sh", "-c", script], protected=protected)
        out = proc.stdout
        for flag in ("READ-SOLUTIONS", "READ-GRADEBOOK", "LISTED-OTHER", "READ-OTHER-WORKDIR", "WROTE-OTHER",
                     "WROTE-GRADEBOOK", "WROTE-OTHER-WORKDIR"):
            assert flag not in out, f"{level}: sandbox could do {flag}:\n{out}\n{proc.stderr}"
        assert "WROTE-OWN" in out and "READ-OWN" in out, (out, proc.stderr)
        assert HIDDEN_MARKER not in out
        assert out.strip().splitlines()[-1] != "0", "the sandboxed process runs as root"
        assert (wd / "mine.txt").read_text() == "mine\n"
        assert not (base / "planted").exists()  # (under bwrap/unshare it went to a private tmpfs)
        assert (other_wd / "answers.ipynb").read_text() == "other student's work"
        assert before == {p: _digest(Path(p)) for p in before}
        # the grader owns the working copy again afterwards
        assert (wd / "mine.txt").stat().st_uid == os.geteuid()
    finally:
        os.chmod(course["root"], 0o755)


@pytest.mark.parametrize("level", NAMESPACED)
def test_sandbox_private_tmp_and_minimal_filesystem(level, base, course):
    wd = _workdir(base, f"fs-{level}", course)
    marker = Path(tempfile.gettempdir()) / f"chemdl-outside-{level}-{os.getpid()}"
    proc = _run(level, wd, ["/bin/sh", "-c", f"echo x > {marker}; ls /; ls /work /root /home 2>&1; "
                                             f"ls {course['root']} 2>&1 || echo NO-COURSE"])
    assert not marker.exists(), "the sandbox wrote into the host's /tmp"
    assert "NO-COURSE" in proc.stdout, proc.stdout


@pytest.mark.parametrize("level", [_level_param(lvl) for lvl in ("bwrap", "unshare", "user", "rlimits")])
def test_sandbox_sees_no_secret_environment(level, base, course, secret_env):
    wd = _workdir(base, f"env-{level}", course)
    proc = _run(level, wd, ["/usr/bin/env"])
    assert proc.returncode == 0, proc.stderr
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert SECRET_NAME not in env and SECRET_VALUE not in proc.stdout
    assert env["HOME"] == str(wd.resolve())
    assert set(env) <= set(isolation.scrubbed_env(wd)) | {"JPY_PARENT_PID", "PWD", "OLDPWD", "SHLVL", "_"}


@pytest.mark.parametrize("level", NAMESPACED)
def test_sandbox_has_no_network(level, base, course):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    wd = _workdir(base, f"net-{level}", course)
    code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=3)\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('refused', e)\n" % port)
    proc = _run(level, wd, [sys.executable, "-c", code])
    try:
        conn, _ = server.accept()
        conn.close()
        accepted = True
    except OSError:
        accepted = False
    server.close()
    assert "CONNECTED" not in proc.stdout and not accepted, (proc.stdout, proc.stderr)
    assert "refused" in proc.stdout, (proc.stdout, proc.stderr)


@pytest.mark.parametrize("level", [_level_param(lvl) for lvl in ("bwrap", "unshare")])
def test_process_and_memory_limits_stop_bombs_and_leave_nothing_behind(level, base, course):
    wd = _workdir(base, f"bomb-{level}", course)
    lim = Limits(level=level, max_processes=24, memory_bytes=512 * 2**20)
    code = ("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(300)\n"
            "            os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('forks stopped at', n)\n"
            "try:\n    b = bytearray(2 * 2**30)\n    print('ALLOCATED')\nexcept MemoryError:\n    print('memory limited')\n")
    cmd, env = isolation._wrap([sys.executable, "-c", code], wd, lim, level)
    uid = isolation.sandbox_uid(wd)
    proc = subprocess.run(cmd, env=env, cwd=wd, capture_output=True, text=True, timeout=60)
    isolation.release_sandbox(wd)
    assert "forks stopped at" in proc.stdout and "memory limited" in proc.stdout, (proc.stdout, proc.stderr)
    assert int(proc.stdout.split("forks stopped at")[1].split()[0]) < 24
    if uid is not None:
        time.sleep(0.2)
        assert isolation._pids_of_uid(uid) == [], "processes of the sandbox survived its release"


def test_user_level_refuses_world_readable_instructor_files(base, course):
    if os.geteuid() != 0:
        pytest.skip("the 'user' level needs root")
    wd = _workdir(base, "userlevel", course)
    lim = Limits(protected_paths=(str(course["root"]),))
    with pytest.raises(isolation.IsolationError, match="readable by other users"):
        isolation._wrap(["/bin/true"], wd, lim, "user")


def test_rlimits_level_still_limits_memory_and_scrubs_env(base, course, secret_env):
    wd = _workdir(base, "rlim", course)
    lim = Limits(level="rlimits", memory_bytes=512 * 2**20)
    code = ("import os\ntry:\n    bytearray(2 * 2**30)\nexcept MemoryError:\n    print('memory limited')\n"
            f"print({SECRET_NAME!r} in os.environ)\n")
    proc = _run("rlimits", wd, [sys.executable, "-c", code], limits=lim)
    assert "memory limited" in proc.stdout and "False" in proc.stdout, (proc.stdout, proc.stderr)


# ----------------------------------------------------------------------------------- safe codec


def test_codec_rebuilds_only_plain_data():
    import numpy as np
    import torch

    value = {"a": [1, 2.5, float("nan"), "s", None, True, (1, 2)], "arr": np.arange(3.0), "t": torch.ones(2),
             "i": 2**80, "c": 1 + 2j, "s": {1, 2}}
    back = loads(dumps(value))
    assert back["a"][:2] == [1, 2.5] and back["a"][3:] == ["s", None, True, (1, 2)]
    assert type(back["arr"]) is np.ndarray and np.array_equal(back["arr"], value["arr"])
    assert type(back["t"]) is torch.Tensor and torch.equal(back["t"], value["t"])
    assert back["i"] == 2**80 and back["c"] == 1 + 2j and back["s"] == {1, 2}
    with pytest.raises(CodecError):  # object arrays would need pickle
        dumps(np.array([object()], dtype=object))
    for bad in ('{"t": "pickle", "v": "x"}', '{"t": "nd", "v": "AAAA"}', '[1]', '{"t": "i", "v": 5}',
                '{"t": "ref", "id": 1}'):
        with pytest.raises(CodecError):
            loads(bad)


# ----------------------------------------------------------------------------------- attacks


def test_honest_student_gets_full_marks(graded):
    alone = graded["alone"]
    assert alone.status == "ok", alone.reason
    assert _scores(alone) == MAX, [(s.grade_id, s.message) for s in alone.scores]
    assert alone.isolation == LEVELS[0]


def test_every_other_student_is_graded_exactly_as_alone(graded):
    alone = _scores(graded["alone"])
    assert len(graded["good_runs"]) == GOOD_RUNS
    for run in graded["good_runs"]:
        assert run.status == "ok", run.reason
        assert _scores(run) == alone, [(s.grade_id, s.message) for s in run.scores]


def _result(graded, name):
    result, wd = graded["results"][name]
    assert result.status == "ok", f"{name}: {result.reason}"
    for s in result.scores:
        assert 0 <= s.points <= s.max_points == MAX[s.grade_id]
    assert set(_scores(result)) == set(MAX)
    return result, wd


def test_released_notebook_scores_zero(graded):
    result, _ = _result(graded, "released")
    assert result.total == 0


def test_always_true_eq_earns_nothing(graded):
    result, _ = _result(graded, "eq_cheat")
    assert result.total == 0, [(s.grade_id, s.message) for s in result.scores]
    add = next(s for s in result.scores if s.grade_id == "test_add")
    assert "compared" in add.message and "==" in add.message


def test_monkeypatched_numpy_and_check_helpers_do_not_help(graded):
    result, _ = _result(graded, "monkeypatch")
    assert result.total == 0, [(s.grade_id, s.message) for s in result.scores]
    value = next(s for s in result.scores if s.grade_id == "test_value")
    assert "expected 0.5" in value.message  # the pristine checks.check_float explained what was wrong


def test_monkeypatched_torch_allclose_does_not_help(base, course):
    lim = Limits(**{**LIMITS.__dict__, "cell_timeout": 60})  # importing torch takes a while
    good, _ = _grade(base, course, "torch_good", limits=lim, torch=True)
    assert good.status == "ok" and good.total == 5, [(s.grade_id, s.message) for s in good.scores]
    bad, _ = _grade(base, course, "torch_patch", limits=lim, torch=True)
    assert bad.status == "ok" and bad.total == 0, [(s.grade_id, s.message) for s in bad.scores]


def _needs_namespaces() -> None:
    if LEVELS[0] not in ("bwrap", "unshare"):
        pytest.skip(f"UNAVAILABLE: best isolation here is {LEVELS[0]!r}; file-system confinement needs bwrap or root")


def test_snooping_finds_nothing_and_nothing_leaks_back(graded, secret_env):
    _needs_namespaces()
    result, wd = _result(graded, "snoop")
    assert result.total == sum(MAX.values())
    text = _text(result.notebook)
    loot_out = [o for c in result.notebook.cells for o in c.get("outputs", []) if "loot" in c.source or
                "targets" in c.source]
    stream = "".join(o.get("text", "") for o in loot_out if o.get("output_type") == "stream")
    loot = json.loads(stream.strip().splitlines()[-1])  # the last line; the hook printed the cell before it
    for key in ("solutions_notebook", "solutions_dir", "other_notebook", "other_dir", "gradebook", "course_root"):
        assert loot[key].startswith("denied"), (key, loot[key][:200])
    assert SECRET_NAME not in loot["env"]
    for needle in (HIDDEN_MARKER, SOLUTION_MARKER, SECRET_VALUE, "BEGIN HIDDEN TESTS", "add(20, 22)"):
        assert needle not in text, needle
    assert "CELL>" in text  # the hook ran, and saw only released code


def test_writes_to_other_submissions_and_gradebook_fail(graded, course):
    _needs_namespaces()
    result, wd = _result(graded, "write")
    assert result.total == sum(MAX.values())
    out = next(o["text"] for c in result.notebook.cells for o in c.get("outputs", [])
               if "targets" in c.source and o.get("output_type") == "stream")
    attempts = json.loads(out.strip().splitlines()[-1])
    # under bwrap/unshare a "successful" write lands in the sandbox's private tmpfs: only the host counts
    after = {"other": _digest(course["other"]), "gradebook": _digest(course["gradebook"]),
             "source": _digest(course["source"])}
    assert after == graded["hashes_before"]
    assert not Path("/tmp/chemdl-attack-outside").exists()
    assert not (wd.parent / "attack-sibling").exists()


def test_memory_bomb_fails_only_its_question(graded):
    result, _ = _result(graded, "memory_bomb")
    assert _scores(result) == {**MAX, "test_scale": 0.0}


def test_fork_bomb_fails_only_its_question_and_is_cleaned_up(graded):
    result, _ = _result(graded, "fork_bomb")
    assert _scores(result) == {**MAX, "test_scale": 0.0}
    assert result.cell_status.count("error") >= 1  # the bomb's cell; its children are gone (see below)


def test_huge_output_is_truncated_with_a_note(graded):
    result, _ = _result(graded, "huge_output")
    assert result.total == sum(MAX.values())
    assert len(_text(result.notebook)) < 600_000  # 300 kB of prints + one 3 MB message were produced
    assert "output truncated" in _text(result.notebook)
    assert "yyyyyyyy" not in _text(result.notebook)  # the single oversized message never arrived


def test_kernel_crash_is_survived(graded):
    result, _ = _result(graded, "crash")
    assert result.total == sum(MAX.values()), [(s.grade_id, s.message) for s in result.scores]
    assert "crashed" in result.cell_status
    assert any("kernel died" in n for n in result.notes)


def test_system_exit_is_just_an_error(graded):
    result, _ = _result(graded, "system_exit")
    assert result.total == sum(MAX.values()), [(s.grade_id, s.message) for s in result.scores]


def test_unknown_kernel_runs_with_the_course_kernel(graded):
    result, _ = _result(graded, "bad_kernel")
    assert result.total == sum(MAX.values())
    assert any("no-such-kernel-xyz" in n for n in result.notes)
    assert result.notebook.metadata["kernelspec"]["name"] == "python3"


def test_infinite_loop_times_out_that_cell_only(graded):
    result, _ = _result(graded, "infinite_loop")
    assert _scores(result) == {**MAX, "test_value": 0.0}
    assert "timeout" in result.cell_status


def test_notebook_time_limit_leaves_no_partial_grade(base, course):
    lim = Limits(**{**LIMITS.__dict__, "cell_timeout": 60, "notebook_timeout": 8})
    result, _ = _grade(base, course, "infinite_loop", limits=lim)
    assert result.status == "timeout" and result.scores == [] and result.notebook is None
    assert "time limit" in result.reason
    assert grader.secure_execute(ATTACKS / "infinite_loop.ipynb", _workdir(base, "nt", course), lim,
                                        course["source"]).status == "timeout"


def test_student_function_that_hangs_inside_a_hidden_test(graded):
    result, _ = _result(graded, "slow_in_test")
    assert _scores(result) == {**MAX, "test_add": 0.0}
    add = next(s for s in result.scores if s.grade_id == "test_add")
    assert "did not finish" in add.message


def test_no_sandbox_processes_survive(graded):
    time.sleep(0.5)
    assert isolation.issued_uids() or os.geteuid() != 0, "no sandbox uid was used"
    assert isolation.running_sandbox_pids() == []


@pytest.mark.parametrize("level", [_level_param("unshare")])
def test_fallback_level_grades_and_confines(level, base, course, secret_env):
    lim = Limits(**{**LIMITS.__dict__, "level": level})
    good, _ = _grade(base, course, "good", limits=lim)
    assert good.isolation == level and _scores(good) == MAX
    cheat, _ = _grade(base, course, "eq_cheat", limits=lim)
    assert cheat.total == 0
    snoop, _ = _grade(base, course, "snoop", limits=lim)
    text = _text(snoop.notebook)
    assert HIDDEN_MARKER not in text and SECRET_VALUE not in text and SOLUTION_MARKER not in text
    stream = "".join(o.get("text", "") for o in snoop.notebook.cells[-1].outputs if o.get("output_type") == "stream")
    loot = json.loads(stream.strip().splitlines()[-1])
    assert all(loot[k].startswith("denied") for k in ("solutions_notebook", "other_notebook", "gradebook")), loot


# ----------------------------------------------------------------------------------- sanitizing


def test_sanitize_removes_hidden_tests_paths_and_secrets(course, secret_env):
    source = nbformat.read(course["source"], as_version=4)
    nb = nbformat.read(ATTACKS / "good.ipynb", as_version=4)
    leaky = nbformat.v4.new_code_cell(
        source="### BEGIN HIDDEN TESTS\nassert add(20, 22) == 42\n### END HIDDEN TESTS\nprint(1)",
        outputs=[nbformat.v4.new_output("stream", name="stdout",
                                        text=f"{course['root']}/solutions {SECRET_VALUE} "
                                             "assert add(20, 22) == 42, 'add(20, 22) should be 42'")])
    nb.cells.append(leaky)
    clean = redact.sanitize_notebook(nb, source, redact=[str(course["root"])])
    text = _text(clean)
    for needle in (str(course["root"]), SECRET_VALUE, "BEGIN HIDDEN TESTS", "add(20, 22) should be 42"):
        assert needle not in text, needle
    assert "print(1)" in text
    html = f"<pre>{course['root']}/x &#x27;{SECRET_VALUE}&#x27; assert add(20, 22) == 42, &#x27;add(20, 22) should be 42&#x27;</pre>"
    out = redact.sanitize_html(html, source, redact=[str(course["root"])])
    assert str(course["root"]) not in out and SECRET_VALUE not in out and "should be 42" not in out


def test_failed_hidden_test_shows_its_message_not_its_code(base, course):
    result, _ = _grade(base, course, "monkeypatch")
    add = next(s for s in result.scores if s.grade_id == "test_add")
    assert add.message.startswith("AssertionError"), add.message
    text = _text(result.notebook)
    assert "add(1, 2) should be 3" in text  # the visible test's message
    assert HIDDEN_MARKER not in text and "add(-5, 5)" not in text


def test_scores_always_within_bounds():
    s = grader.TestVerdict("x", 99, 2, True, "passed")
    assert s.points == 2
    s = grader.TestVerdict("x", -3, 2, False, "no")
    assert s.points == 0


# ----------------------------------------------------------------------------------- the whole pipeline


_CHEAT_Q = {
    "q1_answer": "class Anything(float):\n    def __eq__(self, o): return True\n    def __sub__(self, o): return 0.0\n"
                 "    def __rsub__(self, o): return 0.0\n    def __abs__(self): return 0.0\n"
                 "import math\nmath.isclose = lambda *a, **k: True\n"
                 "def molar_mass_water():\n    return Anything(1.0)",
    "q2_answer": "class Anything:\n    def __eq__(self, o): return True\ndef count_carbons(formula):\n    return Anything()",
    "q3_answer": "class L(list):\n    def __eq__(self, o): return True\ndef scale(values, factor):\n    return L()",
}


def _toy_submission(release, answers: dict[str, str], extra: str | None = None):
    import copy

    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nb


def test_autograde_pipeline_end_to_end(tmp_path, monkeypatch, secret_env):
    """``autograde_assignment`` on the fixture course with an honest student, a cheater (rigged
    ``==``, patched ``math.isclose``), a snooper and a vandal: exact scores, nothing leaks, the
    gradebook and the other submissions are untouched by student code."""
    _needs_namespaces()
    sys.path.insert(0, str(HERE.parents[0] / "fixtures" / "grading"))
    try:
        from fixture_course import ASSIGNMENT, answered, make_course, released_notebook
    finally:
        sys.path.pop(0)
    from chemdl_utils.grading import autograde
    from chemdl_utils.grading.collect import write_timestamp
    from chemdl_utils.grading.gradebook import open_gradebook
    from chemdl_utils.grading.release import release_assignment

    root = tmp_path / "course"
    course = make_course(root)
    os.chmod(tmp_path, 0o755)
    release_assignment(course, ASSIGNMENT)
    release_assignment(course, "other")
    release = released_notebook(course)
    gradebook = Path(course.db_url.split("sqlite:///", 1)[1])
    source = course.source_dir / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    honest_file = course.submitted_dir / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    snoop = (f"import os\nfor p in [{str(source)!r}, {str(gradebook)!r}, {str(honest_file)!r}]:\n"
             "    try:\n        print('READ', open(p).read()[:300])\n    except OSError as e:\n"
             "        print('denied', type(e).__name__)\n"
             f"print('ENV', os.environ.get({SECRET_NAME!r}))\n"
             f"print('OWN-COPY-LEAK', 'Cl' + '2' in open({ASSIGNMENT + '.ipynb'!r}).read())\n"
             f"try:\n    open({str(gradebook)!r}, 'ab').write(b'x')\n    print('WROTE')\n"
             "except OSError as e:\n    print('denied write', type(e).__name__)\n"
             f"try:\n    open({str(honest_file)!r}, 'a').write('x')\n    print('WROTE')\n"
             "except OSError as e:\n    print('denied write', type(e).__name__)\n")
    subs = {
        "honest": _toy_submission(answered(release), {}),
        "cheater": _toy_submission(release, _CHEAT_Q),
        "snooper": _toy_submission(answered(release), {}, extra=snoop),
    }
    for student, nb in subs.items():
        folder = course.submitted_dir / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
        write_timestamp(folder, "2026-11-20 12:00:00.000000 UTC")
    honest_before = _digest(honest_file)
    limits = Limits(cell_timeout=30, notebook_timeout=120, memory_mb=2048)
    summary = autograde.autograde_assignment(course, ASSIGNMENT, workers=2, limits=limits, show_progress=False)
    got = {o.student: o for o in summary.outcomes}
    assert got["honest"].status == "graded" and got["honest"].score == 7.0, got["honest"].line()
    assert got["snooper"].status == "graded" and got["snooper"].score == 7.0, got["snooper"].line()
    assert got["cheater"].status == "graded" and got["cheater"].score == 0.0, got["cheater"].line()
    assert _digest(honest_file) == honest_before
    with open_gradebook(course) as gb:
        for student in subs:
            sub = gb.find_submission(ASSIGNMENT, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    assert grade.auto_score is None or 0 <= grade.auto_score <= grade.max_score
    graded = (course.autograded_dir / "snooper" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "READ" not in graded.replace("'READ'", "") and SECRET_VALUE not in graded
    assert "Cl2" not in graded and "HIDDEN TESTS" not in graded  # hidden tests
    assert "OWN-COPY-LEAK False" in graded
    cheater = (course.autograded_dir / "cheater" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "2 * 1.008 + 15.999" not in cheater and "(?![a-z])" not in cheater  # the solutions
    assert "Cl2" not in cheater and "HIDDEN TESTS" not in cheater
    from chemdl_utils.grading.feedback import generate_feedback

    src_nb = nbformat.read(source, as_version=4)
    for student, pages in generate_feedback(course, ASSIGNMENT, ["cheater", "snooper"]).items():
        for page in pages:
            raw = page.read_text()
            assert "Cl2" not in raw and "HIDDEN TESTS" not in raw, student  # the graded copy was clean already
            html = redact.sanitize_html(raw, src_nb, redact=[str(course.root)])
            assert str(course.root) not in html and SECRET_VALUE not in html, student
