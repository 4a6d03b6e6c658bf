"""Token-by-token decoding shared by the course's sequence generators.

A language model, a sequence VAE's decoder and a seq2seq decoder all generate the same way: start
from ``<bos>``, ask the model for the logits of the next token, choose one (greedily or by
sampling), feed it back, and stop a row at ``<eos>`` (later positions are ``<pad>``)::

    tokens = decode_tokens(step, start, eos_id=vocab.eos_id, pad_id=vocab.pad_id, max_len=80,
                           choose=lambda logits: next_token(logits, temperature=0.8))

``step(token)`` gets the last chosen tokens ``LongTensor[B, 1]`` and returns the next-token logits
``[B, V]``; it keeps its own recurrent state (a closure), which is why one loop serves all three.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["next_token", "decode_tokens"]


def next_token(logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """The next token ``LongTensor[B, 1]`` for next-token ``logits [B, V]``.

    ``temperature == 0`` picks the most likely token (greedy); ``temperature > 0`` samples from
    ``softmax(logits / temperature)``: < 1 sharpens, > 1 flattens the distribution. Sampling runs on
    the generator's device (so a seeded CPU generator gives the same draws on every machine).
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    sample_device = generator.device if generator is not None else logits.device
    return torch.multinomial(probs.to(sample_device), 1, generator=generator).to(logits.device)


def decode_tokens(
    step: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    eos_id: int,
    pad_id: int,
    max_len: int,
    choose: Callable[[torch.Tensor], torch.Tensor] = next_token,
) -> torch.Tensor:
    """Generate up to ``max_len`` tokens after ``start`` (``LongTensor[B, 1]``, usually ``<bos>``).

    Returns ``LongTensor[B, 1 + L]``: ``start``, then the chosen tokens; a row that emitted ``eos_id``
    continues with ``pad_id``; generation stops early once every row has ended, and a row still
    running after ``max_len`` tokens is cut there (no ``<eos>``).
    """
    if start.dim() != 2 or start.shape[1] != 1:
        raise ValueError(f"start must have shape [B, 1], got {tuple(start.shape)}")
    token = start
    out = [token]
    done = torch.zeros(start.shape[0], dtype=torch.bool, device=start.device)
    for _ in range(max_len):
        nxt = choose(step(token))
        nxt = torch.where(done.unsqueeze(1), torch.full_like(nxt, pad_id), nxt)
        out.append(nxt)
        done |= nxt.squeeze(1) == eos_id
        token = nxt
        if bool(done.all()):
            break
    return torch.cat(out, dim=1)
