"""Mini-batches gathered on the device from a dataset that lives there ("device-resident" data).

On a GPU, training the course's small models on small datasets (FreeSolv: 642 molecules) is bound
by Python, not arithmetic: every step PyTorch Geometric collates 32 ``Data`` objects on the CPU
(``Batch.from_data_list``) and copies the result to the GPU. Here the whole dataset is collated
**once** and moved to the device **once**; a mini-batch is then a handful of index operations on
the device (``index_select`` of the rows of the chosen graphs, ``repeat_interleave`` of offsets),
with no per-step collation and no per-step host-to-device copy except one index tensor per epoch.

The batches are equal to what the plain loader gives (same graphs, same order, same tensors,
``batch``/``ptr``/slice bookkeeping): :func:`chemdl_utils.fit` uses them automatically on CUDA
and with ``resident=True`` anywhere; tests/test_device_batch.py compares them with
``Batch.from_data_list`` and the losses of ``fit`` with those of the plain path.

>>> from torch_geometric.loader import DataLoader
>>> from chemdl_utils import smiles_to_graph
>>> graphs = [smiles_to_graph(s) for s in ["CCO", "c1ccccc1", "CC(=O)O"]]
>>> resident = ResidentLoader.from_loader(DataLoader(graphs, batch_size=2), "cpu")
>>> [b.num_graphs for b in resident]
[2, 1]
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch

__all__ = ["ResidentLoader", "resident_reason", "pinned_prefetch", "training_sizes"]

#: datasets larger than this (bytes of tensors) stay on the host unless ``resident=True``
AUTO_RESIDENT_MAX_BYTES = 2 * 2**30


def training_sizes(full_training: bool, device: torch.device | str | None = None) -> dict[str, int]:
    """Batch size and model width for the book's small models: the CPU budget (batch 32, hidden 64)
    or, under ``FULL_TRAINING``, sizes a GPU is for (batch 256, hidden 256): larger batches keep the
    GPU busy per Python step, wider layers cost a GPU almost nothing extra (docs/benchmarks.md)."""
    del device  # the same sizes on every device: a GPU run may only train longer and wider
    return {"batch_size": 256, "hidden": 256} if full_training else {"batch_size": 32, "hidden": 64}


def _is_pyg_collater(loader: Any) -> bool:
    try:
        from torch_geometric.loader.dataloader import Collater
    except ImportError:  # pragma: no cover - PyG is a dependency
        return False
    fn = getattr(loader, "collate_fn", None)
    return isinstance(fn, Collater) and not getattr(fn, "follow_batch", None) and not getattr(fn, "exclude_keys", None)


def resident_reason(loader: Any) -> str | None:
    """``None`` when ``loader`` can be made device-resident, else why not (one sentence)."""
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.dataloader import default_collate

    if not isinstance(loader, DataLoader):
        return f"the loader is a {type(loader).__name__}, not a torch/PyG DataLoader"
    if loader._dataset_kind != 0 or not hasattr(loader.dataset, "__getitem__"):
        return "the loader's dataset is iterable-style, not indexable"
    if loader.batch_sampler is None:
        return "the loader has no batch sampler (batch_size=None)"
    if _is_pyg_collater(loader):
        return None
    if loader.collate_fn is default_collate and isinstance(loader.dataset, TensorDataset):
        return None
    return "only PyG graph loaders and DataLoader(TensorDataset) with the default collate are supported"


class ResidentLoader:
    """A drop-in for a ``DataLoader`` whose whole dataset sits on ``device``.

    Build it with :meth:`from_loader` (same batches, same order and the same random draws as
    iterating that loader) or directly from graphs/tensors. Iterating yields, per mini-batch,
    a PyG ``Batch`` (graphs) or a list of tensors (``TensorDataset``), already on ``device``.
    """

    def __init__(
        self,
        dataset: Sequence[Any],
        device: torch.device | str,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
        _loader: Any = None,
    ) -> None:
        from torch.utils.data import DataLoader, TensorDataset

        if _loader is None:
            if isinstance(dataset, TensorDataset):
                _loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                                     generator=generator)
            else:
                from torch_geometric.loader import DataLoader as GraphLoader

                _loader = GraphLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                                      generator=generator)
        reason = resident_reason(_loader)
        if reason is not None:
            raise ValueError(f"cannot keep this loader's data on the device: {reason}")
        self.loader = _loader
        self.device = torch.device(device)
        self.graphs = _is_pyg_collater(_loader)
        if self.graphs:
            self._init_graphs(_loader.dataset)
        else:
            self.tensors = [t.to(self.device) for t in _loader.dataset.tensors]
            self.nbytes = sum(t.numel() * t.element_size() for t in self.tensors)

    @classmethod
    def from_loader(cls, loader: Any, device: torch.device | str) -> "ResidentLoader":
        """The resident twin of ``loader``: its dataset moved to ``device`` once, its sampler reused."""
        return cls(loader.dataset, device, _loader=loader)

    # ---------------------------------------------------------------- graphs
    def _init_graphs(self, dataset: Any) -> None:
        from torch_geometric.data import Batch

        graphs = [dataset[i] for i in range(len(dataset))]
        if not graphs:
            raise ValueError("the loader's dataset is empty")
        full = Batch.from_data_list(graphs)  # collated once, exactly as PyG collates
        first = graphs[0]
        self._base_cls = type(first)
        self._template = first
        self.keys: list[str] = [k for k in full._store._mapping if k not in ("batch", "ptr", "num_nodes")]
        self._keys_order = list(full._store._mapping)
        self._node_counts = np.asarray([g.num_nodes for g in graphs], dtype=np.int64)
        dev = self.device
        self._tensor: dict[str, torch.Tensor] = {}
        self._other: dict[str, list] = {}
        self._slices: dict[str, torch.Tensor] = {}  # per key: (G + 1) start rows on the device
        self._counts_cpu: dict[str, np.ndarray] = {}
        self._counts: dict[str, torch.Tensor] = {}
        self._cat_dim: dict[str, int] = {}
        self._one_row: dict[str, bool] = {}
        self._inc_amount: dict[str, torch.Tensor] = {}  # per key with increments: each graph's own increment
        self._inc_full: dict[str, torch.Tensor] = {}
        self._inc_nonzero: dict[str, bool] = {}
        for key in self.keys:
            value = full[key]
            if not isinstance(value, torch.Tensor):
                self._other[key] = list(value)
                continue
            slices = full._slice_dict[key]
            if slices.dim() != 1:
                raise ValueError(f"attribute {key!r} has multi-dimensional slices; use the plain loader")
            counts = (slices[1:] - slices[:-1]).numpy()
            cat_dim = first.__cat_dim__(key, first[key])
            if cat_dim is None:  # stacked along a new dimension: one row per graph
                cat_dim = 0
            self._cat_dim[key] = int(cat_dim) % max(value.dim(), 1)
            self._tensor[key] = value.to(dev)
            self._slices[key] = slices.to(dev)
            self._counts_cpu[key] = counts
            self._one_row[key] = bool((counts == 1).all())
            self._counts[key] = torch.from_numpy(counts).to(dev)
            inc = full._inc_dict.get(key)
            if inc is not None:
                amount = torch.as_tensor([g.__inc__(key, g[key]) for g in graphs])
                if amount.dim() != 1:
                    raise ValueError(f"attribute {key!r} has multi-dimensional increments; use the plain loader")
                self._inc_amount[key] = amount.to(dev)
                self._inc_full[key] = inc.to(dev)
                self._inc_nonzero[key] = bool(amount.any())
        self.nbytes = sum(t.numel() * t.element_size() for t in self._tensor.values())

    def _gather_rows(self, key: str, idx: torch.Tensor, idx_cpu: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Rows of ``key`` for graphs ``idx`` in that order, their counts, and the total (CPU int)."""
        counts_cpu = self._counts_cpu[key][idx_cpu]
        total = int(counts_cpu.sum())
        counts = self._counts[key].index_select(0, idx)
        starts = self._slices[key].index_select(0, idx)
        if self._one_row[key]:  # one row per graph: the rows are the graphs
            rows = starts
        else:
            new_starts = torch.cumsum(counts, 0) - counts
            rows = torch.arange(total, device=self.device) + torch.repeat_interleave(
                starts - new_starts, counts, output_size=total)
        return rows, counts, total

    def _graph_batch(self, idx_cpu: np.ndarray, idx: torch.Tensor) -> Any:
        from torch_geometric.data import Batch

        out = Batch(_base_cls=self._base_cls)
        out.stores_as(self._template)
        dev = self.device
        slice_dict: dict[str, Any] = {}
        inc_dict: dict[str, Any] = {}
        node_counts = self._node_counts[idx_cpu]
        n_graphs = len(idx_cpu)
        for key in self._keys_order:
            if key == "num_nodes":
                out._store._num_nodes = node_counts.tolist()
                out._store.num_nodes = int(node_counts.sum())
                continue
            if key in ("batch", "ptr"):
                continue
            if key in self._other:
                values = self._other[key]
                out._store[key] = [values[i] for i in idx_cpu.tolist()]
                slice_dict[key] = torch.arange(n_graphs + 1)
                inc_dict[key] = None
                continue
            rows, counts, total = self._gather_rows(key, idx, idx_cpu)
            value = self._tensor[key].index_select(self._cat_dim[key], rows)
            zero = torch.zeros(1, dtype=counts.dtype, device=dev)
            slice_dict[key] = torch.cat([zero, torch.cumsum(counts, 0)])
            if key not in self._inc_amount:
                inc_dict[key] = None
            elif not self._inc_nonzero[key]:
                inc_dict[key] = torch.zeros(n_graphs, dtype=self._inc_amount[key].dtype, device=dev)
            else:
                amount = self._inc_amount[key].index_select(0, idx)
                new_inc = torch.cumsum(amount, 0) - amount
                delta = new_inc - self._inc_full[key].index_select(0, idx)
                value = value + torch.repeat_interleave(delta, counts, output_size=total).to(value.dtype)
                inc_dict[key] = new_inc
            out._store[key] = value
        counts_t = torch.from_numpy(node_counts).to(dev, non_blocking=True)
        out._store.batch = torch.repeat_interleave(
            torch.arange(n_graphs, device=dev), counts_t, output_size=int(node_counts.sum()))
        zero = torch.zeros(1, dtype=torch.long, device=dev)
        out._store.ptr = torch.cat([zero, torch.cumsum(counts_t, 0)])
        out._num_graphs = n_graphs
        out._slice_dict = slice_dict
        out._inc_dict = inc_dict
        return out

    # ---------------------------------------------------------------- iteration
    def _index_batches(self) -> list[list[int]]:
        """This epoch's index batches, drawn exactly as iterating the loader would draw them."""
        loader = self.loader
        sampler_iter = iter(loader.batch_sampler)
        # DataLoader.__iter__ draws one number (its workers' base seed) before the sampler runs
        torch.empty((), dtype=torch.int64).random_(generator=loader.generator)
        return [list(b) for b in sampler_iter]

    def batch(self, indices: Sequence[int]) -> Any:
        """The mini-batch of the dataset items ``indices`` (in that order), on the device."""
        idx_cpu = np.asarray(indices, dtype=np.int64)
        idx = torch.from_numpy(idx_cpu).to(self.device)
        return self._make(idx_cpu, idx)

    def _make(self, idx_cpu: np.ndarray, idx: torch.Tensor) -> Any:
        if self.graphs:
            return self._graph_batch(idx_cpu, idx)
        return [t.index_select(0, idx) for t in self.tensors]

    def __iter__(self) -> Iterator[Any]:
        batches = self._index_batches()
        if not batches:
            return
        flat_cpu = np.fromiter((i for b in batches for i in b), dtype=np.int64)
        flat = torch.from_numpy(flat_cpu)
        if self.device.type == "cuda":
            flat = flat.pin_memory()
        flat = flat.to(self.device, non_blocking=True)  # one host-to-device copy per epoch
        start = 0
        for b in batches:
            stop = start + len(b)
            yield self._make(flat_cpu[start:stop], flat[start:stop])
            start = stop

    def __len__(self) -> int:
        return len(self.loader)


def pinned_prefetch(loader: Any, device: torch.device | str) -> Iterator[Any]:
    """Iterate ``loader`` with every batch copied to ``device`` without blocking, one batch ahead
    (the copy of the next batch overlaps the step on the current one). Batches are pinned first
    only when CUDA is available and ``device`` is a CUDA device (pinning needs CUDA); elsewhere the
    same code runs with plain copies (a no-op for the CPU)."""
    device = torch.device(device)
    pin = device.type == "cuda" and torch.cuda.is_available()

    def move(batch: Any) -> Any:
        if isinstance(batch, (list, tuple)):
            return type(batch)(move(b) for b in batch)
        if isinstance(batch, dict):
            return {k: move(v) for k, v in batch.items()}
        if hasattr(batch, "to") and (isinstance(batch, torch.Tensor) or hasattr(batch, "pin_memory")):
            return (batch.pin_memory() if pin else batch).to(device, non_blocking=True)
        return batch

    pending = None
    for batch in loader:
        moved = move(batch)
        if pending is not None:
            yield pending
        pending = moved
    if pending is not None:
        yield pending
