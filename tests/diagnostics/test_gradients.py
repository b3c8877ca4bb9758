"""seqlab.diagnostics: gradient flow through time (lecture section 4), measured.

The vanishing-gradient tests run in float64: a tanh RNN's gradient over 100 steps falls by
~1e30, below float32's range, so in float32 the ratio would be inf rather than a number.
"""

import pytest
import torch

from seqlab.diagnostics import hidden_gradient_norms, jacobian_norms, spectral_radius
from seqlab.nn import GRU, LSTM, RNN
from seqlab.nn.init import forget_gate_bias_, identity_, irnn_

FEATURES, HIDDEN, BATCH, STEPS = 64, 64, 8, 101  # 100 steps of lag from h_0 to h_100


def built(make, seed=0):
    """A float64 layer and input, both from `seed`."""
    torch.manual_seed(seed)
    layer = make().double()
    x = torch.randn(STEPS, BATCH, FEATURES, dtype=torch.float64)
    return layer, x


def decay(layer, x):
    """How much ||dL/dh_t|| shrinks from lag 0 (t = T-1) to lag 100 (t = 0), loss="last"."""
    norms = hidden_gradient_norms(layer, x, loss="last")
    assert norms.shape == (STEPS,)
    return (norms[-1] / norms[0]).item()


# ------------------------------------------------------------------ vanishing gradients
def test_tanh_rnn_gradient_vanishes_over_100_steps():
    layer, x = built(lambda: RNN(FEATURES, HIDDEN))
    assert decay(layer, x) >= 1e3  # measured: ~1e35


def test_irnn_keeps_the_gradient():
    # Le et al. 2015: identity W_hh, zero biases, ReLU -> each active unit copies its
    # gradient back unchanged (lecture section 4, remedies 1 and 2).
    tanh = decay(*built(lambda: RNN(FEATURES, HIDDEN)))
    irnn = decay(*built(lambda: irnn_(RNN(FEATURES, HIDDEN, nonlinearity="relu"))))
    assert 0.1 < irnn < 10  # measured: ~5
    assert irnn < tanh * 1e-20


def test_lstm_with_open_forget_gate_keeps_the_gradient():
    tanh = decay(*built(lambda: RNN(FEATURES, HIDDEN)))
    # At torch's default init the forget gate sits near sigmoid(0) = 0.5, so c's gradient
    # halves each step and the LSTM's gradient vanishes too (measured: ~7e22 over 100 steps).
    default = decay(*built(lambda: LSTM(FEATURES, HIDDEN)))
    assert default > 1e3
    # The forget-gate bias (Gers et al. 2000) opens the additive cell path (lecture section 5).
    bias_1 = decay(*built(lambda: forget_gate_bias_(LSTM(FEATURES, HIDDEN), 1.0)))
    bias_3 = decay(*built(lambda: forget_gate_bias_(LSTM(FEATURES, HIDDEN), 3.0)))
    assert bias_1 < tanh * 1e-6  # measured: ~2e10 against ~1e35
    assert bias_3 < 100  # measured: ~21


def test_jacobian_norm_below_one_at_init_and_above_after_scaling_w_hh():
    layer, x = built(lambda: RNN(FEATURES, HIDDEN))
    x = x[:40]
    norms = jacobian_norms(layer, x)
    assert norms.shape == (39,)
    assert norms.mean() < 1  # measured: ~0.93
    with torch.no_grad():
        layer.weight_hh_l0.mul_(3)
    assert jacobian_norms(layer, x).mean() > 1  # measured: ~2.4


def test_jacobian_matches_hand_computation():
    # h_t = tanh(a_t) with a_t = W_xh x_t + b_ih + W_hh h_{t-1} + b_hh, so
    # dh_1/dh_0 = diag(1 - h_1^2) W_hh, for the first sequence.
    layer, x = built(lambda: RNN(FEATURES, 5))
    x = x[:2]
    output, _ = layer(x)
    h_1 = output[1, 0]
    jacobian = torch.diag(1 - h_1**2) @ layer.weight_hh_l0
    expected = torch.linalg.matrix_norm(jacobian, ord=2)
    torch.testing.assert_close(jacobian_norms(layer, x), expected.detach().reshape(1))


