"""The NumPy reference (seqlab.reference): hand-written BPTT is right, and agrees with autograd.

Three independent witnesses: centred finite differences (no calculus at all), torch's
autograd through seqlab's scratch cells on the same weights, and plain SGD with the
hand-written gradients actually lowering the loss.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.nn.cells import LSTMCell, RNNCell
from seqlab.reference import (
    gradient_check,
    init_lstm_params,
    init_rnn_params,
    lstm_backward,
    lstm_forward,
    lstm_loss,
    lstm_loss_and_grads,
    rnn_backward,
    rnn_forward,
    rnn_loss,
    rnn_loss_and_grads,
    softmax,
    softmax_cross_entropy,
)
from seqlab.reference.numpy_rnn import PARAM_NAMES

# Small sizes keep the finite differences (two forward passes per entry) fast.
T, B, I, H, V = 5, 3, 4, 5, 4
CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # the rest is the output layer


def make_data(seed: int = 0, one_hot: bool = False):
    """Inputs (T, B, I), targets (T, B) and a non-zero initial state (B, H) twice."""
    rng = np.random.default_rng(seed)
    if one_hot:
        xs = np.eye(I)[rng.integers(0, I, size=(T, B))]  # (T, B, I)
    else:
        xs = rng.normal(size=(T, B, I))
    targets = rng.integers(0, V, size=(T, B))
    # A non-zero state, so that dL/dh0 and dL/dc0 are exercised through every term.
    h0 = 0.5 * rng.normal(size=(B, H))
    c0 = 0.5 * rng.normal(size=(B, H))
    return xs, targets, h0, c0


# ----------------------------------------------------------------------------------------
# 1. Finite differences
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("one_hot", [False, True])
def test_rnn_gradients_match_centred_finite_differences(one_hot):
    xs, targets, h0, _ = make_data(seed=1, one_hot=one_hot)
    params = init_rnn_params(I, H, V, rng=2)
    _, grads, _ = rnn_loss_and_grads(params, xs, targets, h0)

    inputs = {**params, "h0": h0}  # check the state's gradient along with the weights

    def loss_of(d):
        return rnn_loss({name: d[name] for name in PARAM_NAMES}, xs, targets, d["h0"])

    errors = gradient_check(loss_of, inputs, grads, eps=1e-6)
    assert set(errors) == set(PARAM_NAMES) | {"h0"}
    for name, error in errors.items():
        assert error <= 1e-6, f"{name}: relative error {error:.2e}"


@pytest.mark.parametrize("one_hot", [False, True])
def test_lstm_gradients_match_centred_finite_differences(one_hot):
    xs, targets, h0, c0 = make_data(seed=3, one_hot=one_hot)
    params = init_lstm_params(I, H, V, rng=4)
    _, grads, _ = lstm_loss_and_grads(params, xs, targets, h0, c0)

    inputs = {**params, "h0": h0, "c0": c0}

    def loss_of(d):
        return lstm_loss({name: d[name] for name in PARAM_NAMES}, xs, targets, d["h0"], d["c0"])

    errors = gradient_check(loss_of, inputs, grads, eps=1e-6)
    assert set(errors) == set(PARAM_NAMES) | {"h0", "c0"}
    for name, error in errors.items():
        assert error <= 1e-6, f"{name}: relative error {error:.2e}"


def test_gradient_check_catches_a_wrong_gradient():
    """The check must be able to fail: a gradient missing one step's term is flagged."""
    xs, targets, h0, _ = make_data(seed=5)
    params = init_rnn_params(I, H, V, rng=6)
    cache = rnn_forward(params, xs, h0)
    _, dlogits = softmax_cross_entropy(cache["logits"], targets)
    dlogits_wrong = dlogits.copy()
    dlogits_wrong[0] = 0.0  # forget the loss at the first step
    wrong, _ = rnn_backward(params, cache, dlogits_wrong)

    def loss_of(d):
        return rnn_loss(d, xs, targets, h0)

    errors = gradient_check(loss_of, params, wrong)
    assert max(errors.values()) > 1e-2


def test_softmax_is_stable_for_large_logits():
    logits = np.array([[1000.0, 1000.0, -1000.0]])
    probs = softmax(logits)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0]])
    loss, dlogits = softmax_cross_entropy(logits[None], np.array([[0]]))
    assert np.isclose(loss, np.log(2.0))
    assert np.all(np.isfinite(dlogits))


def test_bad_input_gets_a_clear_error():
    xs, targets, h0, _ = make_data()
    params = init_rnn_params(I, H, V, rng=0)
    with pytest.raises(ValueError, match="h0 of shape"):
        rnn_loss_and_grads(params, xs, targets, h0[:, :-1])
    with pytest.raises(ValueError, match="targets must lie in"):
        rnn_loss_and_grads(params, xs, targets + V, h0)


# ----------------------------------------------------------------------------------------
# 2. Autograd through seqlab's scratch cells, on the same weights
# ----------------------------------------------------------------------------------------


def torch_cell_from(cell_class, params):
    """A float64 seqlab cell holding exactly the NumPy weights (same names, same layout)."""
    cell = cell_class(I, H, dtype=torch.float64)
    with torch.no_grad():
        for name in CELL_PARAMS:
            getattr(cell, name).copy_(torch.from_numpy(params[name]))
    return cell


