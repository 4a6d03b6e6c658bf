"""A variational autoencoder for molecules written as SMILES or SELFIES token sequences.

The encoder reads a token sequence with a GRU and outputs the mean ``mu`` and log-variance
``logvar`` of a diagonal Gaussian ``q(z|x)``; a latent vector is drawn with the
**reparameterization trick** ``z = mu + exp(logvar / 2) * eps`` (``eps ~ N(0, I)``), so gradients
reach ``mu`` and ``logvar``; the decoder GRU starts from ``z`` and sees ``z`` at every step
(Gómez-Bombarelli et al. 2018 used the same encoder/decoder split). The loss is the ELBO:

``reconstruction cross-entropy (summed over tokens) + beta * KL(q(z|x) || N(0, I))``

with ``KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar))`` (Kingma & Welling 2014).

>>> tokens = molecule_tokens(smiles, "selfies")
>>> vocab = Vocabulary.build(tokens)
>>> ids = encode_tokens(tokens, vocab)
>>> vae = SequenceVAE(len(vocab), latent_dim=16)
>>> history = train_vae(vae, ids, epochs=10, beta=0.5)
>>> smiles = vae.sample_smiles(100, vocab, "selfies")
"""

from __future__ import annotations

import math
import time
from typing import Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import get_device, seed_everything
from ..progress import progress
from ..text.decoding import decode_tokens, next_token

__all__ = [
    "reparameterize",
    "gaussian_kl",
    "molecule_tokens",
    "encode_tokens",
    "tokens_to_smiles",
    "SequenceVAE",
    "vae_loss",
    "train_vae",
    "interpolate_latent",
]

Representation = Literal["smiles", "selfies"]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``z ~ N(mu, exp(logvar))`` as ``mu + exp(logvar / 2) * eps`` so gradients reach mu and logvar."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row: ``-1/2 * sum(1 + logvar - mu^2 - exp(logvar))``, shape ``[B]``."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def molecule_tokens(smiles: Sequence[str], representation: Representation = "smiles") -> list[list[str]]:
    """Token lists of ``smiles``: atom-level SMILES tokens, or the SELFIES symbols of each molecule.

    ``ValueError`` names the first molecule that cannot be tokenized (or encoded as SELFIES).
    """
    from ..text import tokenize_smiles

    if isinstance(smiles, str):
        raise TypeError(f"expected a list of SMILES, got one string {smiles!r}; wrap it: [smiles]")
    if representation == "smiles":
        return [tokenize_smiles(s) for s in smiles]
    if representation == "selfies":
        import selfies as sf

        out = []
        for i, s in enumerate(smiles):
            try:
                out.append(list(sf.split_selfies(sf.encoder(s))))
            except sf.EncoderError as err:
                raise ValueError(f"molecule {i} ({s!r}) cannot be written as SELFIES: {err}") from err
        return out
    raise ValueError(f"representation must be 'smiles' or 'selfies', got {representation!r}")


def encode_tokens(token_lists: Sequence[Sequence[str]], vocab, max_len: int | None = None) -> torch.Tensor:
    """``LongTensor[B, T]``: ``<bos> tokens <eos>`` right-padded with ``vocab.pad_id``.

    ``T`` is ``max_len`` if given (longer sequences raise ``ValueError``), else the longest.
    """
    encoded = [vocab.encode(list(t), add_special=True) for t in token_lists]
    if not encoded:
        raise ValueError("encode_tokens got an empty list")
    width = max(len(e) for e in encoded) if max_len is None else max_len
    ids = torch.full((len(encoded), width), vocab.pad_id, dtype=torch.long)
    for row, seq in enumerate(encoded):
        if len(seq) > width:
            raise ValueError(f"sequence {row} has {len(seq)} tokens with <bos>/<eos>, more than max_len={width}")
        ids[row, : len(seq)] = torch.tensor(seq)
    return ids


def tokens_to_smiles(ids: torch.Tensor, vocab, representation: Representation = "smiles") -> list[str]:
    """Decode id rows (stopping at ``<eos>``) into SMILES strings; SELFIES are translated to SMILES.

    A SELFIES string that does not decode gives ``""`` (an invalid molecule for the metrics).
    """
    out = []
    for row in ids.cpu():
        text = "".join(vocab.decode(row))
        if representation == "selfies":
            import selfies as sf

            try:
                text = sf.decoder(text) or ""
            except Exception:  # selfies raises DecoderError for malformed symbols
                text = ""
        out.append(text)
    return out


