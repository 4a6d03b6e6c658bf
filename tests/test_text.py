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


# --- chemdl_utils.nn.seq and chemdl_utils.nn.transformer -----------------------------------


def test_padding_mask_and_seq2seq_ignores_source_padding():
    from chemdl_utils.nn.seq import Seq2Seq, padding_mask, seq2seq_loss

    assert padding_mask(torch.tensor([2, 4])).tolist() == [[True, True, False, False], [True, True, True, True]]
    with pytest.raises(ValueError, match="1-D"):
        padding_mask(torch.ones(2, 2))
    vocab = Vocabulary.from_smiles(SMILES)
    src, src_len = encode_smiles(SMILES[:3], vocab, add_special=False)
    tgt, _ = encode_smiles(SMILES[:3], vocab)
    for attention in (False, True):
        torch.manual_seed(0)
        model = Seq2Seq(len(vocab), embedding_dim=8, hidden_size=16, attention=attention).eval()
        with torch.no_grad():
            logits, weights = model(src, src_len, tgt[:, :-1], return_attention=True)
            wider = torch.cat([src, torch.zeros(3, 4, dtype=torch.long)], 1)
            logits_wider = model(wider, src_len, tgt[:, :-1])
        torch.testing.assert_close(logits, logits_wider)   # extra source padding changes nothing
        assert logits.shape == (3, tgt.shape[1] - 1, len(vocab))
        if attention:
            assert torch.allclose(weights.sum(-1), torch.ones(3, tgt.shape[1] - 1))
            assert (weights[0, :, int(src_len[0]):] == 0).all()
        else:
            assert weights is None
        assert seq2seq_loss(model, src, src_len, tgt).item() > 0
        out, maps = model.greedy_decode(src, src_len, vocab, max_len=5)
        assert out.shape[0] == 3 and out.shape[1] <= 5 and (maps is None) == (not attention)


def test_seq2seq_learns_to_copy():
    from chemdl_utils.nn.seq import Seq2Seq, train_seq2seq

    smiles = ["CCO", "CCN", "CCC", "COC", "CNC", "OCO"] * 20
    vocab = Vocabulary.from_smiles(smiles)
    torch.manual_seed(0)
    model = Seq2Seq(len(vocab), embedding_dim=16, hidden_size=32, attention=True)
    history = train_seq2seq(model, smiles, smiles, vocab, epochs=15, batch_size=16, lr=1e-2, device="cpu",
                            show_progress=False)
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    src, src_len = encode_smiles(smiles[:6], vocab, add_special=False)
    out, _ = model.greedy_decode(src, src_len, vocab)
    assert ["".join(vocab.decode(r)) for r in out] == smiles[:6]
    with pytest.raises(ValueError, match="equal length"):
        train_seq2seq(model, smiles, smiles[:3], vocab, epochs=1)


def test_attention_from_scratch_equals_torch():
    import torch.nn.functional as F

    from chemdl_utils.nn.transformer import MultiHeadAttention, causal_mask, scaled_dot_product_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8)
    out, w = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    assert torch.allclose(w.sum(-1), torch.ones(2, 3, 5))
    m = causal_mask(6)
    assert m.tolist()[1] == [True, True, False, False, False, False]
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(scaled_dot_product_attention(x, x, x, m)[0],
                               F.scaled_dot_product_attention(x, x, x, is_causal=True))
    ours = MultiHeadAttention(16, 4).eval()
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 16)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[0, 5:] = True
    with torch.no_grad():
        a, aw = ours(x, x, x, key_padding_mask=pad, attn_mask=~causal_mask(7))
        b, bw = theirs(x, x, x, key_padding_mask=pad, attn_mask=~causal_mask(7))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(aw, bw)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)


def test_positions_masking_and_transformer():
    from chemdl_utils.nn.transformer import (SmilesTransformer, finetune_regressor, mask_tokens, pretrain_masked,
                                             sinusoidal_positions)

    pe = sinusoidal_positions(10, 8)
    assert pe.shape == (10, 8) and pe[0, 0] == 0 and pe[0, 1] == 1
    assert torch.allclose(pe[3, 0], torch.sin(torch.tensor(3.0)))
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(4, 5)
    vocab = Vocabulary.from_smiles(SMILES)
    ids, _ = encode_smiles(SMILES * 40, vocab)
    inputs, targets = mask_tokens(ids, vocab.unk_id, len(vocab), prob=0.15, generator=torch.Generator().manual_seed(0))
    chosen = targets != -100
    assert (ids[chosen] >= 4).all() and (inputs[~chosen] == ids[~chosen]).all()
    frac = chosen.sum() / (ids >= 4).sum()
    assert 0.10 < frac < 0.20
    assert 0.7 < float((inputs[chosen] == vocab.unk_id).float().mean()) < 0.9
    torch.manual_seed(0)
    model = SmilesTransformer(len(vocab), d_model=16, num_heads=2, num_layers=1, dim_feedforward=32, dropout=0.0)
    h = pretrain_masked(model, ids, vocab.unk_id, epochs=3, batch_size=32, lr=3e-3, device="cpu", show_progress=False)
    assert h.train_loss[-1] < h.train_loss[0]
    y = torch.arange(len(SMILES), dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tuned = finetune_regressor(model, ids[: len(SMILES)], y, steps=150, batch_size=5, lr=1e-2, device="cpu")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())   # original untouched
    with torch.no_grad():
        assert float(((tuned(ids[: len(SMILES)]) - y) ** 2).mean()) < 0.5 * float(y.var())
    with pytest.raises(ValueError, match="longer than max_len"):
        SmilesTransformer(len(vocab), max_len=4).encode(ids)
    with pytest.raises(ValueError, match="equal length"):
        finetune_regressor(model, ids[:3], y, device="cpu")
