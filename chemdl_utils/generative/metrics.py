"""How good is a molecule generator? The field's metrics for a list of generated SMILES.

Definitions follow MOSES (Polykovskiy et al. 2020) and GuacaMol (Brown et al. 2019):

* **validity**: fraction of the generated strings RDKit parses into a molecule with at least one
  atom (an empty string is invalid);
* **uniqueness**: fraction of the *valid* molecules that are distinct **after canonicalization**
  (``"OCC"`` and ``"CCO"`` are one molecule);
* **novelty**: fraction of the distinct valid molecules that are not in the reference
  (training) set, both sides canonicalized;
* **internal diversity**: ``1 - mean Tanimoto similarity`` over all distinct pairs of valid
  generated molecules (Morgan fingerprints, radius 2, 2048 bits);
* **scaffold diversity**: distinct Bemis-Murcko scaffolds divided by the number of valid
  molecules (an acyclic molecule has the empty scaffold, which counts as one scaffold);
* **descriptor KL** (GuacaMol's "KL divergence benchmark"): for nine RDKit descriptors and the
  nearest-neighbour similarity inside each set, ``KL(reference || generated)``
  (Gaussian-kernel densities for continuous descriptors, 10-bin histograms for counts); the
  score is ``mean(exp(-KL))`` (1 = same distributions);
* **FCD**, the Fréchet ChemNet Distance (Preuer et al. 2018): the Fréchet distance between
  Gaussians fitted to the penultimate-layer activations of ChemNet on the two sets (0 = same;
  lower is better). The ChemNet weights ship inside the ``fcd`` wheel, so it works offline.

Bad input raises one clear error: a list that is not a list of strings raises ``TypeError``
naming the first offending item, an empty list (or a reference with no valid molecule) raises
``ValueError``. Invalid SMILES inside a list are *not* errors: they are what validity counts.
A metric that is undefined for a given list (uniqueness with no valid molecule, diversity with
fewer than two) raises ``ValueError`` when called alone; :func:`generation_metrics` reports it as
``nan`` instead so that a table of generators can still be built.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Sequence

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.rdBase import BlockLogs

__all__ = [
    "canonicalize",
    "validity",
    "uniqueness",
    "novelty",
    "internal_diversity",
    "scaffold_diversity",
    "descriptor_kl",
    "fcd_score",
    "ReferenceSet",
    "prepare_reference",
    "generation_metrics",
    "METRIC_NAMES",
    "KL_DESCRIPTORS",
]

#: keys of :func:`generation_metrics`, in table order
METRIC_NAMES: tuple[str, ...] = (
    "validity", "uniqueness", "novelty", "internal_diversity", "scaffold_diversity", "kl_score", "fcd",
)

# GuacaMol's descriptor set: (name, RDKit function, is it a count?)
_KL_SPEC: tuple[tuple[str, Any, bool], ...] = (
    ("BertzCT", Descriptors.BertzCT, False),
    ("MolLogP", Descriptors.MolLogP, False),
    ("MolWt", Descriptors.MolWt, False),
    ("TPSA", Descriptors.TPSA, False),
    ("NumHAcceptors", Descriptors.NumHAcceptors, True),
    ("NumHDonors", Descriptors.NumHDonors, True),
    ("NumRotatableBonds", Descriptors.NumRotatableBonds, True),
    ("NumAliphaticRings", Descriptors.NumAliphaticRings, True),
    ("NumAromaticRings", Descriptors.NumAromaticRings, True),
)
#: descriptors compared by :func:`descriptor_kl` (plus ``"InternalSimilarity"``)
KL_DESCRIPTORS: tuple[str, ...] = tuple(name for name, _, _ in _KL_SPEC) + ("InternalSimilarity",)

_FP_GEN = None


def _fp_generator():
    global _FP_GEN
    if _FP_GEN is None:
        _FP_GEN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return _FP_GEN


# ----------------------------------------------------------------------------- input checking
def _as_smiles_list(smiles: object, name: str) -> list[str]:
    """Check that ``smiles`` is a non-empty sequence of strings; return it as a list."""
    if isinstance(smiles, (str, bytes)):
        raise TypeError(
            f"{name} must be a list of SMILES strings, got a single string {smiles!r}; wrap it: [{smiles!r}]"
        )
    if hasattr(smiles, "tolist") and not isinstance(smiles, list):  # pandas Series, numpy array
        smiles = smiles.tolist()
    if not isinstance(smiles, (list, tuple)):
        raise TypeError(f"{name} must be a list of SMILES strings, got {type(smiles).__name__}")
    items = list(smiles)
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise TypeError(
                f"{name}[{i}] is {type(s).__name__} ({s!r}), not a str: every item must be a SMILES string "
                "(use '' for a generation that failed, it then counts as invalid)"
            )
    if not items:
        raise ValueError(f"{name} is empty: generate (or pass) at least one SMILES string")
    return items


def canonicalize(smiles: str) -> str | None:
    """RDKit canonical SMILES of ``smiles``, or ``None`` if it is not a valid molecule.

    ``TypeError`` if ``smiles`` is not a string. Stereochemistry is kept.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"canonicalize expects a SMILES str, got {type(smiles).__name__}: {smiles!r}")
    return _canonical(smiles)


