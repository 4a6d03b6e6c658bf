"""The instructor's grading pipeline on nbgrader's Python API (``chemdl grade ...``).

One module per step, each usable alone:

================  ===================================================================
``course``        where the course's folders and gradebook are (:class:`Course`)
``release``       generate ``exercises/`` from ``solutions/``; check they are in sync
``collect``       LMS zip / folder of files -> ``submitted/<student>/<assignment>/``
``watch``         grade each new submission as it arrives (inbox folder, nbgrader exchange)
``limits``        the one :class:`Limits` of grading one notebook
``nbmeta``        nbgrader cell metadata, read defensively
``workspace``     a submission's working copy; read and match its notebooks
``restore``       the notebook to execute, rebuilt in memory from the release + the answers
``isolation``     the OS sandbox of the student's kernel (bwrap, unshare, uid, rlimits)
``kernel``        the sandboxed kernel: manager, output budget, disk quota, shutdown
``bridge``        requests to the kernel; student objects as proxies
``codec``         the pickle-free, size-checked value format between kernel and grader
``hidden``        the one (linear) parser of hidden-test markers
``hidden_tests``  the instructor's test cells evaluated in the trusted process: verdicts
``grader``        one notebook: restore -> sandboxed kernel -> verdicts -> redact
``redact``        hidden tests, paths and secrets removed from what students get back
``execute``       what a grading process sends back (:class:`ExecutionResult`)
``score``         scores from the verdicts and the gradebook's points
``gradebook``     nbgrader's database plus the autograde history; one transaction per submission
``autograde``     orchestration: one grading process per submission, the summary
``cluster``       the same on dask.distributed: LocalCluster, a scheduler, or Slurm
``safe_text``     control characters stripped from printed text, feedback HTML sanitized
``feedback``      HTML feedback per student
``export``        grades (and history) as CSV
``report``        per-question statistics, hardest questions, plot
``cli``           the ``chemdl grade`` subcommands
================  ===================================================================

Submodules are imported on first use, so ``import chemdl_utils.grading`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "course": ("Course",),
    "release": ("release_assignment", "check_release"),
    "collect": ("collect_submissions", "CollectReport"),
    "limits": ("Limits",),
    "execute": ("ExecutionResult",),
    "autograde": ("autograde_assignment", "AutogradeSummary", "Outcome"),
    "feedback": ("generate_feedback",),
    "export": ("export_grades", "export_history"),
    "report": ("question_table", "write_report"),
}
_NAME_TO_MODULE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_NAME_TO_MODULE)


def __getattr__(name: str) -> Any:
    module = _NAME_TO_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'chemdl_utils.grading' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
