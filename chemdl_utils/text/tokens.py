"""SMILES as sequences of tokens: tokenizer, vocabulary, integer encoding, one-hot, randomized SMILES.

>>> tokens = tokenize_smiles("CC(=O)Oc1ccccc1C(=O)O")          # aspirin
>>> tokens[:6]
['C', 'C', '(', '=', 'O', ')']
>>> vocab = Vocabulary.build([tokens])
>>> ids, lengths = encode_smiles(["CC(=O)O"], vocab)              # <bos> C C ( = O ) O <eos>
>>> ids.shape, lengths.tolist()
(torch.Size([1, 9]), [9])
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Iterable, Sequence

import torch

__all__ = [
    "SMILES_REGEX",
    "SPECIAL_TOKENS",
    "tokenize_smiles",
    "Vocabulary",
    "encode_smiles",
    "one_hot",
    "randomize_smiles",
]

#: the atom-level SMILES regex of the Molecular Transformer (Schwaller et al., ACS Cent. Sci. 2019):
#: a bracket atom ``[...]``, a two-letter halogen (Br, Cl), an organic-subset atom, a bond, a branch,
#: a ring-closure digit or ``%nn``, and the rarer SMILES/SMARTS symbols.
SMILES_REGEX = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])"
)

#: special tokens, always the first four ids of a :class:`Vocabulary`
SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<bos>", "<eos>", "<unk>")


def tokenize_smiles(smiles: str) -> list[str]:
    """Split a SMILES string into atom-level tokens (``"".join(tokens) == smiles``).

    ``"Cl"``, ``"Br"``, bracket atoms such as ``"[nH]"`` or ``"[C@@H]"`` and two-digit ring closures
    ``"%10"`` are single tokens; every other character is its own token.

    Raises ``TypeError`` for a non-string and ``ValueError`` for an empty string or a character the
    tokenizer does not know (the message names its position), e.g. a space or an unclosed ``[``.

    >>> tokenize_smiles("c1ccc(Br)cc1[N+](=O)[O-]")
    ['c', '1', 'c', 'c', 'c', '(', 'Br', ')', 'c', 'c', '1', '[N+]', '(', '=', 'O', ')', '[O-]']
    """
    if not isinstance(smiles, str):
        raise TypeError(f"tokenize_smiles expects one SMILES string, got {type(smiles).__name__}: {smiles!r}")
    if not smiles:
        raise ValueError("tokenize_smiles got an empty SMILES string; pass a molecule such as 'CCO'.")
    tokens: list[str] = []
    position = 0
    for match in SMILES_REGEX.finditer(smiles):
        if match.start() != position:
            break
        tokens.append(match.group())
        position = match.end()
    if position != len(smiles):
        char = smiles[position]
        hint = " (an unclosed bracket atom?)" if char == "[" else ""
        raise ValueError(
            f"cannot tokenize SMILES {smiles!r}: character {char!r} at position {position} is not a "
            f"SMILES token{hint}. Check the SMILES (RDKit's Chem.MolFromSmiles tells whether it is valid)."
        )
    return tokens


class Vocabulary:
    """A bijection between tokens and integer ids, with four special tokens first.

    ``<pad>`` = 0 (fills short sequences), ``<bos>`` = 1 (begin of sequence), ``<eos>`` = 2 (end),
    ``<unk>`` = 3 (a token the vocabulary has not seen). Build it from tokenized training SMILES
    with :meth:`build`; ordinary tokens follow by decreasing count, ties alphabetically.
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a Vocabulary's first tokens must be {list(SPECIAL_TOKENS)}, got {tokens[:4]}")
        if len(set(tokens)) != len(tokens):
            dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"a Vocabulary's tokens must be distinct; repeated: {dupes}")
        self.itos: list[str] = tokens
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(tokens)}

    pad_id = 0
    bos_id = 1
    eos_id = 2
    unk_id = 3

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_count: int = 1) -> "Vocabulary":
        """Vocabulary of every token that occurs at least ``min_count`` times in ``token_lists``.

        ``token_lists`` is an iterable of token lists (``[tokenize_smiles(s) for s in smiles]``);
        passing plain strings raises ``TypeError`` (they would be split into characters, and
        ``"Cl"`` would become ``"C"`` + ``"l"``): use :meth:`from_smiles` for SMILES.
        """
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
        counts: Counter[str] = Counter()
        for i, tokens in enumerate(token_lists):
            if isinstance(tokens, str):
                raise TypeError(
                    f"Vocabulary.build expects lists of tokens, but item {i} is the string {tokens!r}; "
                    "tokenize first ([tokenize_smiles(s) for s in smiles]) or use Vocabulary.from_smiles."
                )
            counts.update(tokens)
        clash = sorted(set(counts) & set(SPECIAL_TOKENS))
        if clash:
            raise ValueError(f"the data contain special tokens {clash}; they are reserved")
        ordinary = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if not ordinary:
            raise ValueError("no token occurs often enough to enter the vocabulary (empty data or min_count too high)")
        return cls([*SPECIAL_TOKENS, *ordinary])

    @classmethod
    def from_smiles(cls, smiles: Iterable[str], min_count: int = 1) -> "Vocabulary":
        """:meth:`build` on ``[tokenize_smiles(s) for s in smiles]``."""
        if isinstance(smiles, str):
            raise TypeError("Vocabulary.from_smiles expects a list of SMILES, not one string; wrap it: [smiles]")
        return cls.build((tokenize_smiles(s) for s in smiles), min_count=min_count)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def __repr__(self) -> str:
        shown = " ".join(self.itos[4:14]) + (" ..." if len(self) > 14 else "")
        return f"Vocabulary({len(self)} tokens: 4 special + {shown})"

    def encode(self, tokens: Sequence[str], add_special: bool = True) -> list[int]:
        """Token ids of ``tokens`` (unknown tokens become ``unk_id``), wrapped in <bos> ... <eos>
        when ``add_special``. A string is refused (``TypeError``): tokenize it first."""
        if isinstance(tokens, str):
            raise TypeError(f"Vocabulary.encode expects a list of tokens, got the string {tokens!r}; use tokenize_smiles first")
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return [self.bos_id, *ids, self.eos_id] if add_special else ids

    def decode(self, ids: Iterable[int] | torch.Tensor, strip_special: bool = True) -> list[str]:
        """Tokens of ``ids``. With ``strip_special`` (default) <bos> and <pad> are dropped and
        decoding stops at the first <eos>; <unk> stays as ``"<unk>"``."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode expects one sequence (1-D ids), got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        out: list[str] = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self):
                raise ValueError(f"token id {i} is outside this vocabulary (0..{len(self) - 1})")
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i])
        return out

    def to_json(self) -> str:
        """The vocabulary as JSON (``{"tokens": [...]}``), for saving next to a model."""
        return json.dumps({"tokens": self.itos})

    @classmethod
    def from_json(cls, text: str) -> "Vocabulary":
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or "tokens" not in data:
            raise ValueError('Vocabulary JSON must be an object with a "tokens" list')
        return cls(data["tokens"])


def encode_smiles(
    smiles_list: Sequence[str],
    vocab: Vocabulary,
    max_len: int | None = None,
    add_special: bool = True,
    truncate: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize and encode SMILES into a right-padded id matrix.

    Returns ``(ids, lengths)``: ``ids`` a ``LongTensor[B, T]`` filled with ``vocab.pad_id`` after
    each sequence, ``lengths`` a ``LongTensor[B]`` of non-pad tokens (specials included). ``T`` is
    ``max_len`` when given (a fixed width, e.g. for a CNN), else the longest sequence. A sequence
    longer than ``max_len`` raises ``ValueError`` unless ``truncate=True`` (it is then cut to
    ``max_len`` tokens and loses its <eos>).
    """
    if isinstance(smiles_list, str):
        raise TypeError(f"encode_smiles expects a list of SMILES, got one string {smiles_list!r}; wrap it: [smiles]")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    smiles_list = list(smiles_list)
    if not smiles_list:
        raise ValueError("encode_smiles got an empty list of SMILES")
    if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"max_len must be a positive int or None, got {max_len!r}")
    encoded = [vocab.encode(tokenize_smiles(s), add_special=add_special) for s in smiles_list]
    longest = max(len(e) for e in encoded)
    width = longest if max_len is None else max_len
    if max_len is not None and longest > max_len and not truncate:
        row = max(range(len(encoded)), key=lambda i: len(encoded[i]))
        raise ValueError(
            f"SMILES {row} ({smiles_list[row]!r}) has {len(encoded[row])} tokens"
            f"{' including <bos>/<eos>' if add_special else ''}, more than max_len={max_len}; "
            "raise max_len, drop long molecules, or pass truncate=True."
        )
    ids = torch.full((len(encoded), width), vocab.pad_id, dtype=torch.long)
    lengths = torch.empty(len(encoded), dtype=torch.long)
    for row, seq in enumerate(encoded):
        seq = seq[:width]
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        lengths[row] = len(seq)
    return ids, lengths