@lru_cache(maxsize=200_000)
def _canonical(smiles: str) -> str | None:
    if not smiles.strip():
        return None
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return Chem.MolToSmiles(mol)


def _valid_canonical(smiles: list[str]) -> list[str]:
    return [c for c in map(_canonical, smiles) if c is not None]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))  # keeps first-seen order, so results are reproducible


# ----------------------------------------------------------------------------- simple metrics
def validity(smiles: Sequence[str]) -> float:
    """Fraction of ``smiles`` that RDKit parses into a molecule (empty strings count as invalid)."""
    items = _as_smiles_list(smiles, "smiles")
    return len(_valid_canonical(items)) / len(items)


def uniqueness(smiles: Sequence[str]) -> float:
    """Distinct valid molecules (after canonicalization) divided by the number of valid ones.

    ``ValueError`` if no string is a valid molecule (uniqueness is then undefined).
    """
    valid = _valid_canonical(_as_smiles_list(smiles, "smiles"))
    if not valid:
        raise ValueError("uniqueness is undefined: none of the SMILES is a valid molecule (validity is 0)")
    return len(set(valid)) / len(valid)


def novelty(smiles: Sequence[str], reference: Sequence[str] | ReferenceSet) -> float:
    """Fraction of the distinct valid generated molecules that are not in ``reference``.

    Both sides are canonicalized, so a training molecule written differently is not novel.
    ``reference`` is the training set (a list of SMILES) or a :class:`ReferenceSet`.
    """
    valid = set(_valid_canonical(_as_smiles_list(smiles, "smiles")))
    if not valid:
        raise ValueError("novelty is undefined: none of the SMILES is a valid molecule (validity is 0)")
    ref = reference if isinstance(reference, ReferenceSet) else prepare_reference(reference, fcd=False)
    return len(valid - ref.canonical) / len(valid)


def _fingerprints(canonical: Sequence[str]) -> list:
    gen = _fp_generator()
    return [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in canonical]


def _mean_pairwise_similarity(fps: list) -> float:
    n = len(fps)
    total = 0.0
    for i in range(n - 1):
        total += float(np.sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:])))
    return total / (n * (n - 1) / 2)


def internal_diversity(smiles: Sequence[str], max_molecules: int | None = 2000, seed: int = 0) -> float:
    """``1 -`` mean Tanimoto similarity over distinct pairs of valid molecules (Morgan r=2, 2048 bits).

    0 means every molecule is the same; values near 0.9 are typical of drug-like libraries.
    With more than ``max_molecules`` valid molecules a fixed random subset of that size is used
    (the pair count grows quadratically). ``ValueError`` with fewer than two valid molecules.
    """
    valid = _valid_canonical(_as_smiles_list(smiles, "smiles"))
    if len(valid) < 2:
        raise ValueError(f"internal diversity needs at least 2 valid molecules, got {len(valid)}")
    if max_molecules is not None and len(valid) > max_molecules:
        idx = np.random.default_rng(seed).choice(len(valid), size=max_molecules, replace=False)
        valid = [valid[i] for i in sorted(idx)]
    return 1.0 - _mean_pairwise_similarity(_fingerprints(valid))


@lru_cache(maxsize=200_000)
def _scaffold(canonical: str) -> str:
    with BlockLogs():
        return MurckoScaffold.MurckoScaffoldSmiles(mol=Chem.MolFromSmiles(canonical))


def scaffold_diversity(smiles: Sequence[str]) -> float:
    """Distinct Bemis-Murcko scaffolds divided by the number of valid molecules (0 < value <= 1).

    Acyclic molecules share the empty scaffold. ``ValueError`` if no molecule is valid.
    """
    valid = _valid_canonical(_as_smiles_list(smiles, "smiles"))
    if not valid:
        raise ValueError("scaffold diversity is undefined: none of the SMILES is a valid molecule")
    return len({_scaffold(s) for s in valid}) / len(valid)


