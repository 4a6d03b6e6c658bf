"""Training speed: seconds per epoch of the book's GNN, MLP and sequence models on CPU and CUDA.

Each model trains with :func:`chemdl_utils.fit` on FreeSolv (642 molecules) with the book's
batch size 32: ``MolGNN`` on the lecture's graphs, an ``MLP`` on Morgan fingerprints, the GRU
``Seq2Seq`` (chemdl_utils.nn.seq) and the ``SmilesTransformer`` (chemdl_utils.nn.transformer) on
character tokens of the SMILES. Every model is timed on the plain path (the loader collates on the
CPU every step; ``resident=False``) and on the device-resident path (``resident=True``: the dataset
collated once and kept on the device, mini-batches gathered there by index), first on the CPU, then
on CUDA where a GPU is present (CUDA rows read "not measured" otherwise). The ``FULL_TRAINING``
sizes (:func:`chemdl_utils.device_batch.training_sizes`: batch 256, hidden 256) are timed for the
GNN too. One warm-up epoch, then ``--epochs`` timed epochs; wall and CPU seconds per epoch.

    .venv/bin/python benchmarks/train.py [--epochs 3] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

NOT_MEASURED = "not measured (no CUDA device)"


def _data(n: int | None) -> dict[str, Any]:
    from chemdl_utils.chem import featurize_many, morgan_fingerprints
    from chemdl_utils.data import load_dataset

    frame = load_dataset("freesolv")
    if n:
        frame = frame.iloc[:n]
    smiles = list(frame["smiles"])
    y = torch.tensor(frame["expt"].to_numpy(), dtype=torch.float32)
    result = featurize_many(smiles, show_progress=False)
    graphs = result.graphs
    for g, i in zip(graphs, result.indices):
        g.y = y[i].reshape(1, 1)
    fps = torch.tensor(morgan_fingerprints(smiles), dtype=torch.float32)
    chars = sorted({c for s in smiles for c in s})
    vocab = {c: i + 4 for i, c in enumerate(chars)}  # 0 pad, 1 bos, 2 eos, 3 unused
    length = max(len(s) for s in smiles) + 2
    ids = torch.zeros(len(smiles), length, dtype=torch.long)
    for r, s in enumerate(smiles):
        row = [1] + [vocab[c] for c in s] + [2]
        ids[r, : len(row)] = torch.tensor(row)
    lengths = (ids != 0).sum(1)
    return {"graphs": graphs, "y": y, "fps": fps, "ids": ids, "lengths": lengths, "vocab_size": len(vocab) + 4}


def _seq_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=0)


def _cases(data: dict[str, Any]) -> dict[str, tuple[Callable[[], nn.Module], Callable[[], Any], Any]]:
    from torch_geometric.loader import DataLoader as GraphLoader

    from chemdl_utils.device_batch import training_sizes
    from chemdl_utils.nn.gnn import MolGNN
    from chemdl_utils.nn.mlp import MLP
    from chemdl_utils.nn.seq import Seq2Seq
    from chemdl_utils.nn.transformer import SmilesTransformer

    full = training_sizes(True)
    y, ids, lengths, vocab = data["y"], data["ids"], data["lengths"], data["vocab_size"]
    return {
        "MolGNN (hidden 128, batch 32)": (
            lambda: MolGNN(hidden=128, num_layers=3),
            lambda: GraphLoader(data["graphs"], batch_size=32, shuffle=True), None),
        f"MolGNN FULL_TRAINING (hidden {full['hidden']}, batch {full['batch_size']})": (
            lambda: MolGNN(hidden=full["hidden"], num_layers=3),
            lambda: GraphLoader(data["graphs"], batch_size=full["batch_size"], shuffle=True), None),
        "MLP on Morgan fingerprints (hidden 128, batch 32)": (
            lambda: MLP(data["fps"].shape[1], [128], 1),
            lambda: DataLoader(TensorDataset(data["fps"], y.reshape(-1, 1)), batch_size=32, shuffle=True), None),
        "GRU Seq2Seq with attention (hidden 128, batch 32)": (
            lambda: Seq2Seq(vocab, hidden_size=128, attention=True),
            lambda: DataLoader(TensorDataset(ids, lengths, ids[:, :-1], ids[:, 1:]), batch_size=32, shuffle=True),
            _seq_loss),
        "SmilesTransformer (d_model 64, batch 32)": (
            lambda: SmilesTransformer(vocab, max_len=ids.shape[1]),
            lambda: DataLoader(TensorDataset(ids, y), batch_size=32, shuffle=True), None),
    }


def _time(make_model: Callable[[], nn.Module], make_loader: Callable[[], Any], loss_fn: Any, device: str,
          resident: bool, epochs: int) -> tuple[float, float]:
    from chemdl_utils.train import fit

    torch.manual_seed(0)
    model = make_model()
    kwargs = dict(lr=1e-3, show_progress=False, device=device, resident=resident, loss_fn=loss_fn, seed=0)
    fit(model, make_loader(), epochs=1, **kwargs)  # warm-up (allocator, kernels, caches)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    fit(model, make_loader(), epochs=epochs, **kwargs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - wall) / epochs, (time.process_time() - cpu) / epochs


def run(quick: bool = False, epochs: int | None = None, threads: int = 2, n: int | None = None,
        models: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """Print seconds per epoch of every model and path; return summary rows ``(name, figure, anchor)``."""
    torch.set_num_threads(threads)
    epochs = epochs or (1 if quick else 3)
    data = _data(n)
    cases = _cases(data)
    if models:
        cases = {k: v for k, v in cases.items() if any(m.lower() in k.lower() for m in models)}
    has_cuda = torch.cuda.is_available()
    if has_cuda:
        from chemdl_utils.device import device_summary

        gpu = device_summary(torch.device("cuda"))
    else:
        gpu = "no CUDA device"
    print(f"training: FreeSolv ({len(data['graphs'])} molecules), {epochs} timed epochs after 1 warm-up; "
          f"CPU with {threads} threads; GPU: {gpu}")
    print(f"  {'model':55s} {'path':9s} {'CPU s/epoch (wall, CPU time)':30s} CUDA s/epoch (wall)")
    rows: list[tuple[str, str, str]] = []
    for name, (make_model, make_loader, loss_fn) in cases.items():
        figures: dict[tuple[str, bool], float] = {}
        cpu_times: dict[bool, float] = {}
        for resident in (False, True):
            wall, cpu = _time(make_model, make_loader, loss_fn, "cpu", resident, epochs)
            figures["cpu", resident] = wall
            cpu_times[resident] = cpu
            if has_cuda:
                cuda_wall, _ = _time(make_model, make_loader, loss_fn, "cuda", resident, epochs)
                figures["cuda", resident] = cuda_wall
                cuda_text = f"{cuda_wall:.3f}"
            else:
                cuda_text = NOT_MEASURED
            path = "resident" if resident else "plain"
            print(f"  {name:55s} {path:9s} {wall:7.3f} ({cpu:7.3f} CPU){'':12s} {cuda_text}")
        cpu_gain = figures["cpu", False] / figures["cpu", True]
        rows.append((f"train {name}: resident vs plain on CPU",
                     f"{cpu_gain:.2f}x wall, {cpu_times[False] / cpu_times[True]:.2f}x CPU time",
                     f"fit(resident=False) on CPU, {threads} threads, s/epoch"))
        if has_cuda:
            rows.append((f"train {name}: CUDA resident vs CPU plain",
                         f"{figures['cpu', False] / figures['cuda', True]:.2f}x",
                         f"fit on CPU ({threads} threads), plain path, wall s/epoch"))
            rows.append((f"train {name}: CUDA resident vs CUDA plain",
                         f"{figures['cuda', False] / figures['cuda', True]:.2f}x", "fit(resident=False) on CUDA"))
        else:
            rows.append((f"train {name}: CUDA vs CPU", NOT_MEASURED, f"fit on CPU ({threads} threads), plain path"))
    return rows


def main(argv: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs (default 3; 1 with --quick)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--molecules", type=int, default=None, help="use only the first N FreeSolv molecules")
    parser.add_argument("--model", action="append", default=None, help="only models whose name contains this")
    parser.add_argument("--quick", action="store_true", help="1 timed epoch")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.epochs, args.threads, args.molecules, args.model)
    for name, figure, anchor in rows:
        print(f"{name}: {figure}  (anchor: {anchor})")
    return rows


if __name__ == "__main__":
    main()
