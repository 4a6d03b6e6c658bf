"""Featurize thousands of SMILES at once, with a progress bar and a per-molecule error report."""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from torch_geometric.data import Data

from ..progress import progress
from .features import Featurizer, lecture_graph_arrays
from .graph import graph_from_arrays, parse_smiles, smiles_to_graph

__all__ = ["FeaturizationFailure", "FeaturizationResult", "featurize_many"]


@dataclass(frozen=True)
class FeaturizationFailure:
    """One input that could not be featurized: its position, the SMILES, and why."""

    index: int
    smiles: object
    reason: str


@dataclass
class FeaturizationResult:
    """Graphs for the inputs that worked, their input positions, and the failures."""

    graphs: list[Data] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    failures: list[FeaturizationFailure] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def ok(self) -> bool:
        """True when every input was featurized."""
        return not self.failures

    def report(self, limit: int = 10) -> str:
        """Human-readable summary: counts, then up to ``limit`` failures with reasons."""
        total = len(self.graphs) + len(self.failures)
        lines = [f"featurized {len(self.graphs)} of {total} molecules; {len(self.failures)} failed"]
        for f in self.failures[:limit]:
            lines.append(f"  #{f.index}: {f.smiles!r}: {f.reason}")
        if len(self.failures) > limit:
            lines.append(f"  ... and {len(self.failures) - limit} more")
        return "\n".join(lines)


_Outcome = tuple[int, object, "Data | None", str]  # index, input, graph or None, reason


def _featurize_chunk(start: int, chunk: Sequence[object], featurizer: Featurizer | None) -> list[_Outcome]:
    out: list[_Outcome] = []
    for offset, smi in enumerate(chunk):
        try:
            out.append((start + offset, smi, smiles_to_graph(smi, featurizer), ""))  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            out.append((start + offset, smi, None, str(exc)))
    return out


