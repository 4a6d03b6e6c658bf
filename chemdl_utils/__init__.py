"""chemdl_utils: the small, tested library behind the *Deep Learning in Chemistry* course.

Chapters, exercises, tests and benchmarks all import from here, so a chapter cell, an exercise
check and a benchmark call the same code. Names are loaded lazily: ``import chemdl_utils`` is
instant, and torch / RDKit are imported the first time a name that needs them is used.

The public API is ``__all__`` below (``chemdl_utils.progress.progress`` is the shared progress bar); every name is documented in ``docs/api.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# module -> public names it provides (each module's own ``__all__``; tests keep them in sync)
_EXPORTS: dict[str, tuple[str, ...]] = {
    "device": (
        "get_device",
        "device_summary",
        "seed_everything",
        "is_gpu",
    ),
    "chem": (
        "DESCRIPTOR_NAMES",
        "morgan_fingerprints",
        "rdkit_descriptors",
        "ATOM_ONE_HOT_DIM",
        "BOND_ONE_HOT_DIM",
        "FEATURIZATION_VERSION",
        "LECTURE_ATOM_FEATURES",
        "LECTURE_BOND_FEATURES",
        "Feature",
        "FeaturizationFailure",
        "FeaturizationResult",
        "Featurizer",
        "InvalidSmilesError",
        "atom_categories",
        "atom_features",
        "atom_table",
        "bond_categories",
        "bond_features",
        "bond_table",
        "feature_table",
        "featurize_many",
        "mol_from_smiles",
        "mol_to_graph",
        "one_hot_atoms",
        "one_hot_bonds",
        "quiet_rdkit",
        "smiles_to_graph",
    ),
    "data": (
        "DatasetError",
        "DatasetInfo",
        "MoleculeGraphDataset",
        "cache_dir",
        "dataset_info",
        "dataset_status",
        "list_datasets",
        "load_conformers",
        "load_dataset",
        "murcko_scaffold",
        "random_split",
        "scaffold_split",
    ),
    "nn": (
        "MLP",
        "MolGNN",
        "AttentionPooling",
        "ScaleShift",
        "global_pool",
        "POOLINGS",
    ),
    "nn.cnn": (
        "conv1d_scratch",
        "conv2d_scratch",
        "max_pool2d_scratch",
        "conv_output_size",
        "receptive_field",
        "SmilesCNN",
        "ImageCNN",
    ),
    "nn.classic": (
        "perceptron_update",
        "Perceptron",
        "HopfieldNetwork",
        "SelfOrganizingMap",
        "RBFNetwork",
    ),
    "chem.raster": (
        "RASTER_CHANNELS",
        "rasterize_molecule",
        "rasterize_molecules",
        "molecule_extent",
    ),
    "train": (
        "History",
        "NonFiniteLossError",
        "fit",
        "predict",
        "evaluate",
        "regression_metrics",
        "classification_metrics",
    ),
    "plots": (
        "plot_learning_curves",
        "parity_plot",
        "metrics_table",
        "draw_molecule",
        "draw_molecules",
        "molecule_graph_figure",
    ),
    "activations": (
        "Activation",
        "ACTIVATIONS",
        "get_activation",
        "sigmoid",
        "sigmoid_grad",
        "leaky_relu",
        "leaky_relu_grad",
        "tanh",
        "tanh_grad",
        "maxout",
        "maxout_grad",
        "relu",
        "relu_grad",
        "elu",
        "elu_grad",
        "activation_table",
        "init_221",
        "forward_221",
        "backprop_221",
        "autograd_221",
    ),
    "widgets": (
        "ParamSpec",
        "EXPLORER_PARAMS",
        "neuron_curves",
        "activation_explorer",
        "static_molecule_box",
    ),
    "checks": (
        "CheckFailed",
        "describe",
        "check_type",
        "check_float",
        "check_int",
        "check_in_range",
        "check_array",
        "check_tensor",
        "check_dataframe",
        "check_graph",
        "check_callable",
        "check_module",
        "question",
        "type_mistake_hint",
    ),
    "nn.seq": (
        "Seq2Seq",
        "train_seq2seq",
        "seq2seq_loss",
        "padding_mask",
    ),
    "nn.transformer": (
        "scaled_dot_product_attention",
        "causal_mask",
        "MultiHeadAttention",
        "sinusoidal_positions",
        "SmilesTransformer",
        "mask_tokens",
        "pretrain_masked",
        "finetune_regressor",
    ),
    "text": (
        "SMILES_REGEX",
        "SPECIAL_TOKENS",
        "SmilesLanguageModel",
        "Vocabulary",
        "encode_smiles",
        "evaluate_language_model",
        "language_model_loss",
        "one_hot",
        "randomize_smiles",
        "tokenize_smiles",
        "train_language_model",
    ),
    "generative": (
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
    ),
}

_NAME_TO_MODULE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *sorted(_NAME_TO_MODULE)]


def __getattr__(name: str) -> Any:
    module = _NAME_TO_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'chemdl_utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
