"""Train / validation / test splits: random, and by Bemis-Murcko scaffold.

Both return three ``np.ndarray[int64]`` of positions, disjoint and together covering ``0..n-1``,
so they index a DataFrame (``df.iloc[train]``) and a graph dataset (``ds[train]``) alike.

A *random* split puts near-identical molecules on both sides and so flatters a model. A *scaffold*
split (Bemis & Murcko 1996) groups molecules by their ring-system framework and keeps each group
in one part, so the test set asks about frameworks the model has never seen: a harder, more honest
estimate of how it does on new chemistry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from .._rdkit import as_mol as parse, quiet_rdkit as quiet

__all__ = ["random_split", "scaffold_split", "murcko_scaffold"]

Split = tuple[np.ndarray, np.ndarray, np.ndarray]


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise TypeError(f"fractions must be three numbers (train, val, test), got {fractions!r}") from None
    if len(values) != 3:
        raise ValueError(
            f"fractions must be three numbers (train, val, test), got {len(values)}: {fractions!r}"
        )
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"fractions must be finite and >= 0, got {fractions!r}")
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {sum(values):g})")
    return values  # type: ignore[return-value]


def _cutoffs(n: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Sizes of train and train+val: rounded cumulative fractions of ``n``."""
    train = int(round(fractions[0] * n))
    return train, max(train, int(round((fractions[0] + fractions[1]) * n)))


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    return int(seed)


def random_split(
    n_or_sequence: int | Sequence[object],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> Split:
    """Shuffle positions ``0..n-1`` with ``seed`` and cut them into train / val / test.

    ``n_or_sequence`` is the number of items or anything with a length (a list of SMILES, a
    DataFrame, a dataset). Part sizes are ``round(f_train * n)`` and ``round((f_train + f_val) * n)
    - round(f_train * n)``; the test part takes the rest.

    >>> train, val, test = random_split(10, seed=0)
    >>> len(train), len(val), len(test)
    (8, 1, 1)
    """
    if isinstance(n_or_sequence, (int, np.integer)) and not isinstance(n_or_sequence, bool):
        n = int(n_or_sequence)
    elif hasattr(n_or_sequence, "__len__"):
        n = len(n_or_sequence)  # type: ignore[arg-type]
    else:
        raise TypeError(
            f"n_or_sequence must be an int or have a length, got {type(n_or_sequence).__name__}"
        )
    if n < 1:
        raise ValueError(f"cannot split {n} items: n_or_sequence must hold at least one item")
    fr = _check_fractions(fractions)
    order = np.random.default_rng(_check_seed(seed)).permutation(n).astype(np.int64)
    a, b = _cutoffs(n, fr)
    return order[:a], order[a:b], order[b:]


def murcko_scaffold(molecule: str | Chem.Mol, include_chirality: bool = False) -> str:
    """Bemis-Murcko scaffold SMILES of ``molecule`` (a SMILES or an RDKit ``Mol``).

    The scaffold keeps ring systems and the linkers between them and drops side chains; an
    acyclic molecule has the empty scaffold ``""``.

    >>> murcko_scaffold("CCOc1ccc(CC(=O)N)cc1")
    'c1ccccc1'
    """
    mol = parse(molecule)
    with quiet():  # RDKit warns about isolated explicit hydrogens ([H+]) while stripping side chains
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)


def scaffold_split(
    smiles: Sequence[str | Chem.Mol],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> Split:
    """Split by Bemis-Murcko scaffold: no scaffold appears in two parts.

    The usual deterministic scheme (as in MoleculeNet/DeepChem): group molecules by scaffold,
    order the groups from largest to smallest, and hand each group to train while it fits in
    ``f_train * n``, else to validation while that fits in ``(f_train + f_val) * n``, else to test.
    Big, common scaffolds (benzene, the acyclic "empty" scaffold) therefore land in train and the
    test set holds rare frameworks. ``seed`` only orders groups *of equal size* (ties), so the
    split is reproducible for a given seed and a different seed gives another, equally valid split.

    Positions inside each part are sorted. An unparsable SMILES raises ``ValueError`` naming it.
    """
    if isinstance(smiles, (str, Chem.Mol)) or not hasattr(smiles, "__len__"):
        raise TypeError("smiles must be a sequence of SMILES strings or RDKit molecules")
    items = list(smiles)
    if not items:
        raise ValueError("cannot split an empty list of molecules: smiles must hold at least one item")
    fr = _check_fractions(fractions)
    rng = np.random.default_rng(_check_seed(seed))

    groups: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        try:
            groups[murcko_scaffold(item)].append(i)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"smiles[{i}] cannot be split by scaffold: {exc}") from None

    scaffold_sets = list(groups.values())
    tie_order = rng.permutation(len(scaffold_sets))  # random rank used only to break size ties
    order = sorted(range(len(scaffold_sets)), key=lambda k: (-len(scaffold_sets[k]), tie_order[k]))

    n = len(items)
    train_cut, val_cut = _cutoffs(n, fr)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for k in order:
        group = scaffold_sets[k]
        if len(train) + len(group) <= train_cut:
            train.extend(group)
        elif len(train) + len(val) + len(group) <= val_cut:
            val.extend(group)
        else:
            test.extend(group)
    as_array = [np.array(sorted(part), dtype=np.int64) for part in (train, val, test)]
    return as_array[0], as_array[1], as_array[2]