@dataclass
class _ChunkArrays:
    """What a helper process sends back for one chunk: the arrays of all its graphs concatenated
    (a few large arrays pickle in microseconds; thousands of ``Data`` objects do not), the node
    and edge counts to split them, the input positions that worked, and the failures."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    num_nodes: np.ndarray
    num_edges: np.ndarray
    indices: list[int]
    failures: list[tuple[int, str]]
    start: int = 0  # the chunk's first input position


def _featurize_chunk_arrays(start: int, chunk: Sequence[object], featurizer: Featurizer | None) -> _ChunkArrays:
    xs: list[np.ndarray] = []
    eis: list[np.ndarray] = []
    eas: list[np.ndarray] = []
    indices: list[int] = []
    failures: list[tuple[int, str]] = []
    for offset, smi in enumerate(chunk):
        try:
            if featurizer is None:  # the arrays smiles_to_graph would wrap, without the wrapping
                x, ei, ea = lecture_graph_arrays(parse_smiles(smi), smi)  # type: ignore[arg-type]
            else:
                g = smiles_to_graph(smi, featurizer)  # type: ignore[arg-type]
                x, ei, ea = g.x.numpy(), g.edge_index.numpy(), g.edge_attr.numpy()
        except (ValueError, TypeError) as exc:
            failures.append((start + offset, str(exc)))
            continue
        xs.append(x)
        eis.append(ei)
        eas.append(ea)
        indices.append(start + offset)
    if not xs:
        empty = np.zeros(0, dtype=np.int64)
        return _ChunkArrays(np.zeros((0, 6), np.float32), np.zeros((2, 0), np.int64), np.zeros((0, 2), np.float32),
                            empty, empty, indices, failures, start)
    return _ChunkArrays(
        x=np.concatenate(xs),
        edge_index=np.concatenate(eis, axis=1),
        edge_attr=np.concatenate(eas),
        num_nodes=np.array([len(a) for a in xs], dtype=np.int64),
        num_edges=np.array([a.shape[1] for a in eis], dtype=np.int64),
        indices=indices,
        failures=failures,
        start=start,
    )


def _graphs_from_chunk(chunk: _ChunkArrays, items: Sequence[object]) -> list[_Outcome]:
    """Rebuild the chunk's graphs in the parent process: each gets its own copy of its rows
    (equal to what :func:`smiles_to_graph` returns in this process), failures keep their reason."""
    out: list[_Outcome] = [(i, items[i], None, reason) for i, reason in chunk.failures]
    node_end = np.cumsum(chunk.num_nodes).tolist()
    edge_end = np.cumsum(chunk.num_edges).tolist()
    a = e = 0
    for index, b, f in zip(chunk.indices, node_end, edge_end):
        graph = graph_from_arrays(chunk.x[a:b].copy(), chunk.edge_index[:, e:f].copy(),
                                  chunk.edge_attr[e:f].copy(), items[index])  # type: ignore[arg-type]
        out.append((index, items[index], graph, ""))
        a, e = b, f
    out.sort(key=lambda o: o[0])
    return out


def featurize_many(
    smiles: Iterable[str],
    featurizer: Featurizer | None = None,
    n_jobs: int = 1,
    chunk_size: int = 256,
    show_progress: bool = True,
) -> FeaturizationResult:
    """Featurize every SMILES; failures are collected, never raised.

    ``n_jobs > 1`` featurizes in that many processes (``-1``: one per core): this one and
    ``n_jobs - 1`` helper processes (see :func:`_featurize_shared`). ``chunk_size`` is the most
    molecules handled as one piece of work. Graphs come back in input order;
    ``result.indices[k]`` is the input position of ``result.graphs[k]``.
    """
    items = list(smiles)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1 or -1, got {n_jobs}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    result = FeaturizationResult()
    bar = progress(total=len(items), iterable=None, desc="featurizing", enabled=show_progress, unit="mol")
    try:
        if n_jobs == 1 or len(items) <= chunk_size:
            for start in range(0, len(items), chunk_size):
                outcomes = _featurize_chunk(start, items[start : start + chunk_size], featurizer)
                _collect(outcomes, result)
                bar.update(len(outcomes))
        else:
            for outcomes in _featurize_shared(items, featurizer, n_jobs - 1, chunk_size, bar):
                _collect(outcomes, result)
    finally:
        bar.close()
    return result


def _featurize_shared(items: Sequence[object], featurizer: Featurizer | None, helpers: int,
                      chunk_size: int, bar) -> list[list[_Outcome]]:
    """Featurize ``items`` in this process and ``helpers`` helper processes; outcomes in input order.

    The work is shared through two positions in shared memory (:class:`_Claims`): helpers claim
    chunks from the front, this process from the back, until they meet. Chunks shrink as the work
    left shrinks, so all processes finish within a few molecules of each other and no chunk waits
    for a message. Helpers send NumPy arrays back (the ``Data`` objects are built here), each
    through its own pipe, which this process reads between two of its own chunks. Working here
    rather than only waiting means no core idles while the helpers start, and no third process
    competes for two cores. Molecules a helper did not send back (it raised, or the process died)
    are featurized here, so an error, if any, is raised as in the serial path.
    """
    ctx = multiprocessing.get_context()
    claims = _Claims(ctx, len(items), helpers + 1, chunk_size)
    pipes: dict = {}  # this process's end of each helper's pipe -> the helper
    started: list = []
    done: dict[int, list[_Outcome]] = {}  # first input position of a chunk -> its outcomes

    def finish(start: int, outcomes: list[_Outcome]) -> None:  # one outcome per input
        done[start] = outcomes
        bar.update(len(outcomes))

    def receive(timeout: float | None) -> None:
        for pipe in multiprocessing.connection.wait(list(pipes), timeout):
            try:
                message = pipe.recv()
            except (EOFError, OSError):  # the helper died: what it did not send is done below
                message = None
            if message is None:  # a helper has nothing more to send
                del pipes[pipe]
                pipe.close()
            else:
                finish(message.start, _graphs_from_chunk(message, items))

    try:
        for _ in range(helpers):
            reader, writer = ctx.Pipe(duplex=False)
            helper = ctx.Process(target=_helper_main, args=(items, featurizer, claims, writer), daemon=True)
            helper.start()
            started.append(helper)
            writer.close()  # the helper holds the only writing end: its death reads as end of file
            pipes[reader] = helper
        while (claim := claims.take_back()) is not None:
            start, stop = claim
            finish(start, _featurize_chunk(start, items[start:stop], featurizer))
            receive(timeout=0)
        while pipes:
            receive(timeout=None)
    finally:
        for pipe, helper in pipes.items():  # left early (an error here): stop the helpers
            helper.kill()
            pipe.close()
        # a helper that said it is done exits by itself within milliseconds: reap it in the background
        threading.Thread(target=_reap, args=(started,), daemon=True).start()
    spans = sorted((start, start + len(outcomes)) for start, outcomes in done.items())
    for start, stop in _gaps(spans, len(items)):  # molecules a helper claimed but did not send back
        finish(start, _featurize_chunk(start, items[start:stop], featurizer))
    return [done[start] for start in sorted(done)]


def _reap(processes: list) -> None:
    for process in processes:
        process.join()


def _gaps(spans: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    """The parts of ``range(n)`` not covered by the sorted, disjoint ``spans``."""
    gaps, position = [], 0
    for start, stop in spans:
        if start > position:
            gaps.append((position, start))
        position = max(position, stop)
    if position < n:
        gaps.append((position, n))
    return gaps


class _Claims:
    """The molecules nobody has claimed yet, ``range(front, back)``, in shared memory.

    Each claim takes ``remaining / (2 * processes)`` molecules (guided self-scheduling), at most
    ``largest`` and at least 8, so chunks are large while there is much left and small at the end.
    """

    def __init__(self, ctx, n: int, processes: int, largest: int) -> None:
        self._lock = ctx.Lock()
        self._front = ctx.RawValue("q", 0)
        self._back = ctx.RawValue("q", n)
        self._processes = processes
        self._largest = largest

    def _size(self, remaining: int) -> int:
        return min(remaining, max(8, min(self._largest, remaining // (2 * self._processes))))

    def _take(self, from_front: bool) -> tuple[int, int] | None:
        with self._lock:
            front, back = self._front.value, self._back.value
            if back <= front:
                return None
            size = self._size(back - front)
            if from_front:
                self._front.value = front + size
                return front, front + size
            self._back.value = back - size
            return back - size, back

    def take_front(self) -> tuple[int, int] | None:
        """The next chunk from the front (``(start, stop)``), or None when nothing is left."""
        return self._take(from_front=True)

    def take_back(self) -> tuple[int, int] | None:
        """The next chunk from the back (``(start, stop)``), or None when nothing is left."""
        return self._take(from_front=False)


def _helper_main(items: Sequence[object], featurizer: Featurizer | None, claims: _Claims, pipe) -> None:
    """A helper process: featurize chunks from the front until none is left, then say so.

    A thread sends the results, so that the featurizing never waits for the other end to read.
    """
    # the objects inherited from the parent (torch, RDKit, ...) never die here: keep the cyclic
    # garbage collector from walking them (CPU time, and copy-on-write of every page it touches).
    # The featurizer is inherited, not pickled, where processes fork (Linux), so featurizers with
    # lambdas or RDKit methods as features work there.
    gc.freeze()
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(outbox, pipe))
    sender.start()
    try:
        while (claim := claims.take_front()) is not None:
            start, stop = claim
            outbox.put(_featurize_chunk_arrays(start, items[start:stop], featurizer))
    finally:  # after an error the chunk is not sent: the parent featurizes it and raises there
        outbox.put(None)
        sender.join()
        pipe.close()


def _send_all(outbox: queue.SimpleQueue, pipe) -> None:
    while True:
        message = outbox.get()
        pipe.send(message)
        if message is None:
            return


def _collect(outcomes: list[_Outcome], result: FeaturizationResult) -> None:
    for index, smi, graph, reason in outcomes:
        if graph is None:
            result.failures.append(FeaturizationFailure(index, smi, reason))
        else:
            result.graphs.append(graph)
            result.indices.append(index)
