"""Featurize thousands of SMILES at once, with a progress bar and a per-molecule error report."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from torch_geometric.data import Data

from ..progress import progress
from .features import Featurizer
from .graph import smiles_to_graph

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
    chunks = [(i, items[i : i + chunk_size], featurizer) for i in range(0, len(items), chunk_size)]
    result = FeaturizationResult()
    bar = progress(total=len(items), iterable=None, desc="featurizing", enabled=show_progress, unit="mol")
    try:
        if n_jobs == 1 or len(chunks) <= 1:
            outputs: Iterable = map(_featurize_chunk, chunks)
            _collect(outputs, result, bar)
        else:
            with ProcessPoolExecutor(max_workers=n_jobs) as pool:
                _collect(pool.map(_featurize_chunk, chunks), result, bar)
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
