"""seqlab.train and seqlab.utils: the training loop, truncated BPTT, clipping, checkpoints, resume."""

import math
import random
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.checkpoint import load_checkpoint
from seqlab.errors import SeqlabError
from seqlab.train import TrainConfig, TrainingDiverged, detach_state, to_device, train, learning_rate
from seqlab.utils import choose_device, get_rng_states, seed_everything, set_rng_states

VOCAB = 8


class TinyCharModel(nn.Module):
    """Embedding -> LSTM -> logits, the lab's model at toy size."""

    def __init__(self, hidden_size=16, dropout=0.0):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 8)
        self.lstm = nn.LSTM(8, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, VOCAB)

    def forward(self, x, state=None):
        output, state = self.lstm(self.embedding(x), state)  # (B, T, H)
        return self.head(self.dropout(output)), state  # (B, T, V)


def stateless_loss(model, batch, state):
    x, y = batch
    logits, _ = model(x)
    return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1)), None, y.numel()


def stateful_loss(model, batch, state):
    """Consecutive windows of one stream: each starts from the previous window's final state."""
    x, y = batch
    logits, new_state = model(x, state)
    return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1)), new_state, y.numel()


def stream_windows(batch_size=4, window=6, seed=0):
    """An endless, deterministic stream of (input, target) windows cut one after another."""
    generator = torch.Generator().manual_seed(seed)
    stream = torch.randint(0, VOCAB, (batch_size, 10_000), generator=generator)
    start = 0
    while True:
        chunk = stream[:, start : start + window + 1]
        yield chunk[:, :-1], chunk[:, 1:]
        start += window


def quiet(**overrides):
    return TrainConfig(**{"device": "cpu", "progress": False, "eval_every": None, **overrides})


def make_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return TinyCharModel(**kwargs)


def same_weights(a, b, atol=1e-6):
    b_weights = b.state_dict()
    return all(
        torch.allclose(tensor, b_weights[name], atol=atol, rtol=0) for name, tensor in a.state_dict().items()
    )


# ---------------------------------------------------------------------------------------------
# The loop


def test_overfits_one_batch():
    batch = next(stream_windows(batch_size=2, window=10))
    model = make_model()
    result = train(model, [batch] * 150, stateless_loss, quiet(steps=150, lr=1e-2))
    first, last = result.history[0]["loss"], result.history[-1]["loss"]
    assert result.steps == 150 and len(result.history) == 150
    assert first > 1.8  # about log(8) = 2.08 at the start
    assert last < 0.1 * first
    assert all(entry["tokens_per_s"] > 0 for entry in result.history)


def test_stops_when_the_batches_run_out():
    batch = next(stream_windows())
    result = train(make_model(), [batch] * 3, stateless_loss, quiet(steps=10))
    assert result.steps == 3


def test_truncated_bptt_detaches_the_carried_state():
    received, returned = [], []

    def recording_loss(model, batch, state):
        received.append(state)
        loss, new_state, n_tokens = stateful_loss(model, batch, state)
        returned.append(new_state)
        return loss, new_state, n_tokens

    train(make_model(), stream_windows(), recording_loss, quiet(steps=4))
    assert len(received) == 4 and received[0] is None
    for (h, c), (h_before, c_before) in zip(received[1:], returned[:-1]):
        # The value carries over: each window starts where the previous one ended...
        assert torch.equal(h, h_before) and torch.equal(c, c_before)
        # ...but the graph does not: backward stops at the window boundary.
        assert h_before.grad_fn is not None
        assert h.grad_fn is None and not h.requires_grad
        assert c.grad_fn is None and not c.requires_grad