# ----------------------------------------------------------------------------- distributions
def _descriptor_matrix(canonical: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(canonical), len(_KL_SPEC)), dtype=np.float64)
    for i, s in enumerate(canonical):
        mol = Chem.MolFromSmiles(s)
        out[i] = [fn(mol) for _, fn, _ in _KL_SPEC]
    return out


def _nearest_neighbour_similarity(canonical: Sequence[str]) -> np.ndarray:
    fps = _fingerprints(canonical)
    out = np.zeros(len(fps))
    for i, fp in enumerate(fps):
        sims = np.asarray(DataStructs.BulkTanimotoSimilarity(fp, fps))
        sims[i] = -1.0
        out[i] = sims.max()
    return out


def _discrete_kl(p_sample: np.ndarray, q_sample: np.ndarray) -> float:
    from scipy.stats import entropy

    # GuacaMol's 10 bins over the reference's range; counts divided by the sample size, so a
    # generated set that falls entirely outside that range gives a large KL, not a division by 0
    p, bins = np.histogram(p_sample, bins=10)
    q, _ = np.histogram(q_sample, bins=bins)
    return float(entropy(p / len(p_sample) + 1e-10, q / len(q_sample) + 1e-10))


def _continuous_kl(p_sample: np.ndarray, q_sample: np.ndarray) -> float:
    from scipy.stats import entropy, gaussian_kde

    if np.ptp(p_sample) == 0 or np.ptp(q_sample) == 0:
        return _discrete_kl(p_sample, q_sample)  # a kernel density of a constant is singular
    grid = np.linspace(min(p_sample.min(), q_sample.min()), max(p_sample.max(), q_sample.max()), 1000)
    p = gaussian_kde(p_sample)(grid) + 1e-10
    q = gaussian_kde(q_sample)(grid) + 1e-10
    return float(entropy(p, q))


def descriptor_kl(smiles: Sequence[str], reference: Sequence[str] | ReferenceSet) -> dict[str, float]:
    """GuacaMol's KL divergences ``KL(reference || generated)`` per descriptor, and their score.

    Uses the distinct valid generated molecules (at least 2). Returns one entry per name in
    :data:`KL_DESCRIPTORS` and ``"score"`` = mean of ``exp(-KL)`` (1 = same distributions).
    """
    valid = _unique(_valid_canonical(_as_smiles_list(smiles, "smiles")))
    if len(valid) < 2:
        raise ValueError(f"descriptor KL needs at least 2 distinct valid molecules, got {len(valid)}")
    ref = reference if isinstance(reference, ReferenceSet) else prepare_reference(reference, fcd=False)
    gen_desc = _descriptor_matrix(valid)
    out: dict[str, float] = {}
    for j, (name, _, discrete) in enumerate(_KL_SPEC):
        kl = _discrete_kl if discrete else _continuous_kl
        out[name] = kl(ref.descriptors[:, j], gen_desc[:, j])
    out["InternalSimilarity"] = _continuous_kl(ref.nn_similarity, _nearest_neighbour_similarity(valid))
    out["score"] = float(np.mean([math.exp(-out[k]) for k in KL_DESCRIPTORS]))
    return out


# ----------------------------------------------------------------------------- FCD
@lru_cache(maxsize=1)
def _chemnet() -> Any:
    try:
        import fcd
    except ImportError as err:  # pragma: no cover - fcd is a declared dependency
        raise ImportError("FCD needs the 'fcd' package (pip install fcd); it ships the ChemNet weights") from err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fcd.load_ref_model()