class SequenceVAE(nn.Module):
    """GRU encoder -> Gaussian latent -> GRU decoder over token ids (``<bos> ... <eos>``, padded).

    ``forward(ids)`` returns ``(logits, mu, logvar)``: ``logits[B, T-1, V]`` predict ``ids[:, 1:]``
    (teacher forcing), ``mu``/``logvar`` are ``[B, latent_dim]``. ``decode`` generates from ``z``.
    """

    def __init__(
        self, vocab_size: int, latent_dim: int = 16, embedding_dim: int = 32, hidden_size: int = 128, pad_id: int = 0
    ) -> None:
        super().__init__()
        if vocab_size < 5 or latent_dim < 1:
            raise ValueError(f"need vocab_size >= 5 and latent_dim >= 1, got {vocab_size}, {latent_dim}")
        self.vocab_size, self.latent_dim, self.pad_id = vocab_size, latent_dim, pad_id
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.to_mu = nn.Linear(hidden_size, latent_dim)
        self.to_logvar = nn.Linear(hidden_size, latent_dim)
        self.z_to_hidden = nn.Linear(latent_dim, hidden_size)
        self.decoder = nn.GRU(embedding_dim + latent_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z|x)`` for ``ids[B, T]`` (the GRU state after the last real token)."""
        lengths = (ids != self.pad_id).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)
        return self.to_mu(h[-1]), self.to_logvar(h[-1])

    def _step(self, tokens: torch.Tensor, z: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.embedding(tokens), z.unsqueeze(1).expand(-1, tokens.shape[1], -1)], dim=-1)
        out, hidden = self.decoder(x, hidden)
        return self.head(out), hidden

    def decode_logits(self, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``[B, T-1, V]`` for the targets ``ids[:, 1:]`` given ``z``."""
        hidden = torch.tanh(self.z_to_hidden(z)).unsqueeze(0)
        logits, _ = self._step(ids[:, :-1], z, hidden)
        return logits

    def forward(self, ids: torch.Tensor, generator: torch.Generator | None = None):  # noqa: ANN201
        mu, logvar = self.encode(ids)
        z = reparameterize(mu, logvar, generator) if self.training else mu
        return self.decode_logits(z, ids), mu, logvar

    @torch.no_grad()
    def decode(
        self, z: torch.Tensor, vocab, max_len: int = 80, temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Generate id rows ``[B, L]`` from latent vectors ``z``; ``temperature=0`` is greedy (argmax)."""
        was = self.training
        self.eval()
        n = z.shape[0]
        hidden = torch.tanh(self.z_to_hidden(z)).unsqueeze(0)
        start = torch.full((n, 1), vocab.bos_id, dtype=torch.long, device=z.device)

        def step(token: torch.Tensor) -> torch.Tensor:
            nonlocal hidden
            logits, hidden = self._step(token, z, hidden)
            return logits[:, -1]

        try:
            return decode_tokens(step, start, vocab.eos_id, vocab.pad_id, max_len,
                                 choose=lambda logits: next_token(logits, temperature, generator))
        finally:
            self.train(was)

    def sample_smiles(
        self, n: int, vocab, representation: Representation = "smiles", generator: torch.Generator | None = None,
        max_len: int = 80,
    ) -> list[str]:
        """``n`` molecules decoded (greedily) from latent vectors drawn from the prior ``N(0, I)``."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return tokens_to_smiles(self.decode(z, vocab, max_len=max_len), vocab, representation)


def vae_loss(
    model: SequenceVAE, ids: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, reconstruction, kl)``, each a mean over the batch of per-molecule sums (nats)."""
    logits, mu, logvar = model(ids, generator)
    targets = ids[:, 1:]
    rec = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=model.pad_id,
                          reduction="sum") / ids.shape[0]
    kl = gaussian_kl(mu, logvar).mean()
    return rec + beta * kl, rec, kl


def train_vae(
    model: SequenceVAE,
    ids: torch.Tensor,
    epochs: int,
    beta: float = 1.0,
    batch_size: int = 128,
    lr: float = 2e-3,
    warmup_epochs: int = 0,
    device: torch.device | str | None = None,
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, list[float]]:
    """Train with Adam on the ELBO; ``beta`` ramps linearly from 0 over ``warmup_epochs`` (KL annealing,
    Bowman et al. 2016). Returns per-epoch means ``{"loss", "reconstruction", "kl", "beta", "seconds"}``."""
    if epochs < 1 or batch_size < 1 or beta < 0:
        raise ValueError(f"epochs and batch_size must be >= 1 and beta >= 0, got {epochs}, {batch_size}, {beta}")
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist: dict[str, list[float]] = {"loss": [], "reconstruction": [], "kl": [], "beta": [], "seconds": []}
    start = time.perf_counter()
    for epoch in progress(range(epochs), desc="VAE epochs", enabled=show_progress):
        b = beta * min(1.0, (epoch + 1) / warmup_epochs) if warmup_epochs else beta
        sums = np.zeros(3)
        order = rng.permutation(len(ids))
        for s in range(0, len(ids), batch_size):
            batch = ids[order[s:s + batch_size]]
            width = int((batch != model.pad_id).sum(1).max())
            batch = batch[:, :width].to(device)
            loss, rec, kl = vae_loss(model, batch, b)
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(f"VAE loss became {float(loss.detach())} in epoch {epoch + 1}; lower lr (now {lr})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sums += np.array([float(loss.detach()), float(rec.detach()), float(kl.detach())]) * len(batch)
        for k, v in zip(("loss", "reconstruction", "kl"), sums / len(ids)):
            hist[k].append(float(v))
        hist["beta"].append(b)
        hist["seconds"].append(time.perf_counter() - start)
    model.eval()
    return hist


@torch.no_grad()
def interpolate_latent(model: SequenceVAE, ids_a: torch.Tensor, ids_b: torch.Tensor, steps: int = 7) -> torch.Tensor:
    """Latent vectors on the straight line between the posterior means of two molecules: ``[steps, latent_dim]``."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    model.eval()
    mu_a, _ = model.encode(ids_a.reshape(1, -1))
    mu_b, _ = model.encode(ids_b.reshape(1, -1))
    t = torch.linspace(0, 1, steps, device=mu_a.device).unsqueeze(1)
    return (1 - t) * mu_a + t * mu_b