def one_hot(ids: torch.Tensor, vocab_size: int, pad_id: int = 0) -> torch.Tensor:
    """One-hot ``FloatTensor[B, T, vocab_size]`` of ``ids`` (``LongTensor[B, T]``); padding
    positions (``pad_id``) become all-zero rows, so they carry no signal into a model."""
    if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.long, torch.int32, torch.int64):
        raise TypeError(f"ids must be an integer torch tensor, got {type(ids).__name__}"
                        f"{' of dtype ' + str(ids.dtype) if isinstance(ids, torch.Tensor) else ''}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1} (vocab_size={vocab_size}); found {int(ids.min())}..{int(ids.max())}")
    out = torch.nn.functional.one_hot(ids.long(), vocab_size).float()
    return out * (ids != pad_id).unsqueeze(-1).float()


def randomize_smiles(smiles: str, n: int, seed: int = 0, isomeric: bool = True) -> list[str]:
    """``n`` SMILES of the same molecule written from random atom orders (RDKit ``doRandom``).

    Deterministic for a given ``seed`` (RDKit's ``MolToRandomSmilesVect``); strings may repeat for
    small molecules. Every output parses back to the same canonical SMILES. An unparsable input
    raises ``ValueError``.
    """
    from rdkit import Chem

    from .._rdkit import quiet_rdkit

    if not isinstance(smiles, str) or not smiles:
        raise ValueError(f"randomize_smiles expects a non-empty SMILES string, got {smiles!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}; randomize_smiles needs a valid molecule")
    if not isomeric:
        Chem.RemoveStereochemistry(mol)
    return list(Chem.MolToRandomSmilesVect(mol, n, randomSeed=int(seed) % 2**31))
