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


# ----------------------------------------------------------------------------- VAE
import torch  # noqa: E402

from chemdl_utils.generative.vae import (  # noqa: E402
    SequenceVAE,
    encode_tokens,
    gaussian_kl,
    interpolate_latent,
    molecule_tokens,
    reparameterize,
    tokens_to_smiles,
    train_vae,
    vae_loss,
)


def test_reparameterize_is_differentiable_and_has_the_right_moments():
    mu = torch.full((20000, 2), 1.5, requires_grad=True)
    logvar = torch.full((20000, 2), float(np.log(4.0)), requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.requires_grad
    assert float(z.mean()) == pytest.approx(1.5, abs=0.05)
    assert float(z.std()) == pytest.approx(2.0, abs=0.05)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    with pytest.raises(ValueError, match="same shape"):
        reparameterize(torch.zeros(2, 3), torch.zeros(2, 2))


def test_gaussian_kl_closed_form_matches_monte_carlo_and_is_zero_at_the_prior():
    mu, logvar = torch.tensor([[0.3, -1.2]]), torch.tensor([[0.5, -0.7]])
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(1, 2), torch.ones(1, 2))
    exact = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), exact, atol=1e-6)
    assert float(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max()) == 0.0


def test_molecule_tokens_and_round_trip_through_selfies():
    smiles = ["CCO", "c1ccccc1O"]
    for rep in ("smiles", "selfies"):
        tokens = molecule_tokens(smiles, rep)
        from chemdl_utils.text import Vocabulary

        vocab = Vocabulary.build(tokens)
        ids = encode_tokens(tokens, vocab)
        assert ids.shape[0] == 2 and int(ids[0, 0]) == vocab.bos_id
        back = tokens_to_smiles(ids, vocab, rep)
        assert [canonicalize(s) for s in back] == [canonicalize(s) for s in smiles]
    with pytest.raises(ValueError, match="representation"):
        molecule_tokens(smiles, "inchi")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one string"):
        molecule_tokens("CCO")


def test_vae_trains_and_samples():
    from chemdl_utils.text import Vocabulary

    smiles = REF * 4
    tokens = molecule_tokens(smiles, "selfies")
    vocab = Vocabulary.build(tokens)
    ids = encode_tokens(tokens, vocab)
    vae = SequenceVAE(len(vocab), latent_dim=4, embedding_dim=8, hidden_size=32)
    before = float(vae_loss(vae.train(), ids, beta=0.5)[1])
    hist = train_vae(vae, ids, epochs=15, beta=0.5, batch_size=16, lr=1e-2, device="cpu")
    assert hist["reconstruction"][-1] < 0.6 * before
    assert len(hist["kl"]) == 15 and all(k >= 0 for k in hist["kl"])
    samples = vae.sample_smiles(10, vocab, "selfies", generator=torch.Generator().manual_seed(0))
    assert len(samples) == 10 and validity(samples) == 1.0  # SELFIES: every string is a molecule
    path = interpolate_latent(vae, ids[0], ids[1], steps=5)
    assert path.shape == (5, 4)
    mu0, _ = vae.encode(ids[:1])
    assert torch.allclose(path[0], mu0[0], atol=1e-6)


# ----------------------------------------------------------------------------- GAN, diffusion, autoencoder
from chemdl_utils.generative.autoencoder import train_autoencoder  # noqa: E402
from chemdl_utils.generative.diffusion import DiffusionSchedule, ddpm_sample, q_sample, train_ddpm  # noqa: E402
from chemdl_utils.generative.gan import coverage, mode_coverage, ring_of_gaussians, train_gan  # noqa: E402


def test_mode_coverage_counts_modes_and_coverage_detects_collapse():
    x, centers = ring_of_gaussians(800, modes=8, std=0.05, seed=0)
    full = mode_coverage(x, centers, 0.05)
    assert full["modes_covered"] == 8 and full["good_fraction"] > 0.95
    assert full["mode_entropy"] == pytest.approx(np.log(8), abs=0.05)
    one_mode = centers[:1].repeat(500, 1)
    collapsed = mode_coverage(one_mode, centers, 0.05)
    assert collapsed["modes_covered"] == 1 and collapsed["mode_entropy"] == 0.0
    assert coverage(x[:400], x[400:]) > 0.8
    assert coverage(x[:400], one_mode) < 0.25


def test_gan_learns_something_on_the_ring():
    x, centers = ring_of_gaussians(2000, seed=0)
    gan = train_gan(x, steps=300, hidden=32, seed=0, device="cpu")
    s = gan.sample(500, torch.Generator().manual_seed(0))
    assert s.shape == (500, 2)
    r = s.norm(dim=1)
    assert abs(float(r.mean()) - 2.0) < 0.6  # samples moved from the origin onto the ring's scale
    assert len(gan.history["d_loss"]) == 300


def test_q_sample_matches_the_closed_form_and_the_schedule_ends_in_noise():
    sched = DiffusionSchedule.linear(T=50, beta_start=1e-3, beta_end=0.2)
    assert float(sched.alpha_bars[0]) == pytest.approx(1 - 1e-3)
    assert torch.allclose(sched.alpha_bars, torch.cumprod(1 - sched.betas, 0))
    x0, noise = torch.ones(3, 2), torch.zeros(3, 2)
    xt = q_sample(x0, torch.tensor([0, 10, 49]), noise, sched)
    assert torch.allclose(xt[:, 0], sched.alpha_bars[[0, 10, 49]].sqrt())
    with pytest.raises(ValueError):
        DiffusionSchedule.linear(T=1)


