"""chemdl_utils.text: tokenizer, vocabulary, encoding, randomized SMILES, language model; the moses set."""

from __future__ import annotations

import gzip
import re

import pytest
import torch
from rdkit import Chem

from chemdl_utils.data import dataset_info, load_dataset
from chemdl_utils.data import registry, sources
from chemdl_utils.text import (
    SPECIAL_TOKENS,
    SmilesLanguageModel,
    Vocabulary,
    encode_smiles,
    language_model_loss,
    one_hot,
    randomize_smiles,
    tokenize_smiles,
    train_language_model,
)

SMILES = ["CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "ClC(Cl)Br", "C[C@@H](N)C(=O)O", "C1CC2CCC1CC2"]


# --- tokenizer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "smiles, tokens",
    [
        ("CCO", ["C", "C", "O"]),
        ("ClCBr", ["Cl", "C", "Br"]),
        ("c1cc[nH]c1", ["c", "1", "c", "c", "[nH]", "c", "1"]),
        ("C[C@@H](O)F", ["C", "[C@@H]", "(", "O", ")", "F"]),
        ("[N+](=O)[O-]", ["[N+]", "(", "=", "O", ")", "[O-]"]),
        ("C%12CC%12", ["C", "%12", "C", "C", "%12"]),
        ("F/C=C\\F", ["F", "/", "C", "=", "C", "\\", "F"]),
        ("C#N.[Na+]", ["C", "#", "N", ".", "[Na+]"]),
        ("Bc1ccsc1", ["B", "c", "1", "c", "c", "s", "c", "1"]),
    ],
)
def test_tokenize_known_cases(smiles, tokens):
    assert tokenize_smiles(smiles) == tokens
    assert "".join(tokens) == smiles


def test_tokenize_round_trips_on_moses():
    for smi in load_dataset("moses")["smiles"].iloc[:2000]:
        assert "".join(tokenize_smiles(smi)) == smi


@pytest.mark.parametrize(
    "bad, position, char",
    [("CC O", 2, " "), ("C[NH", 1, "["), ("CCX", 2, "X"), ("c1ccccc1Q", 8, "Q"), ("C%1C", 1, "%")],
)
def test_tokenize_bad_input_names_position_and_character(bad, position, char):
    with pytest.raises(ValueError, match=re.escape(f"character {char!r} at position {position}")):
        tokenize_smiles(bad)


