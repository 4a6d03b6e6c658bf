"""Operating-system isolation for the processes that run student code.

``detect_isolation()`` names the strongest confinement this machine offers, best first:

``"bwrap"``
    bubblewrap: new mount, PID, IPC, UTS, network and user namespaces. The sandbox's file system
    holds only read-only system directories (``/usr``, ``/etc``, ...), the Python installation and
    virtual environment, the ``chemdl_utils`` package, a private ``/tmp`` and the submission's own
    working directory (the only writable place). As root the process first drops to a fresh
    unprivileged uid (one per run, so process limits are per submission).
``"unshare"``
    util-linux ``unshare`` (root only): the same file-system view built by hand in a private mount
    namespace (tmpfs root, read-only bind mounts, ``chroot``), new PID/IPC/UTS/network namespaces,
    then the same uid drop. Used where bubblewrap is missing.
``"user"``
    root without namespaces: a fresh unprivileged uid and file permissions. Instructor
    directories must not be world-readable (``protect_paths``); the network stays reachable.
``"rlimits"``
    resource limits and a scrubbed environment only. Student code can read whatever the grading
    user can read: use only for trusted notebooks (the instructor's own solutions).

Every level applies the same resource limits (address space, processes, file size, core dumps,
open files) and the same environment allow-list. ``CHEMDL_ISOLATION`` forces a level (it is
refused if it does not work here); ``CHEMDL_ISOLATION_MIN`` makes grading fail rather than run
below a level.

``isolated_command(argv, workdir, limits)`` returns the wrapped command and the environment to
start it with; ``release_sandbox(workdir)`` kills what is left of the run and hands the working
directory back to the grading user. A sandboxed kernel has no network, not even loopback: its
client talks to it over Unix sockets in a directory both can reach (``transport="ipc"``).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "LEVELS",
    "IsolationError",
    "detect_isolation",
    "available_levels",
    "isolated_command",
    "release_sandbox",
    "protect_paths",
    "scrubbed_env",
]

from .limits import LEVELS, Limits, coerce_limits

# uids handed to sandboxed runs: far above any real account (Debian allocates users from 1000)
_UID_BASE = 200_000
_UID_SPAN = 100_000


class IsolationError(RuntimeError):
    """The requested isolation cannot be provided on this machine."""


# --------------------------------------------------------------------------- what the sandbox sees


def _python_roots() -> list[str]:
    """Directories the kernel's interpreter needs: the venv, the base installation, the package."""
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    here = Path(__file__).resolve().parents[1]  # chemdl_utils/
    roots.add(str(here))
    # interpreter symlink targets (a venv's python points into the base installation)
    exe = Path(sys.prefix) / "bin" / "python"
    if exe.exists():
        roots.add(str(exe.resolve().parent.parent))
    # skip roots that hold others
    out: list[str] = []
    for r in sorted({os.path.realpath(r) for r in roots} | roots, key=len):
        if r in ("/", "") or not os.path.exists(r):
            continue
        if not any(r == o or r.startswith(o.rstrip("/") + "/") for o in out):
            out.append(r)
    return out


#: where the sandbox sees the course package when it is an editable install (its source folder
#: would otherwise appear under the instructor's own path)
SANDBOX_PACKAGE_ROOT = "/opt/chemdl-course"


def _package_dir() -> str:
    return str(Path(__file__).resolve().parents[1])  # chemdl_utils/


@functools.lru_cache(maxsize=1)
def _editable_install() -> tuple[str | None, tuple[str, ...]]:
    """``(source folder, files of the install that name it)`` when ``chemdl_utils`` is an editable
    install outside the environment, else ``(None, [])``. The sandbox binds the folder at
    :data:`SANDBOX_PACKAGE_ROOT` and hides the files (the finder, its ``.pth``, ``direct_url.json``)."""
    pkg = _package_dir()
    if any(pkg.startswith(os.path.realpath(r).rstrip("/") + "/") for r in (sys.prefix, sys.base_prefix)):
        return None, ()
    files = []
    for site in {p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)}:
        for name in os.listdir(site):
            path = os.path.join(site, name)
            if name.startswith("__editable__") and "chemdl_utils" in name:
                files.append(path)
            elif name.startswith("chemdl_utils-") and name.endswith(".dist-info"):
                files += [os.path.join(path, f) for f in ("direct_url.json", "RECORD") if
                          os.path.isfile(os.path.join(path, f))]
    return pkg, tuple(sorted(files))