def test_detach_state_keeps_values_and_nesting():
    h = torch.ones(2, 3, requires_grad=True) * 2
    c = torch.ones(2, 3, requires_grad=True) * 3
    detached = detach_state(((h, c), [h], None))
    (dh, dc), (dh2,), nothing = detached
    assert isinstance(detached, tuple) and isinstance(detached[1], list) and nothing is None
    assert torch.equal(dh, h) and torch.equal(dc, c)
    assert dh.grad_fn is None and dc.grad_fn is None and dh2.grad_fn is None
    assert h.grad_fn is not None  # the original is untouched
    assert detach_state(None) is None


def test_without_detaching_backward_would_reach_the_previous_window():
    """Why detach_state exists: this is what the loop would run into without it."""
    model = make_model()
    windows = stream_windows()
    loss, state, _ = stateful_loss(model, next(windows), None)
    loss.backward()
    loss, _, _ = stateful_loss(model, next(windows), state)  # state still holds window 1's graph
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_to_device_moves_nested_tensors_only():
    @dataclass
    class Window:
        input: torch.Tensor
        reset: bool

    batch = {"x": torch.zeros(2), "pair": (torch.ones(1), "label"), "n": 3, "window": Window(torch.ones(2), True)}
    moved = to_device(batch, torch.device("meta"))  # a device that is always there, unlike cuda
    assert moved["x"].is_meta and moved["pair"][0].is_meta and moved["window"].input.is_meta
    assert moved["pair"][1] == "label" and moved["n"] == 3 and moved["window"].reset is True
    assert isinstance(moved["pair"], tuple) and isinstance(moved["window"], Window)
    assert not batch["x"].is_meta  # the batch itself is left as it was


@pytest.mark.parametrize("clip", [0.05, None])
def test_clipping_caps_the_gradient_norm(clip):
    batch = next(stream_windows())

    def steep_loss(model, batch, state):
        loss, _, n = stateless_loss(model, batch, state)
        return 1000 * loss, None, n  # a gradient far above the cap

    model = make_model()
    before = [parameter.detach().clone() for parameter in model.parameters()]
    # Plain SGD with lr 1: the update is minus the (clipped) gradient, so its norm is the gradient's.
    result = train(model, [batch], steep_loss, quiet(steps=1, lr=1.0, optimizer="sgd", clip_grad_norm=clip))
    update = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)]).norm().item()
    recorded = result.history[0]["grad_norm"]
    assert recorded > 10  # the norm before clipping is what is recorded
    if clip is None:
        assert update == pytest.approx(recorded, rel=1e-4)
    else:
        assert update == pytest.approx(clip, rel=1e-4)


def test_evaluation_runs_in_eval_mode_and_picks_the_best_checkpoint(tmp_path):
    scores = iter([3.0, 1.0, 2.0])  # best at the second evaluation (step 4)
    modes = []
    weights_at = {}

    def evaluate(model):
        modes.append(model.training)
        assert not torch.is_grad_enabled()
        weights_at[len(modes)] = {name: t.clone() for name, t in model.state_dict().items()}
        return {"val_loss": next(scores), "accuracy": 0.5}

    model = make_model()
    config = quiet(steps=6, eval_every=2, out_dir=str(tmp_path))
    checkpoint_config = {"kind": "char-lm", "model": {"hidden_size": 16}}
    result = train(model, stream_windows(), stateless_loss, config, evaluate, checkpoint_config)

    assert modes == [False, False, False] and model.training
    assert result.best_metric == 1.0 and result.metrics["val_loss"] == 2.0
    assert [entry.get("val_loss") for entry in result.history] == [None, 3.0, None, 1.0, None, 2.0]
    best = load_checkpoint(result.best_checkpoint, "char-lm")
    last = load_checkpoint(result.last_checkpoint, "char-lm")
    assert best.config["step"] == 4 and best.config["metrics"]["val_loss"] == 1.0
    assert last.config["step"] == 6 and last.config["model"] == {"hidden_size": 16}
    assert last.config["train"]["lr"] == config.lr
    for name, tensor in best.state_dict.items():
        assert torch.equal(tensor, weights_at[2][name])
    for name, tensor in last.state_dict.items():
        assert torch.equal(tensor, weights_at[3][name])
    assert best.optimizer_state is None and last.optimizer_state is not None