def _chemnet_stats(canonical: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    import torch
    from fcd.utils import SmilesDataset

    model = _chemnet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SMILES over 349 characters: fcd warns that it pads longer
        ds = SmilesDataset(list(canonical))
    acts = []
    with torch.no_grad():
        for start in range(0, len(ds), 256):
            batch = torch.stack([torch.as_tensor(ds[i]) for i in range(start, min(start + 256, len(ds)))])
            acts.append(model(batch.transpose(1, 2).float()).numpy().astype(np.float64))
    a = np.vstack(acts)
    return a.mean(axis=0), np.cov(a.T)


def _frechet(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    from fcd.utils import calculate_frechet_distance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(calculate_frechet_distance(mu1=mu1, sigma1=s1, mu2=mu2, sigma2=s2))


def fcd_score(smiles: Sequence[str], reference: Sequence[str] | ReferenceSet) -> float:
    """Fréchet ChemNet Distance between the valid generated molecules and ``reference`` (lower is better).

    ChemNet (Preuer et al. 2018) runs on the CPU from the weights in the ``fcd`` wheel; no download.
    Needs at least 2 valid molecules on each side; the value is biased upwards for small sets,
    so compare generators only on samples of the same size.
    """
    valid = _valid_canonical(_as_smiles_list(smiles, "smiles"))
    if len(valid) < 2:
        raise ValueError(f"FCD needs at least 2 valid generated molecules, got {len(valid)}")
    ref = reference if isinstance(reference, ReferenceSet) else prepare_reference(reference, kl=False)
    if ref.fcd_mu is None or ref.fcd_sigma is None:
        raise ValueError("this ReferenceSet was prepared with fcd=False; call prepare_reference(..., fcd=True)")
    mu, sigma = _chemnet_stats(valid)
    return _frechet(mu, sigma, ref.fcd_mu, ref.fcd_sigma)


# ----------------------------------------------------------------------------- reference + all metrics
@dataclass(frozen=True)
class ReferenceSet:
    """A reference (training) set prepared once: canonical SMILES, descriptors, ChemNet statistics."""

    canonical: frozenset[str]
    descriptors: np.ndarray = field(repr=False)
    nn_similarity: np.ndarray = field(repr=False)
    fcd_mu: np.ndarray | None = field(default=None, repr=False)
    fcd_sigma: np.ndarray | None = field(default=None, repr=False)
    n_input: int = 0


def prepare_reference(
    reference: Sequence[str], fcd: bool = True, kl: bool = True, max_molecules: int = 5000, seed: int = 0
) -> ReferenceSet:
    """Canonicalize a reference set and precompute what the metrics compare against.

    Novelty uses every valid reference molecule; descriptor distributions and ChemNet statistics
    use a fixed random subset of at most ``max_molecules`` (enough for stable estimates, and
    cheap). ``ValueError`` if ``reference`` has fewer than 2 valid molecules.
    """
    items = _as_smiles_list(reference, "reference")
    canonical = _unique(_valid_canonical(items))
    if len(canonical) < 2:
        raise ValueError(f"reference needs at least 2 valid molecules, got {len(canonical)} of {len(items)}")
    sub = canonical
    if len(sub) > max_molecules:
        idx = np.random.default_rng(seed).choice(len(sub), size=max_molecules, replace=False)
        sub = [sub[i] for i in sorted(idx)]
    empty = np.zeros((0, 0))
    descriptors = _descriptor_matrix(sub) if kl else empty
    nn_sim = _nearest_neighbour_similarity(sub) if kl else empty
    mu = sigma = None
    if fcd:
        mu, sigma = _chemnet_stats(sub)
    return ReferenceSet(frozenset(canonical), descriptors, nn_sim, mu, sigma, len(items))


def generation_metrics(
    smiles: Sequence[str], reference: Sequence[str] | ReferenceSet, fcd: bool = True, kl: bool = True
) -> dict[str, float]:
    """Every metric of this module for one list of generated SMILES against ``reference``.

    Returns a dict with ``n`` (number of strings) and the keys of :data:`METRIC_NAMES`
    (``fcd``/``kl_score`` are left out when switched off). A metric that is undefined for this
    list (e.g. uniqueness when nothing is valid) is ``nan``, never an exception, so a table of
    generators can always be built; wrong input types and empty lists still raise.
    Pass a :class:`ReferenceSet` from :func:`prepare_reference` when scoring several generators.
    """
    items = _as_smiles_list(smiles, "smiles")
    if isinstance(reference, ReferenceSet):
        ref = reference
        if fcd and ref.fcd_mu is None:
            raise ValueError("this ReferenceSet was prepared with fcd=False; pass fcd=False or prepare it with fcd=True")
        if kl and ref.descriptors.size == 0:
            raise ValueError("this ReferenceSet was prepared with kl=False; pass kl=False or prepare it with kl=True")
    else:
        ref = prepare_reference(reference, fcd=fcd, kl=kl)

    def safe(fn, *args) -> float:
        try:
            return float(fn(*args))
        except ValueError:
            return float("nan")

    out: dict[str, float] = {
        "n": float(len(items)),
        "validity": validity(items),
        "uniqueness": safe(uniqueness, items),
        "novelty": safe(novelty, items, ref),
        "internal_diversity": safe(internal_diversity, items),
        "scaffold_diversity": safe(scaffold_diversity, items),
    }
    if kl:
        try:
            out["kl_score"] = descriptor_kl(items, ref)["score"]
        except ValueError:
            out["kl_score"] = float("nan")
    if fcd:
        out["fcd"] = safe(fcd_score, items, ref)
    return out