_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def _readonly_paths(limits: Limits) -> list[str]:
    paths = [p for p in _SYSTEM_DIRS if os.path.lexists(p)]
    paths += _python_roots()
    paths += [str(Path(p).resolve()) for p in limits.readonly_paths if os.path.exists(p)]
    seen: list[str] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    return seen


def scrubbed_env(workdir: str | os.PathLike[str], limits: Any = None,
                 tmpdir: str | None = None) -> dict[str, str]:
    """The kernel's whole environment: an allow-list, never the grader's own variables."""
    lim = coerce_limits(limits)
    wd = str(workdir)
    venv_bin = os.path.join(sys.prefix, "bin")
    env = {
        "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": wd,
        "TMPDIR": tmpdir or "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(wd, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(wd, ".ipython"),
        "JUPYTER_CONFIG_DIR": os.path.join(wd, ".jupyter"),
        "JUPYTER_DATA_DIR": os.path.join(wd, ".local", "share", "jupyter"),
        "JUPYTER_RUNTIME_DIR": os.path.join(wd, ".local", "share", "jupyter", "runtime"),
        "XDG_CACHE_HOME": os.path.join(wd, ".cache"),
        "CHEMDL_CACHE_DIR": os.path.join(wd, ".cache", "chemdl"),
        "CHEMDL_PROGRESS": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "CHEMDL_SANDBOX": "1",
    }
    if _editable_install()[0] is not None:
        # the bwrap sandbox mounts the package here and hides the editable finder; at the other
        # levels the finder still works and this missing folder is ignored by Python
        env["PYTHONPATH"] = SANDBOX_PACKAGE_ROOT
    for key in lim.env_passthrough:
        if key in os.environ and key not in ("PATH", "HOME", "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH"):
            env[key] = os.environ[key]
    return env


# --------------------------------------------------------------------------------- detection