@pytest.mark.parametrize("maximize,scores,stops_at", [(False, [3.0, 1.0, 0.5], 4), (True, [0.1, 0.95, 0.99], 4)])
def test_stop_at_ends_training_at_the_first_evaluation_that_reaches_it(maximize, scores, stops_at):
    values = iter(scores)
    config = quiet(steps=6, eval_every=2, stop_at=0.9 if maximize else 1.0, maximize=maximize)
    result = train(make_model(), stream_windows(), stateless_loss, config, lambda model: {"val_loss": next(values)})
    assert result.steps == stops_at and len(result.history) == stops_at and result.stopped_early
    # Without stop_at the same scores run all the steps.
    values = iter(scores)
    config = quiet(steps=6, eval_every=2, maximize=maximize)
    result = train(make_model(), stream_windows(), stateless_loss, config, lambda model: {"val_loss": next(values)})
    assert result.steps == 6 and not result.stopped_early


def test_max_minutes_stops_after_the_step_that_uses_up_the_time_and_saves_it(tmp_path):
    import time as clock

    def slow_loss(model, batch, state):
        clock.sleep(0.05)
        return stateless_loss(model, batch, state)

    evaluated = []
    config = quiet(steps=1000, eval_every=500, max_minutes=0.12 / 60, out_dir=str(tmp_path))
    result = train(make_model(), stream_windows(), slow_loss, config, lambda model: evaluated.append(1) or {"val_loss": 1.0})
    assert 2 <= result.steps <= 4 and result.out_of_time and not result.stopped_early
    # The last step, though no multiple of eval_every, was evaluated and saved: nothing is lost.
    assert evaluated == [1] and "val_loss" in result.history[-1]
    assert load_checkpoint(tmp_path / "last").config["step"] == result.steps
    # Without a limit the same run goes on; a limit that is not positive is refused.
    assert not train(make_model(), stream_windows(), stateless_loss, quiet(steps=3)).out_of_time
    with pytest.raises(ValueError, match="max_minutes must be > 0"):
        quiet(steps=3, max_minutes=0)