def test_ddpm_learns_a_shifted_gaussian():
    data = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0)) * 0.3 + torch.tensor([1.0, -1.0])
    sched = DiffusionSchedule.linear(T=50, beta_start=1e-3, beta_end=0.2)
    model, losses = train_ddpm(data, sched, steps=600, hidden=64, seed=0, device="cpu")
    assert np.mean(losses[-50:]) < np.mean(losses[:50])
    x, kept = ddpm_sample(model, sched, 1000, 2, generator=torch.Generator().manual_seed(1), keep=(25,))
    assert 25 in kept
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -1.0]), atol=0.2)


def test_autoencoder_beats_mean_prediction():
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, size=(600, 1))
    x = np.hstack([t, t ** 2, np.sin(3 * t), -t]) + 0.01 * rng.standard_normal((600, 4))
    x = (x - x.mean(0)) / x.std(0)
    model, losses = train_autoencoder(x, code_dim=1, epochs=60, seed=0, device="cpu")
    with torch.no_grad():
        err = float(((model(torch.tensor(x, dtype=torch.float32)) - torch.tensor(x, dtype=torch.float32)) ** 2).mean())
    assert err < 0.1 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="2-D"):
        train_autoencoder(np.zeros(5))


# ----------------------------------------------------------------------------- RL
from chemdl_utils.generative.rl import (  # noqa: E402
    ChainBuildingEnv,
    greedy_policy,
    logp_window_reward,
    q_learning,
    q_update,
    reinforce_loss,
)


def test_q_update_bellman_and_terminal():
    assert q_update(-0.3, 0.0, -0.11, 0.2, 1.0, False) == pytest.approx(-0.262)
    assert q_update(0.0, 1.0, 5.0, 0.5, 0.9, True) == pytest.approx(0.5)


def test_environment_masks_and_q_learning_finds_the_enumerated_optimum():
    env = ChainBuildingEnv(max_atoms=4, target_logp=0.5)
    assert env.allowed("") == [0, 1, 2]
    assert env.allowed("CO") == [0, 3]  # after a heteroatom only carbon or stop
    with pytest.raises(ValueError, match="not allowed"):
        env.step("", 3)
    assert all(env.is_reachable(s) for s in env.states())
    best, best_r = env.best_by_enumeration()
    Q, returns = q_learning(env, episodes=3000, seed=0)
    final = greedy_policy(env, Q)[-1][0]
    assert env.reward(final) == pytest.approx(best_r)
    assert np.mean(returns[-300:]) > np.mean(returns[:300])


def test_logp_window_reward_and_reinforce_loss():
    r = logp_window_reward(["CCCCCCCCCC", "C1CC", "CCO"], low=4.0, high=5.0)
    assert r[1] == 0.0 and 0.0 < r[2] < r[0] <= 1.0
    lp = torch.tensor([-1.0, -2.0, -4.0], requires_grad=True)
    R = torch.tensor([1.0, 0.0, 0.5])
    loss = reinforce_loss(lp, R, R.mean())
    assert float(loss) == pytest.approx(-(0.5 * -1.0 + -0.5 * -2.0) / 3)
    loss.backward()
    assert torch.allclose(lp.grad, -(R - R.mean()) / 3)
    with pytest.raises(ValueError, match="same shape"):
        reinforce_loss(lp, torch.zeros(2), 0.0)


def test_reinforce_raises_reward_of_a_tiny_language_model(tmp_path, monkeypatch):
    from chemdl_utils.generative.rl import reinforce_finetune
    from chemdl_utils.text import SmilesLanguageModel, Vocabulary, train_language_model

    smiles = ["CCO", "CCN", "CCCC", "c1ccccc1", "CCCCCC", "CCOCC", "CCCCCCCC", "CC(C)C"] * 8
    vocab = Vocabulary.from_smiles(smiles)
    lm = SmilesLanguageModel(len(vocab), embedding_dim=8, hidden_size=32, num_layers=1, cell="gru")
    train_language_model(lm, smiles, vocab, epochs=10, batch_size=16, lr=1e-2, device="cpu", show_progress=False)
    result = reinforce_finetune(lm, vocab, lambda s: logp_window_reward(s, 2.5, 4.0), steps=30, batch_size=32,
                                lr=5e-3, prior_weight=0.0, max_len=20, seed=0)
    h = result.history
    assert np.mean(h["reward"][-5:]) > np.mean(h["reward"][:5])
    assert set(h) == {"reward", "validity", "uniqueness", "diversity", "prior_loglik"}
    assert all(0 <= v <= 1 for v in h["validity"])


def test_cached_model_trains_once_then_loads(tmp_path, monkeypatch):
    from chemdl_utils.generative.zoo import cached_model

    monkeypatch.setenv("CHEMDL_CACHE_DIR", str(tmp_path))
    calls = []

    def train(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(3.0)
        return {"loss": [1.0, 0.5]}

    m1, h1, loaded1 = cached_model("unit", {"a": 1}, lambda: torch.nn.Linear(2, 2), train)
    m2, h2, loaded2 = cached_model("unit", {"a": 1}, lambda: torch.nn.Linear(2, 2), train)
    assert (loaded1, loaded2) == (False, True) and len(calls) == 1
    assert torch.all(m2.weight == 3.0) and h2 == h1
    _, _, loaded3 = cached_model("unit", {"a": 2}, lambda: torch.nn.Linear(2, 2), train)
    assert loaded3 is False