def _run_quiet(argv: Sequence[str], timeout: float = 20.0, **kw: Any) -> bool:
    try:
        proc = subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _probe(level: str) -> bool:
    """Does ``level`` really confine a process here? Runs a tiny sandboxed check: the process must
    be able to run the interpreter and write its workdir, and must not see a file planted outside."""
    parent = tempfile.mkdtemp(prefix="chemdl-probe-")
    try:
        wd = os.path.join(parent, "work")
        os.makedirs(wd)
        secret = os.path.join(parent, "outside.txt")
        with open(secret, "w") as fh:
            fh.write("x")
        if level == "user":
            os.chmod(parent, 0o711)
            os.chmod(secret, 0o600)
        code = ("import os,sys,json,decimal,ipykernel\n"
                "open('ok','w').write('1')\n"
                f"sys.exit(3 if os.path.exists({secret!r}) and os.access({secret!r}, os.R_OK) else 0)\n")
        argv, env = _wrap([sys.executable, "-c", code], wd, Limits(), level)
        ok = _run_quiet(argv, env=env, cwd=wd)
        ok = ok and os.path.exists(os.path.join(wd, "ok"))
        if level == "rlimits":
            return _run_quiet([sys.executable, "-c", "pass"])  # always available where Python runs
        return ok
    except Exception:  # noqa: BLE001 - any failure to set up or run the probe means: this level does not work here
        return False
    finally:
        _release(wd, quiet=True)
        shutil.rmtree(parent, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def _level_works(level: str) -> bool:
    if level == "bwrap" and shutil.which("bwrap") is None:
        return False
    if level in ("unshare", "user") and os.geteuid() != 0:
        return False
    if level == "unshare" and (shutil.which("unshare") is None or shutil.which("chroot") is None):
        return False
    if level in ("bwrap", "unshare", "user") and os.geteuid() == 0 and shutil.which("setpriv") is None:
        return False
    return _probe(level)


def available_levels() -> list[str]:
    """Every level that works on this machine, strongest first."""
    return [lvl for lvl in LEVELS if _level_works(lvl)]


def detect_isolation(limits: Any = None) -> str:
    """The isolation level grading will use: ``limits.level``, else ``CHEMDL_ISOLATION``, else the
    strongest level that works here. Raises ``IsolationError`` if a forced level does not work, or
    if the level found is weaker than ``CHEMDL_ISOLATION_MIN``."""
    lim = coerce_limits(limits)
    forced = lim.level or os.environ.get("CHEMDL_ISOLATION") or None
    if forced:
        if forced not in LEVELS:
            raise IsolationError(f"CHEMDL_ISOLATION={forced!r} is not one of {', '.join(LEVELS)}")
        if not _level_works(forced):
            raise IsolationError(
                f"isolation level {forced!r} does not work on this machine "
                f"(available: {', '.join(available_levels())}); install bubblewrap "
                "(apt-get install bubblewrap) or unset CHEMDL_ISOLATION")
        level = forced
    else:
        level = next(lvl for lvl in LEVELS if _level_works(lvl))
    minimum = os.environ.get("CHEMDL_ISOLATION_MIN")
    if minimum:
        if minimum not in LEVELS:
            raise IsolationError(f"CHEMDL_ISOLATION_MIN={minimum!r} is not one of {', '.join(LEVELS)}")
        if LEVELS.index(level) > LEVELS.index(minimum):
            raise IsolationError(f"isolation level {level!r} is weaker than CHEMDL_ISOLATION_MIN={minimum!r}; "
                                 "install bubblewrap (apt-get install bubblewrap) or run the grader as root")
    return level


# --------------------------------------------------------------------------------- uids


_uid_lock = threading.Lock()
_uid_counter = 0
_sandboxes: dict[str, dict[str, Any]] = {}
_issued: set[int] = set()


def issued_uids() -> set[int]:
    """Every sandbox uid this process handed out (to check that none still runs anything)."""
    return set(_issued)


def running_sandbox_pids() -> list[int]:
    """Processes (not zombies) still running under a uid this process handed out."""
    return [pid for uid in issued_uids() for pid in _pids_of_uid(uid)]


def _fresh_uid() -> int:
    """A uid no other concurrent run uses: derived from the pid and a per-process counter, checked
    against running processes."""
    global _uid_counter
    with _uid_lock:
        for _ in range(1000):
            _uid_counter += 1
            uid = _UID_BASE + (os.getpid() * 97 + _uid_counter * 7919) % _UID_SPAN
            if not _uid_busy(uid):
                _issued.add(uid)
                return uid
    raise IsolationError("no free sandbox uid")


def _uid_busy(uid: int) -> bool:
    return bool(_pids_of_uid(uid))


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}")
        except OSError:
            continue
        if st.st_uid == uid and not _zombie(entry):
            pids.append(int(entry))
    return pids


