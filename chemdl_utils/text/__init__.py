"""Molecules as text: SMILES tokenizer, vocabulary, encoding, randomized SMILES, a SMILES language model.

>>> from chemdl_utils.text import tokenize_smiles, Vocabulary, encode_smiles
>>> smiles = ["CCO", "c1ccccc1O", "CC(=O)Cl"]
>>> vocab = Vocabulary.from_smiles(smiles)
>>> ids, lengths = encode_smiles(smiles, vocab)   # LongTensor[3, T] right-padded with vocab.pad_id

Used by the sequences, architectures (1D CNN over one-hot SMILES) and generative parts.
"""

from __future__ import annotations

from .lm import SmilesLanguageModel, evaluate_language_model, language_model_loss, train_language_model
from .tokens import (
    SMILES_REGEX,
    SPECIAL_TOKENS,
    Vocabulary,
    encode_smiles,
    one_hot,
    randomize_smiles,
    tokenize_smiles,
)

__all__ = [
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
]