def test_tokenize_empty_and_non_string():
    with pytest.raises(ValueError, match="empty SMILES"):
        tokenize_smiles("")
    with pytest.raises(TypeError, match="one SMILES string"):
        tokenize_smiles(["CCO"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unclosed bracket"):
        tokenize_smiles("C[C@H")


# --- vocabulary ----------------------------------------------------------------------------


def test_vocabulary_specials_order_and_counts():
    vocab = Vocabulary.from_smiles(["CCO", "CCN", "CCl"])
    assert vocab.itos[:4] == list(SPECIAL_TOKENS)
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    # C occurs 6 times, then N, O, Cl once each (ties alphabetical)
    assert vocab.itos[4:] == ["C", "Cl", "N", "O"]
    assert len(vocab) == 8 and vocab.stoi["O"] == 7 and "Br" not in vocab


def test_vocabulary_min_count_and_bad_input():
    vocab = Vocabulary.build([["C", "C", "O"], ["C", "N"]], min_count=2)
    assert vocab.itos[4:] == ["C"]
    with pytest.raises(TypeError, match="lists of tokens.*'CCO'"):
        Vocabulary.build(["CCO", "CCN"])
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build([["C"]], min_count=0)
    with pytest.raises(ValueError, match="no token"):
        Vocabulary.build([])
    with pytest.raises(ValueError, match="reserved"):
        Vocabulary.build([["C", "<pad>"]])
    with pytest.raises(TypeError, match="not one string"):
        Vocabulary.from_smiles("CCO")
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary([*SPECIAL_TOKENS, "C", "C"])


def test_encode_decode_unknown_and_special():
    vocab = Vocabulary.from_smiles(["CCO"])
    ids = vocab.encode(tokenize_smiles("CCN"))
    assert ids == [1, vocab.stoi["C"], vocab.stoi["C"], vocab.unk_id, 2]
    assert vocab.encode(["C"], add_special=False) == [vocab.stoi["C"]]
    assert vocab.decode(ids) == ["C", "C", "<unk>"]
    assert vocab.decode([1, 4, 2, 4, 0]) == ["C"]  # stops at <eos>
    assert vocab.decode([1, 4, 2, 0], strip_special=False) == ["<bos>", "C", "<eos>", "<pad>"]
    assert vocab.decode(torch.tensor([1, 4, 5, 2])) == [vocab.itos[4], vocab.itos[5]]
    with pytest.raises(ValueError, match="outside this vocabulary"):
        vocab.decode([99])
    with pytest.raises(TypeError, match="tokenize_smiles first"):
        vocab.encode("CCO")  # type: ignore[arg-type]


def test_vocabulary_json_round_trip():
    vocab = Vocabulary.from_smiles(SMILES)
    again = Vocabulary.from_json(vocab.to_json())
    assert again == vocab and again.stoi == vocab.stoi
    with pytest.raises(ValueError, match="tokens"):
        Vocabulary.from_json("[1, 2]")


# --- encode_smiles / one_hot ---------------------------------------------------------------


def test_encode_smiles_pads_right_and_counts_lengths():
    vocab = Vocabulary.from_smiles(SMILES)
    ids, lengths = encode_smiles(["CCO", "C"], vocab)
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    c, o = vocab.stoi["C"], vocab.stoi["O"]
    assert ids.tolist() == [[1, c, c, o, 2], [1, c, 2, 0, 0]]
    assert lengths.tolist() == [5, 3]
    ids, lengths = encode_smiles(["CCO"], vocab, max_len=8, add_special=False)
    assert ids.tolist() == [[c, c, o, 0, 0, 0, 0, 0]] and lengths.tolist() == [3]


def test_encode_smiles_over_long_empty_and_unknown():
    vocab = Vocabulary.from_smiles(SMILES)
    with pytest.raises(ValueError, match=r"SMILES 1 \('CCCCCC'\) has 8 tokens.*max_len=5.*truncate=True"):
        encode_smiles(["CC", "CCCCCC"], vocab, max_len=5)
    ids, lengths = encode_smiles(["CC", "CCCCCC"], vocab, max_len=5, truncate=True)
    assert ids.shape == (2, 5) and lengths.tolist() == [4, 5] and vocab.eos_id not in ids[1].tolist()
    with pytest.raises(ValueError, match="empty list"):
        encode_smiles([], vocab)
    with pytest.raises(ValueError, match="empty SMILES"):
        encode_smiles(["CC", ""], vocab)
    with pytest.raises(TypeError, match="wrap it"):
        encode_smiles("CCO", vocab)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Vocabulary"):
        encode_smiles(["CCO"], {"C": 4})  # type: ignore[arg-type]
    ids, _ = encode_smiles(["CCI"], vocab)  # iodine never seen -> <unk>
    assert ids[0, 3].item() == vocab.unk_id


def test_one_hot_zeroes_padding():
    vocab = Vocabulary.from_smiles(SMILES)
    ids, lengths = encode_smiles(["CCO", "C"], vocab)
    x = one_hot(ids, len(vocab))
    assert x.shape == (2, 5, len(vocab)) and x.dtype == torch.float32
    assert torch.equal(x.sum(-1), (ids != 0).float())
    assert x[0, 1, vocab.stoi["C"]] == 1 and x[1, 3].abs().sum() == 0
    assert torch.equal(x.argmax(-1)[ids != 0], ids[ids != 0])
    with pytest.raises(ValueError, match="ids must lie in"):
        one_hot(ids, 3)
    with pytest.raises(TypeError, match="integer torch tensor"):
        one_hot(ids.float(), len(vocab))


# --- randomized SMILES ---------------------------------------------------------------------


def test_randomize_smiles_same_molecule_and_deterministic():
    smi = "CC(=O)Oc1ccccc1C(=O)O"
    variants = randomize_smiles(smi, 20, seed=3)
    assert len(variants) == 20 and len(set(variants)) > 5
    canon = Chem.CanonSmiles(smi)
    assert {Chem.CanonSmiles(v) for v in variants} == {canon}
    assert randomize_smiles(smi, 20, seed=3) == variants
    assert randomize_smiles(smi, 20, seed=4) != variants
    with pytest.raises(ValueError, match="cannot parse"):
        randomize_smiles("C1CC(", 3)
    with pytest.raises(ValueError, match="positive int"):
        randomize_smiles(smi, 0)


# --- language model ------------------------------------------------------------------------


def _tiny_lm(vocab, cell="lstm"):
    torch.manual_seed(0)
    return SmilesLanguageModel(len(vocab), embedding_dim=16, hidden_size=32, num_layers=1, cell=cell)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_shapes_and_log_likelihood(cell):
    vocab = Vocabulary.from_smiles(SMILES)
    model = _tiny_lm(vocab, cell)
    ids, lengths = encode_smiles(SMILES[:3], vocab)
    logits = model(ids)
    assert logits.shape == (3, ids.shape[1], len(vocab))
    with torch.no_grad():
        ll = model.log_likelihood(ids)
        logp = torch.log_softmax(model(ids[:, :-1]), -1)
    # reference: loop over the real (non-pad) targets of each sequence
    for b in range(3):
        ref = sum(logp[b, t, ids[b, t + 1]] for t in range(int(lengths[b]) - 1))
        assert ll[b].item() == pytest.approx(float(ref), rel=1e-5)
    # padding more does not change the likelihood
    wider = torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    assert torch.allclose(model.log_likelihood(wider), ll, atol=1e-5)
    loss = language_model_loss(model, ids)
    assert loss.item() == pytest.approx(-ll.sum().item() / float((lengths - 1).sum()), rel=1e-5)
    with pytest.raises(ValueError, match="cell"):
        SmilesLanguageModel(len(vocab), cell="transformer")  # type: ignore[arg-type]


def test_sampling_respects_eos_temperature_and_seed():
    vocab = Vocabulary.from_smiles(SMILES)
    model = _tiny_lm(vocab)
    ids = model.sample_ids(50, vocab, max_len=30, generator=torch.Generator().manual_seed(1))
    assert (ids[:, 0] == vocab.bos_id).all() and ids.shape[1] <= 31
    for row in ids.tolist():
        if vocab.eos_id in row:
            assert all(t == vocab.pad_id for t in row[row.index(vocab.eos_id) + 1 :])
    a = model.sample(8, vocab, generator=torch.Generator().manual_seed(5))
    b = model.sample(8, vocab, generator=torch.Generator().manual_seed(5))
    assert a == b and all(isinstance(s, str) for s in a)
    # a very low temperature makes the first sampled token the arg-max token
    first = model(torch.tensor([[vocab.bos_id]]))[0, -1].argmax().item()
    cold = model.sample_ids(20, vocab, temperature=1e-4, max_len=1, generator=torch.Generator().manual_seed(0))
    assert (cold[:, 1] == first).all()
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, vocab, temperature=0)
    with pytest.raises(ValueError, match="tokens but the model"):
        model.sample(2, Vocabulary.from_smiles(["CCO"]))


def test_training_lowers_the_loss_and_learns_the_data():
    smiles = load_dataset("moses")["smiles"].iloc[:400].tolist()
    vocab = Vocabulary.from_smiles(smiles)
    model = _tiny_lm(vocab)
    ids, lengths = encode_smiles(smiles[-100:], vocab)
    before = language_model_loss(model, ids).item()
    history = train_language_model(model, smiles[:300], vocab, epochs=4, batch_size=32, lr=1e-2,
                                   device="cpu", val_smiles=smiles[300:], show_progress=False)
    assert history.epochs_run == 4 and len(history.val_loss) == 4
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_loss[-1] < 0.75 * before  # untrained: about ln(V) nats per token
    assert before == pytest.approx(torch.log(torch.tensor(float(len(vocab)))).item(), rel=0.2)
    with pytest.raises(ValueError, match="epochs"):
        train_language_model(model, smiles, vocab, epochs=0)


# --- the moses dataset ---------------------------------------------------------------------


def test_moses_dataset_is_shipped_checked_and_drug_like():
    from rdkit.Chem import Descriptors

    info = dataset_info("moses")
    assert info.n_molecules == 30000 and info.target is None and "MIT" in info.license
    spec = registry.get_spec("moses")
    raw = sources.locate(spec.files[0]).read_bytes()
    assert sources.sha256_bytes(raw) == info.sha256 and len(raw) == spec.files[0].size
    assert gzip.decompress(raw).startswith(b"smiles\n")
    df = load_dataset("moses")
    assert len(df) == 30000 and list(df.columns) == ["smiles"] and df.attrs["invalid"] == []
    assert df["smiles"].is_unique
    sample = df["smiles"].iloc[::300]
    elements = set()
    for smi in sample:
        mol = Chem.MolFromSmiles(smi)
        elements |= {a.GetSymbol() for a in mol.GetAtoms()}
        assert all(a.GetFormalCharge() == 0 for a in mol.GetAtoms())
        assert 250 <= Descriptors.MolWt(mol) <= 350.5
    assert elements <= {"C", "N", "O", "S", "F", "Cl", "Br"}


def test_moses_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    from chemdl_utils.data import DatasetError, loaders

    loaders._PARSED.clear()
    (tmp_path / "moses_sample.csv.gz").write_bytes(gzip.compress(b"smiles\nCCO\n"))
    monkeypatch.setenv("CHEMDL_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match="Checksum mismatch"):
        load_dataset("moses")


def test_moses_script_matches_the_registry():
    import importlib.util
    from pathlib import Path

    path = Path(sources.locate(registry.get_spec("moses").files[0]).where).with_name("make_moses_sample.py")
    spec = importlib.util.spec_from_file_location("make_moses_sample", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.N_SAMPLE == dataset_info("moses").n_molecules
    assert script.OUT.name == registry.get_spec("moses").files[0].filename
    assert (path.parent / "moses_LICENSE.txt").read_text().startswith("Copyright 2018 Insilico Medicine")