def _zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _chown_tree(path: str, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                os.lchown(os.path.join(root, name), uid, gid)
            except OSError:
                pass


# --------------------------------------------------------------------------------- wrapping


def _prlimit_prefix(lim: Limits) -> list[str]:
    prl = shutil.which("prlimit")
    if prl is None:
        return []
    return [prl, f"--as={int(lim.memory_bytes)}", f"--nproc={int(lim.max_processes)}",
            f"--fsize={int(lim.max_file_bytes)}", "--core=0", f"--nofile={int(lim.max_open_files)}", "--"]


def _preexec_rlimits(lim: Limits):  # used when prlimit(1) is missing
    import resource

    def apply() -> None:
        for res, value in ((resource.RLIMIT_AS, lim.memory_bytes), (resource.RLIMIT_NPROC, lim.max_processes),
                           (resource.RLIMIT_FSIZE, lim.max_file_bytes), (resource.RLIMIT_CORE, 0),
                           (resource.RLIMIT_NOFILE, lim.max_open_files)):
            resource.setrlimit(res, (int(value), int(value)))
    return apply


def _setpriv(uid: int) -> list[str]:
    return [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _others_can_reach(path: str) -> bool:
    """Can a uid with no relation to the file owners open ``path`` (search every parent)?"""
    p = Path(path)
    for part in p.parents:
        try:
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o004) and (not p.is_dir() or bool(mode & 0o001))


@functools.lru_cache(maxsize=None)
def _bwrap_has(option: str) -> bool:
    """Does the installed bwrap know ``option`` (``--disable-userns`` and ``--args`` are newer)?"""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return f"{option} " in out.stdout + out.stderr


def kill_sandbox_processes(workdir: str | os.PathLike[str]) -> int:
    """SIGKILL every process of the sandbox uid running in ``workdir`` (the sandbox stays
    registered; ``release_sandbox`` still cleans up). Returns how many were signalled; 0 where the
    run has no uid of its own."""
    uid = sandbox_uid(workdir)
    if uid is None:
        return 0
    pids = _pids_of_uid(uid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return len(pids)


def _bwrap_argv(argv: Sequence[str], wd: str, lim: Limits, uid: int | None,
                staging: str | None = None, writable: Sequence[str] = ()) -> list[str]:
    """bwrap command line. With ``staging`` (root only), paths the sandbox uid cannot reach (a
    Python under /root) are first bind-mounted by root into ``staging`` inside a private mount
    namespace, and bwrap binds them from there."""
    staged: list[tuple[str, str]] = []
    bwrap = shutil.which("bwrap") or "bwrap"
    cmd = [bwrap, "--die-with-parent", "--new-session",
           "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "sandbox",
           # no nested user namespaces inside the sandbox (bwrap >= 0.8)
           *(["--disable-userns"] if _bwrap_has("--disable-userns") else []),
           # the private /tmp first: the venv or course may live under /tmp (a CI clone), and
           # the read-only binds below must land on top of it, not be hidden by it
           "--size", str(int(lim.tmp_bytes)), "--tmpfs", "/tmp"]
    package, install_files = _editable_install()
    for p in _readonly_paths(lim):
        if p == package:  # bound below at a neutral path
            continue
        if os.path.islink(p):
            cmd += ["--symlink", os.readlink(p), p]
        elif staging is not None and not _others_can_reach(p):
            src = os.path.join(staging, str(len(staged)))
            staged.append((p, src))
            cmd += ["--ro-bind", src, p]
        else:
            cmd += ["--ro-bind", p, p]
    wd_src = wd
    if staging is not None and not all(part.stat().st_mode & 0o001 for part in Path(wd).parents):
        wd_src = os.path.join(staging, str(len(staged)))
        staged.append((wd, wd_src))
    if package is not None:
        src = package
        if staging is not None and not _others_can_reach(package):
            src = os.path.join(staging, str(len(staged)))
            staged.append((package, src))
        cmd += ["--ro-bind", src, os.path.join(SANDBOX_PACKAGE_ROOT, "chemdl_utils")]
        for f in install_files:  # they name the instructor's checkout
            cmd += ["--ro-bind", "/dev/null", f]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--bind", wd_src, wd]
    for w in writable:
        w_src = w
        if staging is not None and not all(part.stat().st_mode & 0o001 for part in Path(w).parents):
            w_src = os.path.join(staging, str(len(staged)))
            staged.append((w, w_src))
        cmd += ["--bind", w_src, w]
    cmd += ["--chdir", wd]
    if uid is not None:
        cmd += ["--uid", str(uid), "--gid", str(uid)]
    args_file = None
    if _bwrap_has("--args"):
        # the options (host paths of every bind) go through a file descriptor, so that the
        # sandbox's pid 1, whose /proc/1/cmdline the student can read, shows only
        # "bwrap --args 3 -- <the kernel's own command>"
        fd, args_file = tempfile.mkstemp(prefix="chemdl-bwrap-args-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0".join(a.encode() for a in cmd[1:]) + b"\0")
        cmd = [bwrap, "--args", "3"]
    cmd += ["--", *argv]
    if uid is not None:
        cmd = _setpriv(uid) + cmd  # bwrap itself runs unprivileged, in a user namespace
    if staged:
        q = shlex.quote
        script = ["set -e"]
        for p, src in staged:
            if os.path.isdir(p):
                script.append(f"mkdir -p {q(src)}")
            else:
                script.append(f"touch {q(src)}")
            script.append(f"mount --bind {q(p)} {q(src)}")
        script.append('exec "$@"')
        cmd = [shutil.which("unshare") or "unshare", "--mount", "--propagation", "private", "--",
               "/bin/sh", "-c", "\n".join(script), "sh", *cmd]
    if args_file is not None:  # opened as fd 3 by the grading user, then deleted before bwrap starts
        cmd = ["/bin/sh", "-c", 'exec 3<"$0" && rm -f "$0" && exec "$@"', args_file, *cmd]
    return cmd


def _unshare_argv(argv: Sequence[str], wd: str, lim: Limits, uid: int, newroot: str,
                  writable: Sequence[str] = ()) -> list[str]:
    q = shlex.quote
    lines = ["set -e", f"R={q(newroot)}",
             f'mount -t tmpfs -o size={int(lim.tmp_bytes)},mode=755 chemdl-root "$R"',
             # the private /tmp before the read-only binds, which may lie under /tmp (a CI clone)
             'mkdir -p "$R/tmp"', f'mount -t tmpfs -o size={int(lim.tmp_bytes)},mode=1777 chemdl-tmp "$R/tmp"']
    for p in _readonly_paths(lim):
        if os.path.islink(p):
            lines.append(f'mkdir -p "$R"{q(os.path.dirname(p))}; ln -s {q(os.readlink(p))} "$R"{q(p)}')
        elif os.path.isdir(p):
            lines.append(f'mkdir -p "$R"{q(p)}; mount --bind {q(p)} "$R"{q(p)}; '
                         f'mount -o remount,bind,ro "$R"{q(p)}')
        else:
            lines.append(f'mkdir -p "$R"{q(os.path.dirname(p))}; touch "$R"{q(p)}; '
                         f'mount --bind {q(p)} "$R"{q(p)}; mount -o remount,bind,ro "$R"{q(p)}')
    lines += ['mkdir -p "$R/proc" "$R/dev"', 'mount -t proc proc "$R/proc"']
    for dev in ("null", "zero", "full", "random", "urandom", "tty"):
        lines.append(f'if [ -e /dev/{dev} ]; then touch "$R/dev/{dev}"; mount --bind /dev/{dev} "$R/dev/{dev}"; fi')
    for w in writable:
        lines.append(f'mkdir -p "$R"{q(w)}; mount --bind {q(w)} "$R"{q(w)}')
    lines += ['ln -s /proc/self/fd "$R/dev/fd"', f'mkdir -p "$R"{q(wd)}', f'mount --bind {q(wd)} "$R"{q(wd)}',
              'mount -o remount,ro,bind "$R"',
              f'exec {q(shutil.which("chroot") or "/usr/sbin/chroot")} "$R" {" ".join(q(a) for a in _setpriv(uid))} /bin/sh -c \'cd "$0" && exec "$@"\' '
              f'{q(wd)} "$@"']
    script = "\n".join(lines)
    return [shutil.which("unshare") or "unshare", "--mount", "--pid", "--fork", "--kill-child",
            "--net", "--ipc", "--uts", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", *argv]


def _wrap(argv: Sequence[str], workdir: str | os.PathLike[str], lim: Limits, level: str,
          writable: Sequence[str | os.PathLike[str]] = ()) -> tuple[list[str], dict[str, str]]:
    wd = str(Path(workdir).resolve())
    extra = [str(Path(w).resolve()) for w in writable]
    if not os.path.isdir(wd):
        raise FileNotFoundError(f"workdir {wd} does not exist; create the submission's working copy first")
    argv = [str(a) for a in argv]
    root = os.geteuid() == 0
    uid: int | None = None
    if level in ("bwrap", "unshare", "user") and root:
        uid = _fresh_uid()
        for w in [wd, *extra]:
            _chown_tree(w, uid, uid)
            os.chmod(w, 0o700)
    state: dict[str, Any] = {"level": level, "uid": uid, "newroot": None, "extra": extra}
    if level == "bwrap":
        staging = None
        if root:
            staging = tempfile.mkdtemp(prefix="chemdl-stage-")
            os.chmod(staging, 0o755)
            state["newroot"] = staging
        cmd = _bwrap_argv(argv, wd, lim, uid, staging, extra)
        env = scrubbed_env(wd, lim, "/tmp")
    elif level == "unshare":
        if not root:
            raise IsolationError("the 'unshare' isolation level needs root")
        newroot = tempfile.mkdtemp(prefix="chemdl-root-")
        state["newroot"] = newroot
        cmd = _unshare_argv(argv, wd, lim, uid, newroot, extra)  # type: ignore[arg-type]
        env = scrubbed_env(wd, lim, "/tmp")
    elif level == "user":
        if not root:
            raise IsolationError("the 'user' isolation level needs root (to switch to a sandbox uid)")
        bad = [p for p in lim.protected_paths if os.path.exists(p) and _world_readable(p)]
        if bad:
            raise IsolationError(f"protected paths are readable by other users: {', '.join(bad)}; "
                                 "call protect_paths() on them (chmod o-rwx) or install bubblewrap")
        tmp = os.path.join(wd, ".tmp")
        os.makedirs(tmp, exist_ok=True)
        os.chown(tmp, uid, uid)  # type: ignore[arg-type]
        cmd = _setpriv(uid) + argv  # type: ignore[arg-type]
        env = scrubbed_env(wd, lim, tmp)
    elif level == "rlimits":
        tmp = os.path.join(wd, ".tmp")
        os.makedirs(tmp, exist_ok=True)
        cmd = list(argv)
        env = scrubbed_env(wd, lim, tmp)
    else:
        raise IsolationError(f"unknown isolation level {level!r}; expected one of {', '.join(LEVELS)}")
    prefix = _prlimit_prefix(lim)
    if not prefix:
        state["preexec"] = _preexec_rlimits(lim)
    _sandboxes[wd] = state
    return prefix + cmd, env


def isolated_command(argv: Sequence[str], workdir: str | os.PathLike[str], limits: Any = None,
                     writable: Sequence[str | os.PathLike[str]] = (),
                     level: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Wrap ``argv`` so that it runs confined to ``workdir`` under ``limits``.

    Returns ``(argv, env)``: start the process with exactly this environment (``env=env``, not
    merged with ``os.environ``) and ``cwd=workdir``. As root, ``workdir`` is handed to a fresh
    sandbox uid; call ``release_sandbox(workdir)`` after the run to kill leftovers and take it back.
    """
    lim = coerce_limits(limits)
    return _wrap(argv, workdir, lim, level or detect_isolation(lim), writable)


def sandbox_preexec(workdir: str | os.PathLike[str]):
    """``preexec_fn`` to pass to Popen when ``prlimit`` is missing (None otherwise)."""
    return _sandboxes.get(str(Path(workdir).resolve()), {}).get("preexec")


def sandbox_uid(workdir: str | os.PathLike[str]) -> int | None:
    """The uid the run in ``workdir`` uses (None where it runs as the grading user)."""
    return _sandboxes.get(str(Path(workdir).resolve()), {}).get("uid")


def _release(workdir: str | os.PathLike[str], quiet: bool = False) -> None:
    wd = str(Path(workdir).resolve())
    state = _sandboxes.pop(wd, None)
    if not state:
        return
    uid = state.get("uid")
    if uid is not None:
        for _ in range(20):  # kill whatever the sandbox uid still runs (forked children, ...)
            pids = _pids_of_uid(uid)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        for path in [wd, *state.get("extra", [])]:
            if os.path.isdir(path):
                _chown_tree(path, os.geteuid(), os.getegid())
    newroot = state.get("newroot")
    if newroot:
        _remove_mountpoints(newroot)


def _remove_mountpoints(path: str) -> None:
    """Remove a staging/new-root directory that only ever held mount points of a namespace that is
    gone. Never recursive deletion: should a mount still be there, its files stay untouched."""
    try:
        for name in os.listdir(path):
            child = os.path.join(path, name)
            try:
                if os.path.isdir(child) and not os.path.islink(child):
                    os.rmdir(child)  # fails (harmlessly) unless empty
                elif os.path.getsize(child) == 0:
                    os.unlink(child)
            except OSError:
                pass
        os.rmdir(path)
    except OSError:
        pass


def release_sandbox(workdir: str | os.PathLike[str]) -> None:
    """After a run: kill every process left under the run's sandbox uid and give ``workdir`` back
    to the grading user (files written by the kernel become the grader's, mode unchanged)."""
    _release(workdir)


def _world_readable(path: str) -> bool:
    p = Path(path).resolve()
    for part in [p, *p.parents]:
        if part == Path("/"):
            break
        mode = part.stat().st_mode
        if not mode & 0o001:  # a directory that others cannot traverse hides everything below it
            return False
    return bool(p.stat().st_mode & 0o004)


def protect_paths(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """``chmod o-rwx`` each existing path (not recursive: a directory others cannot enter hides its
    content). Needed for the "user" level only; returns the paths changed."""
    changed = []
    for p in paths:
        p = str(p)
        if os.path.exists(p):
            mode = os.stat(p).st_mode
            if mode & 0o007:
                os.chmod(p, mode & ~0o007)
                changed.append(p)
    return changed
