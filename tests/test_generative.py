"""Generative part: generation metrics (and the models and samplers of chemdl_utils.generative)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemdl_utils.generative import (
    KL_DESCRIPTORS,
    METRIC_NAMES,
    canonicalize,
    descriptor_kl,
    fcd_score,
    generation_metrics,
    internal_diversity,
    novelty,
    prepare_reference,
    scaffold_diversity,
    uniqueness,
    validity,
)

REF = [
    "CCO", "CCN", "CCC", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)Nc1ccc(O)cc1", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "O=C(O)c1ccccc1O", "CCOC(=O)c1ccccc1", "c1ccc2ccccc2c1", "C1CCCCC1", "CCCCCCO",
    "Nc1ccccc1", "Clc1ccccc1", "OCC(O)CO", "CC(C)O", "C1CCNCC1", "c1ccoc1",
]


# ----------------------------------------------------------------------------- simple metrics
def test_canonicalize():
    assert canonicalize("OCC") == canonicalize("C(O)C") == "CCO"
    assert canonicalize("C1CC") is None
    assert canonicalize("") is None
    with pytest.raises(TypeError, match="SMILES str"):
        canonicalize(None)  # type: ignore[arg-type]


def test_validity_counts_invalid_and_empty_strings():
    assert validity(["CCO", "C1CC", "", "c1ccccc1"]) == pytest.approx(0.5)
    assert validity(("CCO",)) == 1.0
    assert validity(["xyz"]) == 0.0


def test_uniqueness_is_after_canonicalization_and_over_valid_only():
    # "CCO" and "OCC" are one molecule; the invalid string does not enter the denominator
    assert uniqueness(["CCO", "OCC", "C(C)O", "CCN", "C1CC"]) == pytest.approx(2 / 4)
    assert uniqueness(["CCO", "CCN"]) == 1.0
    with pytest.raises(ValueError, match="none of the SMILES is a valid"):
        uniqueness(["C1CC", "("])


def test_novelty_canonicalizes_both_sides_and_counts_distinct_molecules():
    ref = ["OCC", "c1ccccc1"]
    # CCO (in ref, written differently), CCN twice (novel, counted once), invalid ignored
    assert novelty(["CCO", "CCN", "NCC", "C1CC"], ref) == pytest.approx(1 / 2)
    assert novelty(["C1=CC=CC=C1"], ref) == 0.0  # Kekulé benzene is benzene
    with pytest.raises(ValueError, match="valid"):
        novelty(["C1CC"], ref)


def test_internal_diversity_and_scaffolds():
    assert internal_diversity(["CCO", "OCC"]) == pytest.approx(0.0)
    d = internal_diversity(["CCO", "c1ccccc1", "CCCCCCCCN"])
    assert 0.5 < d <= 1.0
    # two benzene scaffolds + one empty (acyclic) scaffold over four valid molecules
    assert scaffold_diversity(["Cc1ccccc1", "Oc1ccccc1", "CCO", "C1CC"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least 2 valid"):
        internal_diversity(["CCO", "C1CC"])


def test_internal_diversity_subsample_is_reproducible():
    mols = REF * 3
    assert internal_diversity(mols, max_molecules=10, seed=1) == internal_diversity(mols, max_molecules=10, seed=1)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [validity, uniqueness, scaffold_diversity, internal_diversity])
def test_bad_input_raises_clear_errors(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([])
    with pytest.raises(TypeError, match="single string"):
        fn("CCO")
    with pytest.raises(TypeError, match=r"smiles\[1\] is NoneType"):
        fn(["CCO", None])
    with pytest.raises(TypeError, match="list of SMILES"):
        fn(42)


def test_reference_must_have_valid_molecules():
    with pytest.raises(ValueError, match="reference needs at least 2 valid"):
        prepare_reference(["C1CC", "CCO"], fcd=False)
    with pytest.raises(ValueError, match="reference is empty"):
        novelty(["CCO"], [])


def test_pandas_series_accepted():
    pd = pytest.importorskip("pandas")
    assert validity(pd.Series(["CCO", "C1CC"])) == 0.5


# ----------------------------------------------------------------------------- distributions
def test_descriptor_kl_identical_sets_score_higher_than_shifted():
    same = descriptor_kl(REF, REF)
    assert set(KL_DESCRIPTORS) | {"score"} == set(same)
    assert all(same[k] == pytest.approx(0.0, abs=1e-6) for k in KL_DESCRIPTORS)
    assert same["score"] == pytest.approx(1.0, abs=1e-6)
    alkanes = ["C" * n for n in range(3, 15)]
    shifted = descriptor_kl(alkanes, REF)
    assert shifted["score"] < 0.8
    assert all(v >= 0 for v in shifted.values())


def test_fcd_is_zero_for_identical_sets_and_grows_with_difference():
    ref = prepare_reference(REF)
    assert fcd_score(REF, ref) == pytest.approx(0.0, abs=1e-3)
    near = fcd_score(REF[:15] + ["CCCO", "CCCN", "c1ccsc1", "CC(C)N", "OCCO"], ref)
    far = fcd_score(["C" * n for n in range(3, 23)], ref)
    assert 0 < near < far


def test_generation_metrics_all_keys_and_nan_for_undefined():
    ref = prepare_reference(REF)
    m = generation_metrics(["CCO", "CCO", "c1ccccc1Br", "C1CC"], ref)
    assert set(m) == {"n", *METRIC_NAMES}
    assert m["n"] == 4 and m["validity"] == pytest.approx(0.75) and m["uniqueness"] == pytest.approx(2 / 3)
    assert m["novelty"] == pytest.approx(0.5)  # CCO in the reference, bromobenzene not
    bad = generation_metrics(["C1CC", "(("], ref)
    assert bad["validity"] == 0.0
    assert all(math.isnan(bad[k]) for k in METRIC_NAMES if k != "validity")
    light = generation_metrics(["CCO", "CCN"], REF, fcd=False, kl=False)
    assert "fcd" not in light and "kl_score" not in light
    no_fcd = prepare_reference(REF, fcd=False)
    with pytest.raises(ValueError, match="fcd=False"):
        generation_metrics(["CCO", "CCN"], no_fcd)
    assert np.isfinite(generation_metrics(["CCO", "CCN"], no_fcd, fcd=False)["kl_score"])
