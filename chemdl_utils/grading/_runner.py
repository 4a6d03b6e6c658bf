"""Child process that executes one notebook (started by ``execute.execute_submission``).

Usage: ``python -m chemdl_utils.grading._runner NOTEBOOK LIMITS_JSON`` with the working copy as
cwd. Prints ``RESULT_MARKER`` and then ``{"notebook": ..., "cell_status": [...], "restarts": n}``
on stdout; everything else (logs) goes to stderr. The kernel's own stdout/stderr go to a log file
in the working copy, so nothing the student's code prints can reach the result stream.
"""

from __future__ import annotations

import copy
import json
import resource
import sys
from pathlib import Path
from typing import Any

# jsonschema (imported by nbformat) imports rfc3987_syntax when installed, which builds a parser
# grammar at import time: seconds per process, once per graded notebook. Its IRI format checks
# are never used for notebooks, so the import is skipped here (jsonschema tolerates its absence).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__all__ = ["apply_limits", "run_notebook", "main"]

TIMEOUT_ENAME = "CellTimeoutError"
CRASH_ENAME = "DeadKernelError"
NOT_RUN_ENAME = "CellNotRun"


def apply_limits(limits: Any) -> None:
    """Set memory (RLIMIT_AS), file-size and core-dump limits on this process; children inherit them."""
    mem = int(limits.memory_mb) << 20
    fsize = int(limits.max_file_mb) << 20
    pairs = ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0))
    for which, value in pairs:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard if hard != resource.RLIM_INFINITY else value))


def _error_output(ename: str, evalue: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _make_client(nb: Any, workdir: Path, limits: Any) -> Any:
    from nbclient import NotebookClient
    from traitlets.config import Config

    class LimitedClient(NotebookClient):
        """nbclient with a per-cell output budget (huge outputs are dropped as they arrive)."""

        def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
            content = msg.get("content", {})
            budget = self.__dict__.setdefault("_chemdl_budget", {})
            used = budget.get(cell_index, 0)
            limit = int(limits.max_output_chars)
            if used >= limit:
                return None
            if msg.get("msg_type") == "stream":
                size = len(content.get("text", ""))
                if used + size > limit:
                    content["text"] = content.get("text", "")[: max(0, limit - used)]
            else:
                size = len(json.dumps(content.get("data", {})))
            budget[cell_index] = used + size
            if used + size <= limit:
                return super().output(outs, msg, display_id, cell_index)
            if msg.get("msg_type") == "stream":
                super().output(outs, msg, display_id, cell_index)
            from nbformat.v4 import new_output

            note = new_output(
                "stream", name="stdout",
                text=f"\n... output truncated by the grader after {limit} characters ...\n",
            )
            outs.append(note)
            return note

    kwargs = dict(
        timeout=limits.cell_timeout,
        interrupt_on_timeout=False,  # we restart the kernel instead, see run_notebook
        allow_errors=True,
        startup_timeout=int(limits.startup_timeout),
        record_timing=False,
        iopub_timeout=4,
        raise_on_iopub_timeout=False,
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        resources={"metadata": {"path": str(workdir)}},
        # Unix sockets relative to the working copy (runner and kernel share it as cwd): works in a
        # sandbox without network, and keeps the socket paths short
        config=Config({"KernelManager": {"transport": "ipc", "ip": ".kernel"}}),
    )
    if limits.kernel_name:
        kwargs["kernel_name"] = limits.kernel_name
    return LimitedClient(nb, **kwargs)


def run_notebook(nb: Any, workdir: Path, limits: Any) -> tuple[Any, list[str], int]:
    """Execute the code cells of ``nb`` in order; returns ``(nb, cell_status, restarts)``.

    A cell that times out or kills the kernel gets an error output (so a test cell scores zero),
    the kernel is restarted, the cells that had run cleanly are re-run silently to restore the
    state, and execution continues with the next cell. After ``max_restarts`` restarts the
    remaining cells get a "not run" error output.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    status = ["" if c.cell_type != "code" else "pending" for c in nb.cells]
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code:
        nb.cells[i].outputs = []
        nb.cells[i].execution_count = None
    replay: list[int] = []
    pos, restarts = 0, 0
    log = open(workdir / ".kernel.log", "ab")
    try:
        while pos < len(code):
            client = _make_client(nb, workdir, limits)
            current, replaying = -1, False
            try:
                with client.setup_kernel(stdout=log, stderr=log):
                    replaying = True
                    for current in list(replay):
                        client.execute_cell(copy.deepcopy(nb.cells[current]), current)
                    replaying = False
                    while pos < len(code):
                        current = code[pos]
                        cell = nb.cells[current]
                        client.execute_cell(cell, current)
                        failed = any(o.get("output_type") == "error" for o in cell.outputs)
                        status[current] = "error" if failed else "ok"
                        replay.append(current)
                        pos += 1
            except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:
                restarts += 1
                if current < 0:
                    pass  # the kernel did not start; try again until max_restarts
                elif replaying:
                    # a replayed cell misbehaved this time: stop replaying it
                    if current in replay:
                        replay.remove(current)
                else:
                    timeout = isinstance(exc, CellTimeoutError)
                    status[current] = "timeout" if timeout else "crashed"
                    cell = nb.cells[current]
                    if timeout:
                        msg = (f"cell exceeded the grader's time limit of {limits.cell_timeout:g} s "
                               "and was stopped")
                        cell.outputs.append(_error_output(TIMEOUT_ENAME, msg))
                    else:
                        msg = f"the kernel died while running this cell ({type(exc).__name__}: {exc})"
                        cell.outputs.append(_error_output(CRASH_ENAME, msg))
                    pos += 1
                if restarts > limits.max_restarts:
                    break
    finally:
        log.close()
    for i in code[pos:]:
        if status[i] == "pending":
            status[i] = "not-run"
            nb.cells[i].outputs = [
                _error_output(NOT_RUN_ENAME,
                              f"not run: the kernel was restarted more than {limits.max_restarts} times")
            ]
    return nb, status, restarts


def main(argv: list[str] | None = None) -> int:
    """Entry point: read the notebook, apply limits, execute, print the result."""
    import nbformat

    from .execute import RESULT_MARKER, Limits

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m chemdl_utils.grading._runner NOTEBOOK LIMITS_JSON", file=sys.stderr)
        return 2
    path, limits = Path(args[0]), Limits.from_json(args[1])
    apply_limits(limits)
    nb = nbformat.read(path, as_version=4)
    nb, status, restarts = run_notebook(nb, Path.cwd(), limits)
    payload = json.dumps({"notebook": nb, "cell_status": status, "restarts": restarts})
    sys.stdout.write("\n" + RESULT_MARKER + "\n" + payload)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
