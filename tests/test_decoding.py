"""The shared token-by-token decoding loop (chemdl_utils.text.decoding)."""

import pytest
import torch

from chemdl_utils.text.decoding import decode_tokens, next_token

BOS, EOS, PAD = 1, 2, 0


def scripted_step(script: list[list[int]], vocab_size: int = 6):
    """A 'model' whose next-token logits put all mass on the scripted token of each row."""
    calls = {"n": 0}

    def step(token: torch.Tensor) -> torch.Tensor:
        wanted = torch.tensor([row[calls["n"]] for row in script])
        calls["n"] += 1
        logits = torch.full((len(script), vocab_size), -1e4)
        logits[torch.arange(len(script)), wanted] = 0.0
        return logits

    return step, calls


def test_rows_stop_at_eos_then_pad_and_the_loop_ends_when_all_rows_ended():
    step, calls = scripted_step([[3, EOS, 4, 4, 4], [3, 4, 5, EOS, 4]])
    start = torch.full((2, 1), BOS)
    out = decode_tokens(step, start, EOS, PAD, max_len=5, choose=lambda l: l.argmax(-1, keepdim=True))
    assert out.tolist() == [[BOS, 3, EOS, PAD, PAD], [BOS, 3, 4, 5, EOS]]
    assert calls["n"] == 4, "the loop must stop as soon as every row has emitted <eos>"


def test_a_row_still_running_after_max_len_is_cut_without_eos():
    step, _ = scripted_step([[3, 3, 3, 3]])
    out = decode_tokens(step, torch.full((1, 1), BOS), EOS, PAD, max_len=2)
    assert out.tolist() == [[BOS, 3, 3]]


def test_next_token_greedy_and_sampling():
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 0.0]])
    assert next_token(logits, temperature=0).tolist() == [[1], [0]]
    draw = lambda seed: next_token(logits.repeat(200, 1), 1.0, torch.Generator().manual_seed(seed))
    assert torch.equal(draw(7), draw(7)), "a seeded generator must give the same draws"
    assert len(set(draw(7).flatten().tolist())) == 3, "temperature 1 samples every token of a soft distribution"
    cold = next_token(logits.repeat(50, 1), 1e-3, torch.Generator().manual_seed(0))
    assert torch.equal(cold, logits.argmax(-1, keepdim=True).repeat(50, 1)), "a tiny temperature is greedy"


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="temperature"):
        next_token(torch.zeros(1, 3), temperature=-1)
    with pytest.raises(ValueError, match=r"\[B, 1\]"):
        decode_tokens(lambda t: torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), EOS, PAD, 3)


def test_clipped_step_refuses_a_non_finite_loss_before_touching_the_weights():
    from chemdl_utils.text.steps import clipped_step
    from chemdl_utils.train import NonFiniteLossError

    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    with pytest.raises(NonFiniteLossError, match="epoch 3.*lr"):
        clipped_step(model, opt, model(torch.ones(1, 3)).sum() * float("nan"), 1.0, epoch=2, lr=0.1)
    assert torch.equal(model.weight, before)
    value = clipped_step(model, opt, (model(torch.ones(1, 3)) * 1e6).sum(), grad_clip=1.0, epoch=0, lr=0.1)
    assert value != 0 and (model.weight - before).norm() <= 0.1 * 1.0 + 1e-6, "the step must use the clipped gradient"
