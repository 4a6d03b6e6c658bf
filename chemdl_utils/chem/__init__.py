"""Chemistry to tensors: SMILES -> RDKit molecule -> lecture features -> PyG graph."""

from .batch import FeaturizationFailure, FeaturizationResult, featurize_many
from .encoding import (
    ATOM_ONE_HOT_DIM,
    BOND_ONE_HOT_DIM,
    atom_categories,
    bond_categories,
    one_hot_atoms,
    one_hot_bonds,
)
from .features import (
    FEATURIZATION_VERSION,
    LECTURE_ATOM_FEATURES,
    LECTURE_BOND_FEATURES,
    Feature,
    Featurizer,
    atom_features,
    bond_features,
)
from .fingerprints import DESCRIPTOR_NAMES, morgan_fingerprints, rdkit_descriptors
from .graph import mol_to_graph, smiles_to_graph
from .mol import InvalidSmilesError, mol_from_smiles, quiet_rdkit
from .tables import atom_table, bond_table, feature_table

__all__ = [
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
]
