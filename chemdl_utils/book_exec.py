"""Execute the book's notebook pages in parallel, into the execution cache MyST-NB reads.

MyST-NB (``execute_notebooks: cache``) executes stale notebooks one at a time, while Sphinx reads
the pages, so a cold build of the book uses one core. This module runs first: it reads every
page Sphinx is about to read exactly as MyST-NB will (MyST-NB's own reader, the same MyST
configuration, kernel aliases and per-notebook overrides), looks each one up in the
jupyter-cache, executes the ones that miss in a pool of worker processes, one kernel each, and
stores the executed notebooks in the cache the way MyST-NB does (same project record, same
hash, ``execution_seconds``). Sphinx then takes every page from the cache ("Using cached
notebook") and executes nothing.

It is a Sphinx extension (``chemdl_utils.book_exec`` in ``_config.yml`` under
``sphinx.extra_extensions``), so ``jupyter-book build .`` and ``chemdl book build`` both use
it; it acts on ``env-before-read-docs`` and prints a per-page table of execution times at the
end of the build (also written to ``<output>/_build/execution-times.json``). The number of
worker processes is ``chemdl_execution_jobs`` (Sphinx config), else ``$CHEMDL_BOOK_JOBS``
(``chemdl book build --jobs N`` sets it), else the number of CPUs; never more than the number
of stale pages. Each kernel gets ``OMP_NUM_THREADS = CPUs // jobs`` unless the environment
sets it already, so parallel kernels do not fight over the cores.

A cell error (``allow_errors: false``) or a cell timeout fails the build with the page, the cell
number and the line of the page where that cell starts; the other pages still finish and are
cached. The traceback is saved under ``_build/html/reports/<page>.err.log``.

:func:`execute_pages` is the same executor without Sphinx (MyST-NB's default MyST
configuration), for scripts and tests.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "JOBS_ENV",
    "PageJob",
    "PageResult",
    "NotebookExecutionFailed",
    "cpu_count",
    "resolve_jobs",
    "read_page",
    "execute_jobs",
    "execute_pages",
    "format_table",
    "setup",
]

#: environment variable with the number of parallel kernels (``chemdl book build --jobs``)
JOBS_ENV = "CHEMDL_BOOK_JOBS"
#: per-page timings of the last build, next to ``html/`` (``<output>/_build/``)
TIMES_FILE = "execution-times.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class PageJob:
    """One notebook page to look up in the cache (and execute when it misses)."""

    page: str  #: the page's name, e.g. ``book/graphs/gnn`` (Sphinx docname)
    path: Path  #: its source file
    notebook: Any  #: the notebook as MyST-NB reads it (``nbformat.NotebookNode``)
    read_fmt: dict | None = None  #: how jupyter-cache re-reads the source (MyST-NB's reader plugin)
    timeout: int | None = 600  #: seconds per cell (``execute.timeout``)
    allow_errors: bool = False  #: ``execute.allow_errors``
    in_temp: bool = False  #: run in a temporary folder instead of the page's folder

    def expected_seconds(self, history: dict[str, float]) -> float:
        """How long the last execution of this page took (the code size when it never ran)."""
        if str(self.path) in history:
            return history[str(self.path)]
        code = sum(len(c.source) for c in self.notebook.cells if c.cell_type == "code")
        return code / 1000.0


@dataclass
class PageResult:
    """What happened to one page: ``executed`` now, taken from the ``cached`` record, or ``failed``."""

    page: str
    seconds: float
    status: str
    error: str | None = None
    cell: int | None = None  #: 1-based number of the failing cell among all cells of the page
    line: int | None = None  #: 1-based line of the page source where the failing cell starts
    traceback: str | None = field(default=None, repr=False)
    source: str | None = None  #: the page's source file


class NotebookExecutionFailed(RuntimeError):
    """One or more pages failed to execute; ``failures`` lists them (page and cell named)."""

    def __init__(self, failures: Sequence[PageResult]):
        self.failures = list(failures)
        lines = [f"{len(self.failures)} page(s) failed to execute:"]
        for r in self.failures:
            where = f"cell {r.cell}" if r.cell else "a cell"
            if r.line:
                where += f" (line {r.line})"
            name = f"{r.page} ({r.source})" if r.source and not r.source.startswith(r.page) else r.page
            lines.append(f"  {name}: {where}: {r.error}")
            if r.traceback:
                tail = r.traceback.strip().splitlines()[-25:]
                lines += ["    " + t for t in tail]
        lines.append("Fix the cell (run the page in Jupyter to reproduce), then build again; pages that "
                     "succeeded are cached and will not run again.")
        super().__init__("\n".join(lines))


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | str | None, stale: int) -> int:
    """Worker processes for ``stale`` pages: ``jobs`` (else ``$CHEMDL_BOOK_JOBS``, else the CPUs), at most ``stale``."""
    if jobs in (None, ""):
        jobs = os.environ.get(JOBS_ENV) or None
    if jobs in (None, "", 0, "0"):
        n = cpu_count()
    else:
        try:
            n = int(jobs)
        except (TypeError, ValueError):
            raise ValueError(f"jobs must be a positive integer, got {jobs!r} (--jobs / ${JOBS_ENV})") from None
        if n < 1:
            raise ValueError(f"jobs must be a positive integer, got {n} (--jobs / ${JOBS_ENV})")
    return max(1, min(n, stale))


# --------------------------------------------------------------------------------------------
# reading pages as MyST-NB does


def read_page(path: Path | str, md_config: Any = None, nb_config: Any = None, page: str | None = None,
              text: str | None = None) -> PageJob | None:
    """The page as MyST-NB reads it, or None when it is not a notebook (plain Markdown) or
    MyST-NB would not execute it with the cache (excluded, another execution mode)."""
    import nbformat
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    path = Path(path)
    md_config = md_config if md_config is not None else MdParserConfig()
    nb_config = nb_config if nb_config is not None else NbParserConfig(execution_mode="cache")
    text = path.read_text(encoding="utf-8") if text is None else text
    reader = create_nb_reader(str(path), md_config, nb_config, text)
    if reader is None:
        return None
    notebook = reader.read(text)
    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.from_dict(notebook)
    if nb_config.execution_excludepatterns:
        posix = PurePosixPath(path.as_posix())
        if any(posix.match(p) for p in nb_config.execution_excludepatterns):
            return None
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    if kernel is not None and nb_config.kernel_rgx_aliases:
        for rgx, alias in nb_config.kernel_rgx_aliases.items():
            if re.fullmatch(rgx, kernel):
                notebook.metadata["kernelspec"]["name"] = alias
                break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        try:
            nb_config = nb_config.copy(**overrides)
        except Exception:  # MyST-NB warns and keeps the global configuration; so do we
            pass
    if nb_config.execution_mode != "cache":
        return None
    return PageJob(
        page=page or path.with_suffix("").as_posix(),
        path=path.resolve(),
        notebook=notebook,
        read_fmt=reader.read_fmt,
        timeout=nb_config.execution_timeout,
        allow_errors=nb_config.execution_allow_errors,
        in_temp=nb_config.execution_in_temp,
    )


# --------------------------------------------------------------------------------------------
# executing


def _execute_in_worker(nb: Any, cwd: str | None, timeout: int | None, allow_errors: bool,
                       threads: int | None) -> tuple[Any, float, dict | None]:
    """Run one notebook (in a worker process); returns (executed notebook, seconds, error or None)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    nb = nbformat.from_dict(nb)
    current: dict[str, int | None] = {"index": None}

    def on_cell_execute(cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        current["index"] = cell_index

    with tempfile.TemporaryDirectory() if cwd is None else nullcontext(cwd) as folder:
        result = single_nb_execution(
            nb, cwd=folder, timeout=timeout, allow_errors=allow_errors, meta_override=True,
            on_cell_execute=on_cell_execute,
        )
    error = None
    if result.err is not None:
        err = result.err
        name = type(err).__name__
        if getattr(err, "ename", None):
            summary = f"{err.ename}: {err.evalue}"
        else:
            summary = f"{name}: {_ANSI.sub('', str(err)).strip().splitlines()[-1] if str(err).strip() else ''}"
        error = {"summary": summary, "index": current["index"],
                 "traceback": _ANSI.sub("", result.exc_string or str(err))}
    return result.nb, result.time, error


def _mp_context() -> Any:
    """``fork`` on Linux (workers start at once, with nbclient already imported), else ``spawn``.
    Workers only run kernels; the parent alone writes the cache database."""
    import sys

    if sys.platform.startswith("linux"):
        import nbclient  # noqa: F401  (imported once, inherited by the forked workers)
        import jupyter_cache.executors.utils  # noqa: F401

        return get_context("fork")
    return get_context("spawn")


def _history(cache: Any) -> dict[str, float]:
    """Source path -> seconds of its latest cached execution (to start the longest pages first)."""
    seconds: dict[str, tuple[Any, float]] = {}
    for record in cache.list_cache_records():
        value = (record.data or {}).get("execution_seconds")
        if value is None:
            continue
        if record.uri not in seconds or record.created > seconds[record.uri][0]:
            seconds[record.uri] = (record.created, float(value))
    return {uri: s for uri, (_, s) in seconds.items()}


def execute_jobs(
    pages: Sequence[PageJob],
    cache_dir: Path | str,
    jobs: int | str | None = None,
    raise_on_error: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[PageResult]:
    """Look each page up in the jupyter-cache at ``cache_dir``; execute the misses ``jobs`` at a time.

    Executed pages are cached as MyST-NB caches them. Returns one :class:`PageResult` per page,
    in the order given. Raises :class:`NotebookExecutionFailed` naming the page and cell of
    each failure (after every other page has finished) unless ``raise_on_error`` is false.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbProjectRecord

    log = log or (lambda msg: None)
    cache = get_cache(str(cache_dir))
    results: dict[str, PageResult] = {}
    stale: list[PageJob] = []
    for job in pages:
        try:
            record = cache.match_cache_notebook(job.notebook)
        except KeyError:
            stale.append(job)
            continue
        results[job.page] = PageResult(job.page, float((record.data or {}).get("execution_seconds") or 0.0), "cached")
    if stale:
        n = resolve_jobs(jobs, len(stale))
        threads = max(1, cpu_count() // n)
        history = _history(cache)
        stale.sort(key=lambda j: j.expected_seconds(history), reverse=True)  # longest first
        log(f"executing {len(stale)} notebook page(s) with {n} parallel kernel(s); "
            f"{len(results)} taken from the cache")
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=n, mp_context=_mp_context()) as pool:
            futures = {
                pool.submit(_execute_in_worker, job.notebook, None if job.in_temp else str(job.path.parent),
                            job.timeout, job.allow_errors, threads): job
                for job in stale
            }
            for done, future in enumerate(as_completed(futures), 1):
                job = futures[future]
                try:
                    nb, seconds, error = future.result()
                except Exception as exc:  # the worker itself died (kernel could not start, out of memory)
                    nb, seconds, error = None, 0.0, {"summary": f"{type(exc).__name__}: {exc}", "index": None,
                                                     "traceback": None}
                if error is None:
                    stage = cache.add_nb_to_project(str(job.path), read_data=job.read_fmt) if job.read_fmt \
                        else cache.add_nb_to_project(str(job.path))
                    NbProjectRecord.remove_tracebacks([stage.pk], cache.db)
                    cache.cache_notebook_bundle(
                        CacheBundleIn(nb, stage.uri, data={"execution_seconds": seconds}),
                        check_validity=False, overwrite=True,
                    )
                    results[job.page] = PageResult(job.page, seconds, "executed")
                    log(f"[{done}/{len(stale)}] {job.page}: executed in {seconds:.1f} s")
                else:
                    index = error["index"]
                    source_map = job.notebook.metadata.get("source_map") or []
                    # MyST-NB's source map: the 1-based line of each code cell's ```{code-cell} fence
                    line = source_map[index] if index is not None and index < len(source_map) else None
                    results[job.page] = PageResult(
                        job.page, seconds, "failed", error["summary"],
                        cell=None if index is None else index + 1, line=line, traceback=error["traceback"],
                        source=str(job.path),
                    )
                    log(f"[{done}/{len(stale)}] {job.page}: FAILED in {seconds:.1f} s: {error['summary']}")
        log(f"executed {len(stale)} page(s) in {time.perf_counter() - start:.1f} s wall")
    ordered = [results[job.page] for job in pages]
    failures = [r for r in ordered if r.status == "failed"]
    if failures and raise_on_error:
        raise NotebookExecutionFailed(failures)
    return ordered


def execute_pages(
    paths: Iterable[Path | str],
    cache_dir: Path | str,
    jobs: int | str | None = None,
    timeout: int | None = 600,
    allow_errors: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[PageResult]:
    """:func:`execute_jobs` for page files read with MyST-NB's default configuration (no Sphinx).

    Plain Markdown pages (no jupytext/MyST-NB header) are skipped. Cells run with the page's
    folder as working directory.
    """
    from myst_nb.core.config import NbParserConfig

    config = NbParserConfig(execution_mode="cache", execution_timeout=timeout, execution_allow_errors=allow_errors)
    pages = [job for job in (read_page(p, nb_config=config) for p in paths) if job is not None]
    return execute_jobs(pages, cache_dir, jobs=jobs, log=log)


def format_table(rows: Sequence[PageResult | dict]) -> str:
    """A plain-text table: page, seconds, status; longest first, with the total."""
    rows = [r if isinstance(r, dict) else asdict(r) for r in rows]
    rows = sorted(rows, key=lambda r: -float(r["seconds"] or 0.0))
    width = max([len("total")] + [len(r["page"]) for r in rows])
    lines = [f"{'page':<{width}}  {'seconds':>8}  status", f"{'-' * width}  {'-' * 8}  --------"]
    lines += [f"{r['page']:<{width}}  {float(r['seconds'] or 0.0):8.1f}  {r['status']}" for r in rows]
    executed = sum(float(r["seconds"] or 0.0) for r in rows if r["status"] == "executed")
    total = sum(float(r["seconds"] or 0.0) for r in rows)
    lines.append(f"{'total':<{width}}  {total:8.1f}  ({executed:.1f} s executed in this build)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Sphinx extension


def _pre_execute(app: Any, env: Any, docnames: list[str]) -> None:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    nb_config = getattr(env, "mystnb_config", None)
    if nb_config is None or nb_config.execution_mode != "cache":
        return
    pages = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        if not path.is_file():
            continue
        job = read_page(path, env.myst_config, nb_config, page=docname)
        if job is not None:
            pages.append(job)
    app.chemdl_exec_results = []
    if not pages:
        logger.info("no notebook page to read in this build")
        return
    cache_dir = nb_config.execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    try:
        results = execute_jobs(pages, cache_dir, jobs=app.config.chemdl_execution_jobs,
                               raise_on_error=nb_config.execution_raise_on_error, log=logger.info)
    except NotebookExecutionFailed as exc:
        _write_reports(Path(app.outdir), exc.failures)
        raise
    failed = [r for r in results if r.status == "failed"]
    if failed:  # raise_on_error off: MyST-NB executes these again and records the error itself
        logger.warning(str(NotebookExecutionFailed(failed)), type="chemdl", subtype="exec")
    app.chemdl_exec_results = [r for r in results if r.status != "failed"]
    for r in app.chemdl_exec_results:  # a report left by an earlier failed build is no longer true
        Path(app.outdir).joinpath("reports", *(r.page + ".err.log").split("/")).unlink(missing_ok=True)


def _write_reports(outdir: Path, failures: Sequence[PageResult]) -> None:
    for r in failures:
        report = outdir.joinpath("reports", *(r.page + ".err.log").split("/"))
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(f"{r.page}: cell {r.cell} (line {r.line}): {r.error}\n\n{r.traceback or ''}", encoding="utf-8")


def _report_times(app: Any, exception: Exception | None) -> None:
    results = getattr(app, "chemdl_exec_results", None)
    if exception is not None or results is None:
        return
    from sphinx.util import logging

    rows = [asdict(r) | {"traceback": None} for r in results]
    if rows:
        logging.getLogger(__name__).info("notebook execution times:\n" + format_table(rows))
    (Path(app.outdir).parent / TIMES_FILE).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def setup(app: Any) -> dict:
    """Sphinx entry point: pre-execute stale notebooks in parallel before Sphinx reads them."""
    app.setup_extension("myst_nb")
    app.add_config_value("chemdl_execution_jobs", None, "", [int, str, type(None)])  # no rebuild when it changes
    # before MyST-NB or anything else reads a page
    app.connect("env-before-read-docs", _pre_execute, priority=100)
    app.connect("build-finished", _report_times)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