def test_an_out_dir_that_cannot_be_written_fails_before_the_first_step(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("mine\n")
    steps = []

    def counting_loss(model, batch, state):
        steps.append(1)
        return stateless_loss(model, batch, state)

    with pytest.raises(SeqlabError, match="checkpoint folder .* is a file"):
        train(make_model(), stream_windows(), counting_loss, quiet(steps=5, out_dir=str(blocker)))
    assert steps == [] and blocker.read_text() == "mine\n"


def test_a_missing_metric_is_a_clear_error():
    with pytest.raises(ValueError, match="without 'val_loss'"):
        train(make_model(), stream_windows(), stateless_loss, quiet(steps=1), lambda model: {"loss": 1.0})


# ---------------------------------------------------------------------------------------------
# Resume


def run(steps, out_dir, resume=False, init_seed=0):
    """Stateful tBPTT with dropout, so resuming must restore the carried state and the RNGs too."""
    model = make_model(seed=init_seed, dropout=0.3)
    config = quiet(steps=steps, eval_every=5, out_dir=str(out_dir), resume=resume, lr=1e-2, seed=7)
    evaluate = lambda model: {"val_loss": stateless_loss(model, next(stream_windows(seed=1)), None)[0].item()}
    result = train(model, stream_windows(), stateful_loss, config, evaluate, {"kind": "char-lm"})
    return model, result


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    straight, straight_result = run(10, tmp_path / "straight")

    first, _ = run(5, tmp_path / "resumed")
    assert not same_weights(first, straight)
    # Another initialisation, which the resume overwrites.
    resumed, resumed_result = run(10, tmp_path / "resumed", resume=True, init_seed=123)

    assert resumed_result.steps == 10
    assert [entry["step"] for entry in resumed_result.history] == [6, 7, 8, 9, 10]
    resumed_losses = [entry["loss"] for entry in resumed_result.history]
    assert resumed_losses == pytest.approx([entry["loss"] for entry in straight_result.history[5:]], abs=1e-6)
    assert same_weights(resumed, straight)
    assert resumed_result.best_metric == pytest.approx(straight_result.best_metric, abs=1e-6)


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    _, result = run(2, tmp_path / "new", resume=True)
    assert result.steps == 2 and result.history[0]["step"] == 1


# ---------------------------------------------------------------------------------------------
# Divergence


def test_nan_loss_stops_before_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    calls = 0

    def poisoned_loss(model, batch, state):
        nonlocal calls
        calls += 1
        loss, new_state, n = stateless_loss(model, batch, state)
        return (loss * math.nan if calls == 7 else loss), new_state, n

    model = make_model()
    config = quiet(steps=20, eval_every=3, out_dir=str(tmp_path), lr=1e-2)
    with pytest.raises(TrainingDiverged) as excinfo:
        train(model, stream_windows(), poisoned_loss, config, checkpoint_config={"kind": "char-lm"})
    assert isinstance(excinfo.value, SeqlabError)  # the command line prints it as one line
    message = str(excinfo.value)
    assert "\n" not in message
    assert "step 7" in message and "loss is nan" in message
    assert str(tmp_path / "last") in message and "(step 6)" in message
    assert "lower learning rate" in message
    assert excinfo.value.step == 7  # and the good steps before it, for plotting the curve
    assert [entry["step"] for entry in excinfo.value.result.history] == list(range(1, 7))

    last = load_checkpoint(tmp_path / "last", "char-lm")
    assert last.trainer_state["step"] == 6
    for name, tensor in model.state_dict().items():
        assert torch.isfinite(tensor).all()
        assert torch.equal(last.state_dict[name], tensor), name  # step 7 changed nothing


def test_infinite_gradient_norm_stops_training():
    def infinite_gradient(model, batch, state):
        loss, _, n = stateless_loss(model, batch, state)
        weight = model.head.bias
        return loss + torch.sqrt(weight - weight.detach()).sum(), None, n  # value 0, slope infinite

    model = make_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    expected = "step 1: the gradient norm is (inf|nan); no checkpoint was kept"
    with pytest.raises(TrainingDiverged, match=expected):
        train(model, stream_windows(), infinite_gradient, quiet(steps=3, clip_grad_norm=None))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name])


# ---------------------------------------------------------------------------------------------
# Configuration, seeding, devices


def test_config_checks():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="resume needs out_dir"):
        TrainConfig(resume=True)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        TrainConfig(clip_grad_norm=0)


def test_seed_everything_and_rng_states():
    seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    saved = get_rng_states()
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    set_rng_states(saved)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == second


def test_choose_device():
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device(" CPU ") == torch.device("cpu")
    assert choose_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device 'tpu'; choose auto, cpu, cuda, cuda:N or mps"):
        choose_device("tpu")
    with pytest.raises(ValueError, match="unknown device"):
        choose_device("cuda:x")
    with pytest.raises(ValueError, match="not available"):
        choose_device("cuda:99")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda' is not available"):
            choose_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="'mps' is not available"):
            choose_device("mps")


def test_learning_rate_schedules():
    constant = TrainConfig(steps=100, lr=0.1, warmup_steps=10, progress=False)
    assert learning_rate(0, constant) == pytest.approx(0.01)
    assert learning_rate(9, constant) == pytest.approx(0.1)
    assert learning_rate(99, constant) == pytest.approx(0.1)
    cosine = TrainConfig(steps=100, lr=0.1, lr_schedule="cosine", progress=False)
    rates = [learning_rate(s, cosine) for s in range(100)]
    assert rates[0] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(rates, rates[1:]))  # decays monotonically
    assert rates[-1] < 0.003  # to about lr / 100
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        TrainConfig(lr_schedule="step")