def torch_output_layer(params):
    weight_hy = torch.tensor(params["weight_hy"], requires_grad=True)
    bias_hy = torch.tensor(params["bias_hy"], requires_grad=True)
    return weight_hy, bias_hy


def assert_grads_match(numpy_grads, torch_grads):
    for name, torch_grad in torch_grads.items():
        diff = np.abs(numpy_grads[name] - torch_grad.detach().numpy()).max()
        assert diff <= 1e-10, f"{name}: |numpy - autograd| = {diff:.2e}"


def test_rnn_agrees_with_autograd_through_seqlab_rnn_cell():
    xs, targets, h0, _ = make_data(seed=7)
    params = init_rnn_params(I, H, V, rng=8)
    cache = rnn_forward(params, xs, h0)
    loss, dlogits = softmax_cross_entropy(cache["logits"], targets)
    grads, dh_norms = rnn_backward(params, cache, dlogits)

    cell = torch_cell_from(RNNCell, params)
    weight_hy, bias_hy = torch_output_layer(params)
    h0_t = torch.tensor(h0, requires_grad=True)
    targets_t = torch.from_numpy(targets)
    h, hs, loss_t = h0_t, [], 0.0
    for t in range(T):  # the time loop, unrolled by hand
        h = cell(torch.from_numpy(xs[t]), h)
        h.retain_grad()  # keep dL/dh_t to compare with the NumPy dh_norms
        hs.append(h)
        loss_t = loss_t + F.cross_entropy(F.linear(h, weight_hy, bias_hy), targets_t[t])
    loss_t.backward()

    assert abs(loss - loss_t.item()) <= 1e-12
    assert_grads_match(
        grads,
        {
            **{name: getattr(cell, name).grad for name in CELL_PARAMS},
            "weight_hy": weight_hy.grad,
            "bias_hy": bias_hy.grad,
            "h0": h0_t.grad,
        },
    )
    np.testing.assert_allclose(dh_norms, [h_t.grad.norm().item() for h_t in hs], rtol=1e-10)
    np.testing.assert_allclose(cache["hs"][-1], h.detach().numpy(), atol=1e-12)


def test_lstm_agrees_with_autograd_through_seqlab_lstm_cell():
    xs, targets, h0, c0 = make_data(seed=9)
    params = init_lstm_params(I, H, V, rng=10)
    cache = lstm_forward(params, xs, h0, c0)
    loss, dlogits = softmax_cross_entropy(cache["logits"], targets)
    grads, dh_norms = lstm_backward(params, cache, dlogits)

    cell = torch_cell_from(LSTMCell, params)
    weight_hy, bias_hy = torch_output_layer(params)
    h0_t = torch.tensor(h0, requires_grad=True)
    c0_t = torch.tensor(c0, requires_grad=True)
    targets_t = torch.from_numpy(targets)
    h, c, hs, loss_t = h0_t, c0_t, [], 0.0
    for t in range(T):
        h, c = cell(torch.from_numpy(xs[t]), (h, c))
        h.retain_grad()
        hs.append(h)
        loss_t = loss_t + F.cross_entropy(F.linear(h, weight_hy, bias_hy), targets_t[t])
    loss_t.backward()

    assert abs(loss - loss_t.item()) <= 1e-12
    assert_grads_match(
        grads,
        {
            **{name: getattr(cell, name).grad for name in CELL_PARAMS},
            "weight_hy": weight_hy.grad,
            "bias_hy": bias_hy.grad,
            "h0": h0_t.grad,
            "c0": c0_t.grad,
        },
    )
    np.testing.assert_allclose(dh_norms, [h_t.grad.norm().item() for h_t in hs], rtol=1e-10)
    np.testing.assert_allclose(cache["c"][-1], c.detach().numpy(), atol=1e-12)


# ----------------------------------------------------------------------------------------
# 3. The gradients are usable: plain SGD lowers the loss
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "init, loss_and_grads, state",
    [
        (init_rnn_params, rnn_loss_and_grads, ("h0",)),
        (init_lstm_params, lstm_loss_and_grads, ("h0", "c0")),
    ],
    ids=["rnn", "lstm"],
)
def test_sgd_with_hand_written_bptt_learns_a_fixed_sequence(init, loss_and_grads, state):
    # Next-token prediction on one fixed sequence of 8 one-hot tokens (the lab's task in
    # miniature): the target is the input shifted by one.
    tokens = np.array([0, 1, 2, 3, 2, 1, 0, 3, 3])
    xs = np.eye(V)[tokens[:-1]][:, None, :]  # (T=8, B=1, V)
    targets = tokens[1:][:, None]  # (T=8, B=1)
    zeros = np.zeros((1, 8))
    params = init(V, 8, V, rng=11)

    # The loss is summed over the 8 steps, so its gradient is ~8x a per-step mean's: a
    # modest learning rate (0.5 diverges for the RNN here).
    losses = []
    for _ in range(150):
        loss, grads, _ = loss_and_grads(params, xs, targets, *[zeros] * len(state))
        losses.append(loss)
        for name in PARAM_NAMES:
            params[name] -= 0.2 * grads[name]
    assert losses[-1] < 0.2 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
