"""Featurize thousands of SMILES at once, with a progress bar and a per-molecule error report."""

from __future__ import annotations

import gc
import os
from concurrent.futures import ProcessPoolExecutor
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


def _featurize_chunk(args: tuple[int, Sequence[object], Featurizer | None]) -> list[_Outcome]:
    start, chunk, featurizer = args
    out: list[_Outcome] = []
    for offset, smi in enumerate(chunk):
        try:
            out.append((start + offset, smi, smiles_to_graph(smi, featurizer), ""))  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            out.append((start + offset, smi, None, str(exc)))
    return out


@dataclass
class _ChunkArrays:
    """What a worker process sends back for one chunk: the arrays of all its graphs concatenated
    (a few large arrays pickle in microseconds; thousands of ``Data`` objects do not), the node
    and edge counts to split them, the input positions that worked, and the failures."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    num_nodes: np.ndarray
    num_edges: np.ndarray
    indices: list[int]
    failures: list[tuple[int, str]]


_WORKER_FEATURIZER: Featurizer | None = None


def _init_worker(featurizer: Featurizer | None) -> None:
    # Given to the pool as initializer argument: inherited, not pickled, where processes fork
    # (Linux), so featurizers with lambdas or RDKit methods as features work there.
    global _WORKER_FEATURIZER
    _WORKER_FEATURIZER = featurizer
    # the objects inherited from the parent (torch, RDKit, ...) never die here: keep the cyclic
    # garbage collector from walking them (CPU time, and copy-on-write of every page it touches)
    gc.freeze()


def _featurize_chunk_arrays(args: tuple[int, Sequence[object]]) -> _ChunkArrays:
    start, chunk = args
    featurizer = _WORKER_FEATURIZER
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
                            empty, empty, indices, failures)
    return _ChunkArrays(
        x=np.concatenate(xs),
        edge_index=np.concatenate(eis, axis=1),
        edge_attr=np.concatenate(eas),
        num_nodes=np.array([len(a) for a in xs], dtype=np.int64),
        num_edges=np.array([a.shape[1] for a in eis], dtype=np.int64),
        indices=indices,
        failures=failures,
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

    ``n_jobs > 1`` uses that many worker processes (``-1``: one per core). Graphs come back in
    input order; ``result.indices[k]`` is the input position of ``result.graphs[k]``.
    """
    items = list(smiles)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1 or -1, got {n_jobs}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if n_jobs > 1:  # at least ~4 chunks per worker, so that the workers finish together
        chunk_size = max(1, min(chunk_size, -(-len(items) // (4 * n_jobs))))
    chunks = [(i, items[i : i + chunk_size], featurizer) for i in range(0, len(items), chunk_size)]
    result = FeaturizationResult()
    bar = progress(total=len(items), iterable=None, desc="featurizing", enabled=show_progress, unit="mol")
    try:
        if n_jobs == 1 or len(chunks) <= 1:
            outputs: Iterable = map(_featurize_chunk, chunks)
            _collect(outputs, result, bar)
        else:
            # workers return NumPy arrays per chunk; the Data objects are built here
            with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker, initargs=(featurizer,)) as pool:
                work = [(start, chunk) for start, chunk, _ in chunks]
                rebuilt = (_graphs_from_chunk(c, items) for c in pool.map(_featurize_chunk_arrays, work))
                _collect(rebuilt, result, bar)
    finally:
        bar.close()
    return result


def _collect(outputs: Iterable[list[_Outcome]], result: FeaturizationResult, bar) -> None:
    for chunk in outputs:
        for index, smi, graph, reason in chunk:
            if graph is None:
                result.failures.append(FeaturizationFailure(index, smi, reason))
            else:
                result.graphs.append(graph)
                result.indices.append(index)
        bar.update(len(chunk))