def test_lstm_jacobian_includes_the_cell_path():
    # With W_hh = 0 the gates do not depend on h_{t-1}, and per unit k the state Jacobian of
    # (h_k, c_k) is [[0, a_k], [0, f_k]]: dc_t/dc_{t-1} = f_t, and dh_t/dc_{t-1} = a_t =
    # o_t (1 - tanh^2 c_t) f_t. Its spectral norm is max_k sqrt(a_k^2 + f_k^2).
    layer, x = built(lambda: LSTM(FEATURES, 5))
    x = x[:2]
    with torch.no_grad():
        layer.weight_hh_l0.zero_()
        _, (_, c_1) = layer(x)
        gates = (x[1, 0] @ layer.weight_ih_l0.T + layer.bias_ih_l0 + layer.bias_hh_l0).chunk(4)
    forget, output = torch.sigmoid(gates[1]), torch.sigmoid(gates[3])
    a = output * (1 - torch.tanh(c_1[0, 0]) ** 2) * forget
    expected = (a**2 + forget**2).sqrt().max()
    torch.testing.assert_close(jacobian_norms(layer, x), expected.reshape(1))


# ------------------------------------------------------------------------ spectral radius
def test_spectral_radius_of_identity_and_scaled_weights():
    layer = identity_(RNN(3, 16))
    assert spectral_radius(layer) == pytest.approx({"weight_hh_l0": 1.0})

    torch.manual_seed(0)
    layer = LSTM(3, 16, num_layers=2)
    before = spectral_radius(layer)
    assert set(before) == {f"weight_hh_l{k}[{g}]" for k in (0, 1) for g in "ifgo"}
    with torch.no_grad():
        layer.weight_hh_l1.mul_(2.5)
    after = spectral_radius(layer)
    for key, radius in before.items():
        assert after[key] == pytest.approx(radius * (2.5 if "_l1" in key else 1.0), rel=1e-6)  # W_hh is float32

    gru = identity_(GRU(3, 4, bidirectional=True), gain=0.5)
    radii = spectral_radius(gru)
    assert set(radii) == {f"weight_hh_l0{d}[{g}]" for d in ("", "_reverse") for g in "rzn"}
    assert all(r == pytest.approx(0.5) for r in radii.values())


# ------------------------------------------------------- the gradients, checked another way
@pytest.mark.parametrize(
    "make",
    [lambda: RNN(4, 6, num_layers=2), lambda: LSTM(4, 6), lambda: GRU(4, 6)],
    ids=["rnn-2-layers", "lstm", "gru"],
)
def test_gradient_norms_match_autograd_from_each_state(make):
    """dL/dh_t is the gradient of L w.r.t. the initial state of a full forward over the
    remaining steps x[t+1:] started from the state at t (the scratch layer's sequence path,
    not the step-by-step unroll the diagnostic uses). Readout: w ~ N(0, 1/H) from seed 7."""
    torch.manual_seed(0)
    layer = make().double()
    x = torch.randn(9, 3, 4, dtype=torch.float64)
    norms = hidden_gradient_norms(layer, x, loss="last", seed=7)
    readout = torch.randn(6, generator=torch.Generator().manual_seed(7), dtype=torch.float64) / 6**0.5
    is_lstm = isinstance(layer, LSTM)
    for t in range(x.shape[0] - 1):
        _, state = layer(x[: t + 1])
        h = (state[0] if is_lstm else state).detach().requires_grad_()  # (L, B, H)
        rest, _ = layer(x[t + 1 :], (h, state[1].detach()) if is_lstm else h)
        (grad,) = torch.autograd.grad((rest[-1] @ readout).sum(), h)
        top = grad[-1]  # the top layer's h_t, (B, H)
        torch.testing.assert_close(norms[t], top.norm(dim=-1).mean())
    # At the last step only the readout itself: dL/dh_{T-1} = w for every sequence.
    torch.testing.assert_close(norms[-1], readout.norm())


