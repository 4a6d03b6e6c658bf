"""The trained generators the generative part shares between its pages, trained once per build and cached.

The VAE page trains the molecular VAEs, the RL page the SMILES language model; the GAN, diffusion
and summary pages need the same models. :func:`cached_model` trains a model the first time it is
asked for (with a fixed seed and configuration) and saves its weights and history under
``cache_dir()/generative``; later calls with the same configuration load them. Delete that folder
(or set ``CHEMDL_CACHE_DIR``) to retrain from scratch.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

import torch
from torch import nn

from ..data.cache import cache_dir

__all__ = ["cached_model", "training_smiles", "molecular_vae", "smiles_language_model", "latent_codes", "latent_gan",
           "latent_diffusion", "part_config", "reinforce_agent"]


def cached_model(
    name: str, config: dict[str, Any], build: Callable[[], nn.Module], train: Callable[[nn.Module], dict],
) -> tuple[nn.Module, dict, bool]:
    """``(model, history, loaded)``: ``build()`` a model, then load its cached weights for ``config`` or
    ``train(model)`` and cache them. ``loaded`` says whether the weights came from the cache."""
    key = hashlib.sha256(json.dumps({"name": name, **config}, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "generative" / f"{name}-{key}.pt"
    model = build()
    if path.exists():
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(blob["state"])
        return model, json.loads(blob["history"]), True
    history = train(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state": {k: v.cpu() for k, v in model.state_dict().items()}, "history": json.dumps(history)}, tmp)
    tmp.replace(path)
    return model, history, False


def training_smiles(n: int = 3000) -> list[str]:
    """The first ``n`` molecules of the shipped MOSES sample (a fixed random sample): the training set
    of every generator in the generative part, and the reference their samples are compared with."""
    from ..data import load_dataset

    smiles = load_dataset("moses")["smiles"].tolist()
    if not 2 <= n <= len(smiles):
        raise ValueError(f"n must be between 2 and {len(smiles)}, got {n}")
    return smiles[:n]


def molecular_vae(
    representation: str = "selfies", beta: float = 0.1, n_molecules: int = 3000, epochs: int = 8,
    latent_dim: int = 16, hidden_size: int = 128, seed: int = 0, device: torch.device | str | None = None,
) -> tuple[nn.Module, Any, dict, bool]:
    """A :class:`~chemdl_utils.generative.vae.SequenceVAE` on the first ``n_molecules`` MOSES molecules.

    Returns ``(vae, vocab, history, loaded)``; KL annealing over the first half of the epochs.
    """
    from ..text import Vocabulary
    from .vae import SequenceVAE, encode_tokens, molecule_tokens, train_vae

    tokens = molecule_tokens(training_smiles(n_molecules), representation)  # type: ignore[arg-type]
    vocab = Vocabulary.build(tokens)
    config = dict(representation=representation, beta=beta, n=n_molecules, epochs=epochs, latent=latent_dim,
                  hidden=hidden_size, seed=seed, vocab=vocab.itos)

    def build() -> nn.Module:
        torch.manual_seed(seed)
        return SequenceVAE(len(vocab), latent_dim=latent_dim, hidden_size=hidden_size, pad_id=vocab.pad_id)

    def train(model: nn.Module) -> dict:
        return train_vae(model, encode_tokens(tokens, vocab), epochs=epochs, beta=beta,
                         warmup_epochs=max(1, epochs // 2), lr=3e-3, seed=seed, device=device)

    vae, history, loaded = cached_model("vae", config, build, train)
    device = torch.device(device) if device is not None else None
    return (vae.to(device) if device else vae).eval(), vocab, history, loaded


def smiles_language_model(
    n_molecules: int = 3000, epochs: int = 6, hidden_size: int = 256, seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[nn.Module, Any, dict, bool]:
    """A :class:`~chemdl_utils.text.SmilesLanguageModel` (1-layer GRU) pretrained on MOSES molecules.

    Returns ``(model, vocab, history, loaded)``.
    """
    from ..text import SmilesLanguageModel, Vocabulary, train_language_model

    smiles = training_smiles(n_molecules)
    vocab = Vocabulary.from_smiles(smiles)
    config = dict(n=n_molecules, epochs=epochs, hidden=hidden_size, seed=seed, vocab=vocab.itos)

    def build() -> nn.Module:
        torch.manual_seed(seed)
        return SmilesLanguageModel(len(vocab), embedding_dim=32, hidden_size=hidden_size, num_layers=1, cell="gru",
                                   pad_id=vocab.pad_id)

    def train(model: nn.Module) -> dict:
        h = train_language_model(model, smiles, vocab, epochs=epochs, batch_size=128, lr=3e-3, seed=seed,
                                 device=device, show_progress=False)
        return {"train_loss": list(h.train_loss)}

    lm, history, loaded = cached_model("lm", config, build, train)
    device = torch.device(device) if device is not None else None
    return (lm.to(device) if device else lm).eval(), vocab, history, loaded


@torch.no_grad()
def latent_codes(vae: nn.Module, vocab: Any, smiles: list[str], representation: str = "selfies",
                 batch_size: int = 512) -> torch.Tensor:
    """Posterior means ``mu(x)`` of ``smiles`` under ``vae``: the "real data" of a latent GAN or diffusion model."""
    from .vae import encode_tokens, molecule_tokens

    device = next(vae.parameters()).device
    ids = encode_tokens(molecule_tokens(smiles, representation), vocab)  # type: ignore[arg-type]
    return torch.cat([vae.encode(ids[s:s + batch_size].to(device))[0].cpu() for s in range(0, len(ids), batch_size)])


def latent_gan(codes: torch.Tensor, steps: int = 2000, seed: int = 0, device: torch.device | str | None = None,
               tag: str = "") -> tuple[Any, bool]:
    """A :class:`~chemdl_utils.generative.gan.GAN` trained on latent ``codes`` (cached); returns ``(gan, loaded)``.

    ``tag`` names the VAE the codes come from, so that different VAEs get different cache entries.
    """
    from .gan import GAN, _mlp, train_gan

    dim, noise_dim, hidden = codes.shape[1], 16, 128
    config = dict(steps=steps, seed=seed, dim=dim, tag=tag, n=len(codes), checksum=float(codes.sum()))
    holder: dict[str, Any] = {}

    class _Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator, self.discriminator = _mlp(noise_dim, hidden, dim), _mlp(dim, hidden, 1)

    def train(pair: nn.Module) -> dict:
        gan = train_gan(codes, steps=steps, noise_dim=noise_dim, hidden=hidden, lr=2e-4, seed=seed, device=device)
        pair.generator.load_state_dict(gan.generator.state_dict())
        pair.discriminator.load_state_dict(gan.discriminator.state_dict())
        holder["h"] = gan.history
        return gan.history

    pair, history, loaded = cached_model("latent-gan", config, _Pair, train)
    return GAN(pair.generator.eval(), pair.discriminator.eval(), noise_dim, history), loaded


def latent_diffusion(codes: torch.Tensor, steps: int = 2500, T: int = 200, seed: int = 0,
                     device: torch.device | str | None = None, tag: str = "") -> tuple[Any, Any, bool]:
    """A DDPM noise predictor trained on latent ``codes`` (cached); returns ``(model, schedule, loaded)``."""
    from .diffusion import DiffusionSchedule, NoisePredictor, train_ddpm

    schedule = DiffusionSchedule.linear(T, 1e-4, 0.05)
    config = dict(steps=steps, T=T, seed=seed, dim=codes.shape[1], tag=tag, n=len(codes), checksum=float(codes.sum()))

    def train(model: nn.Module) -> dict:
        trained, losses = train_ddpm(codes, schedule, steps=steps, hidden=128, seed=seed, device=device)
        model.load_state_dict(trained.state_dict())
        return {"loss": losses}

    model, history, loaded = cached_model("latent-ddpm", config, lambda: NoisePredictor(codes.shape[1], T, 128), train)
    return model.eval(), schedule, loaded


def part_config(full_training: bool) -> dict[str, dict[str, int]]:
    """The one training configuration every page of the generative part uses (``FULL_TRAINING`` or not)."""
    if full_training:
        return {"vae": dict(n_molecules=20000, epochs=30), "lm": dict(n_molecules=20000, epochs=20),
                "latent": dict(gan_steps=12000, ddpm_steps=16000)}
    return {"vae": dict(n_molecules=3000, epochs=8), "lm": dict(n_molecules=8000, epochs=4),
            "latent": dict(gan_steps=2000, ddpm_steps=2500)}


def reinforce_agent(
    prior: nn.Module, vocab: Any, steps: int = 60, prior_weight: float = 0.02, seed: int = 0,
    low: float = 4.0, high: float = 5.0, tag: str = "",
) -> tuple[nn.Module, dict, bool]:
    """A copy of ``prior`` fine-tuned by :func:`~chemdl_utils.generative.rl.reinforce_finetune` towards Crippen
    logP in ``[low, high]`` (cached). Returns ``(agent, history, loaded)``; history holds the per-step curves
    and ``"generated"``, every valid generated molecule with its reward."""
    import copy
    from functools import partial

    from .rl import logp_window_reward, reinforce_finetune

    config = dict(steps=steps, prior_weight=prior_weight, seed=seed, low=low, high=high, tag=tag,
                  checksum=float(sum(p.detach().double().sum() for p in prior.parameters())))

    def train(agent: nn.Module) -> dict:
        result = reinforce_finetune(prior, vocab, partial(logp_window_reward, low=low, high=high), steps=steps,
                                    prior_weight=prior_weight, seed=seed)
        agent.load_state_dict(result.agent.state_dict())
        return {**result.history, "generated": result.generated}

    agent, history, loaded = cached_model("reinforce", config, lambda: copy.deepcopy(prior), train)
    return agent.eval(), history, loaded
