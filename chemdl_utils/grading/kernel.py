"""The student's kernel in its sandbox: started, fed cells, bounded, stopped.

* :func:`sandboxed_kernel_manager`: a Jupyter kernel manager whose kernel starts under
  :mod:`~chemdl_utils.grading.isolation` (command wrapped, environment allow-listed), talking over
  Unix sockets in a fresh folder; a single oversized message drops the connection instead of
  growing the grader's memory;
* :func:`limited_client`: nbclient's ``NotebookClient`` with an output budget per cell and per
  notebook (:class:`OutputBudget`);
* :class:`DiskWatch`: the working copy's disk quota (past it the sandbox's processes are killed
  and the files they added deleted);
* :func:`shutdown`: stop the kernel and free its sockets, whatever state a student left it in.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from nbformat import NotebookNode

from . import isolation
from .limits import Limits
from .restore import COURSE_KERNEL

__all__ = ["COURSE_KERNEL", "DiskWatch", "OutputBudget", "sandboxed_kernel_manager", "limited_client", "shutdown", "best_effort"]

_log = logging.getLogger(__name__)


class DiskWatch:
    """Bounds what a kernel writes to its working copy: every ``interval`` seconds the files added
    (or grown) since the start are summed; past ``quota`` bytes (or ``max_files`` new files) the
    sandbox's processes are killed and the added files deleted, so the host disk never holds more
    than about the quota plus one file (each file is also capped by RLIMIT_FSIZE)."""

    def __init__(self, workdir: Path, quota: int, max_files: int = 20_000, interval: float = 0.2) -> None:
        self.workdir, self.quota, self.max_files, self.interval = workdir, int(quota), max_files, interval
        self.baseline = dict(self._sizes())
        self.tripped = 0  #: how many times the quota was exceeded (the loop reads and resets it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chemdl-disk-watch", daemon=True)

    def _sizes(self) -> Iterable[tuple[str, int]]:
        stack = [str(self.workdir)]
        while stack:
            try:
                with os.scandir(stack.pop()) as entries:
                    for entry in entries:
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(entry.path)
                            elif entry.is_file(follow_symlinks=False):
                                yield entry.path, entry.stat(follow_symlinks=False).st_size
                        except OSError:  # vanished while we looked: nothing to count
                            continue
            except OSError:
                continue

    def over(self) -> bool:
        added, new_files = 0, 0
        for path, size in self._sizes():
            before = self.baseline.get(path)
            if before is None:
                new_files += 1
            added += max(0, size - (before or 0))
            if added > self.quota or new_files > self.max_files:
                return True
        return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.over():
                self.tripped += 1
                isolation.kill_sandbox_processes(self.workdir)
                for path, _ in list(self._sizes()):
                    if path not in self.baseline:
                        try:
                            os.unlink(path)
                        except OSError:  # gone already: nothing to free
                            pass

    def __enter__(self) -> "DiskWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def sandboxed_kernel_manager(workdir: Path, limits: Limits, level: str) -> tuple[Any, str]:
    """A kernel manager whose kernel starts sandboxed; its connection file and Unix sockets live in
    a fresh root-created directory (never one the student could have planted symlinks in)."""
    import tempfile

    import zmq
    import zmq.asyncio
    from jupyter_client.manager import AsyncKernelManager

    ctl = tempfile.mkdtemp(prefix="chemdl-k-")

    class SandboxedKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw: Any):  # type: ignore[override]
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            cmd, env = isolation.isolated_command(cmd, workdir, limits, writable=[ctl], level=level)
            preexec = isolation.sandbox_preexec(workdir)  # rlimits where prlimit(1) is missing
            if preexec is not None:
                kw["preexec_fn"] = preexec
            kw["env"] = env
            kw["cwd"] = str(workdir)
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
            return cmd, kw

        def client(self, **kw: Any):  # type: ignore[override]
            kw.setdefault("context", self.limited_context)
            return super().client(**kw)

    km = SandboxedKernelManager(kernel_name=COURSE_KERNEL, transport="ipc", ip=os.path.join(ctl, "s"))
    km.connection_file = os.path.join(ctl, "connection.json")
    # a single message from the kernel larger than this drops the connection (the cell then times
    # out) instead of growing this process's memory without bound
    km.limited_context = zmq.asyncio.Context()
    km.limited_context.setsockopt(zmq.MAXMSGSIZE, int(limits.max_message_bytes))
    # a flood of output messages queues at most this many per socket in this process (the rest
    # is dropped, as the output budget would drop it anyway)
    km.limited_context.setsockopt(zmq.RCVHWM, 64)
    return km, ctl


class OutputBudget:
    def __init__(self, lim: Limits) -> None:
        self.per_cell = int(lim.max_output_bytes)
        self.total = int(lim.max_total_output_bytes)
        self.used: dict[int, int] = {}
        self.noted: set[int] = set()

    def spent(self) -> int:
        return sum(self.used.values())


def limited_client(nb: NotebookNode, km: Any, lim: Limits, budget: OutputBudget) -> Any:
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class LimitedClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def, override]
            content = msg.get("content", {})
            try:
                size = len(json.dumps(content.get("data", content.get("text", content.get("traceback", "")))))
            except (TypeError, ValueError):
                size = budget.per_cell
            used = budget.used.get(cell_index, 0)
            if used + size > budget.per_cell or budget.spent() + size > budget.total:
                budget.used[cell_index] = used + size
                if cell_index not in budget.noted:
                    budget.noted.add(cell_index)
                    note = new_output("stream", name="stderr",
                                      text=f"\n[grader] output truncated: more than {budget.per_cell} bytes in this "
                                      f"cell (or {budget.total} in the notebook) were dropped\n")
                    outs.append(note)
                    return note
                return None
            budget.used[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)

    return LimitedClient(nb, km=km, timeout=int(lim.cell_timeout), interrupt_on_timeout=False, allow_errors=True,
                         startup_timeout=int(lim.startup_timeout), record_timing=False, iopub_timeout=2, raise_on_iopub_timeout=False,
                         kernel_name=COURSE_KERNEL, shutdown_kernel="immediate",
                         extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.parent_handle=0"],
                         resources={"metadata": {"path": str(nb.metadata.get("path", ""))}})


def best_effort(what: str, step: Callable[[], object]) -> bool:
    """Run one clean-up ``step`` of a kernel that may already be gone (crashed, killed for a
    limit). A failure is logged at debug level and reported as ``False``, never raised: the
    sandbox's processes are killed by ``isolation.release_sandbox`` afterwards in every case, so
    a failed clean-up leaks nothing and is not an error of the submission."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - any failure of a clean-up step has the same remedy (see above)
        _log.debug("%s failed: %s: %s", what, type(exc).__name__, exc)
        return False
    return True


def shutdown(client: Any, km: Any) -> None:
    """Stop the kernel and free its sockets, whatever state a student left it in (each step
    :func:`best_effort`)."""
    from jupyter_core.utils import run_sync

    if getattr(client, "kc", None) is not None:
        best_effort("stopping the client's channels", client.kc.stop_channels)
    if km.has_kernel and not best_effort("asking the kernel to shut down", lambda: run_sync(km.shutdown_kernel)(now=True)):
        best_effort("killing the kernel", run_sync(km.kill_kernel))
    best_effort("removing the connection file and sockets", run_sync(km.cleanup_resources))
    best_effort("closing the ZeroMQ context", lambda: km.limited_context.destroy(linger=0))