def test_sum_loss_and_target():
    layer, x = built(lambda: RNN(FEATURES, HIDDEN))
    x = x[:10]
    last = hidden_gradient_norms(layer, x, loss="last")
    summed = hidden_gradient_norms(layer, x, loss="sum")
    # Both read h_{T-1} the same way; "sum" also reads every earlier step directly.
    torch.testing.assert_close(summed[-1], last[-1])
    assert not torch.allclose(summed[:-1], last[:-1])

    # Squared error to a zero target: dL/dh_{T-1} = h_{T-1}.
    output, _ = layer(x)
    target = torch.zeros(BATCH, HIDDEN, dtype=torch.float64)
    norms = hidden_gradient_norms(layer, x, loss="last", target=target)
    torch.testing.assert_close(norms[-1], output[-1].norm(dim=-1).mean().detach())
    norms = hidden_gradient_norms(layer, x, loss="sum", target=output.detach())
    assert norms.abs().max() < 1e-12  # at the target, no gradient anywhere


def test_deterministic_given_seed_and_leaves_parameter_grads_alone():
    layer, x = built(lambda: GRU(FEATURES, 8))
    x = x[:6]
    first = hidden_gradient_norms(layer, x, seed=3)
    torch.testing.assert_close(hidden_gradient_norms(layer, x, seed=3), first, rtol=0, atol=0)
    assert not torch.allclose(hidden_gradient_norms(layer, x, seed=4), first)
    assert all(p.grad is None for p in layer.parameters())


def test_fused_and_batch_first_give_the_same_numbers():
    torch.manual_seed(0)
    scratch = LSTM(4, 6).double()
    fused = LSTM(4, 6, backend="fused").double()
    fused.load_state_dict(scratch.state_dict())
    batch_first = LSTM(4, 6, batch_first=True).double()
    batch_first.load_state_dict(scratch.state_dict())
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    expected = hidden_gradient_norms(scratch, x)
    torch.testing.assert_close(hidden_gradient_norms(fused, x), expected)
    torch.testing.assert_close(hidden_gradient_norms(batch_first, x.transpose(0, 1)), expected)
    torch.testing.assert_close(jacobian_norms(fused, x), jacobian_norms(scratch, x))
    torch.testing.assert_close(jacobian_norms(batch_first, x.transpose(0, 1)), jacobian_norms(scratch, x))


# ------------------------------------------------------------------------------ bad input
def test_bad_input_gets_a_clear_error():
    layer = RNN(4, 6)
    x = torch.randn(5, 2, 4)
    with pytest.raises(ValueError, match="unidirectional"):
        hidden_gradient_norms(RNN(4, 6, bidirectional=True), x)
    with pytest.raises(ValueError, match="unidirectional"):
        jacobian_norms(LSTM(4, 6, bidirectional=True), x)
    with pytest.raises(ValueError, match=r"expected x of shape \(T, B, F\)"):
        hidden_gradient_norms(layer, torch.randn(5, 4))
    with pytest.raises(ValueError, match="input_size = 4"):
        jacobian_norms(layer, torch.randn(5, 2, 3))
    with pytest.raises(ValueError, match="loss must be one of"):
        hidden_gradient_norms(layer, x, loss="mean")
    with pytest.raises(ValueError, match=r"target for loss='sum' must have shape \(5, 2, 6\)"):
        hidden_gradient_norms(layer, x, loss="sum", target=torch.zeros(2, 6))
    with pytest.raises(ValueError, match="at least 2 time steps"):
        jacobian_norms(layer, x[:1])
    with pytest.raises(ValueError, match="seqlab RNN, LSTM or GRU"):
        spectral_radius(torch.nn.Linear(3, 3))
