"""Generative models of molecules and how to judge them (the "Generative models" part of the book).

``metrics`` scores a list of generated SMILES against a reference set (validity, uniqueness,
novelty, diversity, GuacaMol's descriptor KL, the Fréchet ChemNet Distance).
"""

from .metrics import (
    KL_DESCRIPTORS,
    METRIC_NAMES,
    ReferenceSet,
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

__all__ = [
    "KL_DESCRIPTORS",
    "METRIC_NAMES",
    "ReferenceSet",
    "canonicalize",
    "descriptor_kl",
    "fcd_score",
    "generation_metrics",
    "internal_diversity",
    "novelty",
    "prepare_reference",
    "scaffold_diversity",
    "uniqueness",
    "validity",
]
