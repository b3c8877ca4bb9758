"""seqlab.nn.init: identity (IRNN), orthogonal and forget-gate-bias initialisations."""

import pytest
import torch
from torch import nn

from seqlab.nn.init import chrono_, forget_gate_bias_, identity_, irnn_, orthogonal_


def recurrent_weights(module):
    """(name, weight_hh, gates, hidden) for every recurrent matrix of a torch.nn module."""
    gates = {nn.RNN: 1, nn.RNNCell: 1, nn.LSTM: 4, nn.LSTMCell: 4, nn.GRU: 3, nn.GRUCell: 3}[type(module)]
    return [
        (name, weight, gates, module.hidden_size)
        for name, weight in module.named_parameters()
        if name.startswith("weight_hh")
    ]


MODULES = [
    lambda: nn.RNN(3, 5, num_layers=2, bidirectional=True, nonlinearity="relu"),
    lambda: nn.RNNCell(3, 5),
    lambda: nn.LSTM(3, 5, num_layers=2),
    lambda: nn.LSTMCell(3, 5),
    lambda: nn.GRU(3, 5, bidirectional=True),
    lambda: nn.GRUCell(3, 5),
]


@pytest.mark.parametrize("make", MODULES)
def test_identity_sets_every_gate_block_of_w_hh(make):
    module = make()
    assert identity_(module, gain=0.5) is module
    for name, weight, gates, hidden in recurrent_weights(module):
        assert weight.shape[0] == gates * hidden
        for block in weight.split(hidden):
            torch.testing.assert_close(block, 0.5 * torch.eye(hidden), msg=name)
        assert weight.grad_fn is None and weight.requires_grad  # still a trainable leaf


def test_irnn_follows_le_jaitly_hinton():
    torch.manual_seed(0)
    rnn = irnn_(nn.RNN(3, 64, num_layers=2, nonlinearity="relu"))
    for layer in range(2):
        torch.testing.assert_close(getattr(rnn, f"weight_hh_l{layer}"), torch.eye(64))
        assert torch.count_nonzero(getattr(rnn, f"bias_ih_l{layer}")) == 0
        assert torch.count_nonzero(getattr(rnn, f"bias_hh_l{layer}")) == 0
        weight_ih = getattr(rnn, f"weight_ih_l{layer}")
        assert 0.0005 < weight_ih.std().item() < 0.002  # N(0, 0.001^2), the paper's setting
        assert weight_ih.abs().mean().item() > 0


@pytest.mark.parametrize("make", MODULES)
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_makes_each_gate_block_orthogonal(make, gain):
    module = make()
    assert orthogonal_(module, gain=gain) is module
    for name, weight, gates, hidden in recurrent_weights(module):
        blocks = weight.split(hidden)
        assert len(blocks) == gates
        for block in blocks:
            identity = torch.eye(hidden)
            torch.testing.assert_close(block @ block.T, gain**2 * identity, atol=1e-5, rtol=0, msg=name)
        if gates > 1:
            assert not torch.allclose(blocks[0], blocks[1])  # drawn per block, not copied


@pytest.mark.parametrize(
    "make", [lambda: nn.LSTM(3, 5, num_layers=2, bidirectional=True), lambda: nn.LSTMCell(3, 5)]
)
def test_forget_gate_bias_sums_to_value_and_leaves_other_gates(make):
    module = make()
    before = {name: parameter.clone() for name, parameter in module.named_parameters()}
    assert forget_gate_bias_(module, value=2.5) is module
    hidden = module.hidden_size
    forget = slice(hidden, 2 * hidden)  # gate order i, f, g, o
    names = [name for name, _ in module.named_parameters() if name.startswith("bias_ih")]
    assert names
    for name in names:
        bias_ih = getattr(module, name)
        bias_hh = getattr(module, name.replace("bias_ih", "bias_hh"))
        torch.testing.assert_close(bias_ih[forget] + bias_hh[forget], torch.full((hidden,), 2.5))
        for other in (slice(0, hidden), slice(2 * hidden, 4 * hidden)):
            torch.testing.assert_close(bias_ih[other], before[name][other])
    for name, parameter in module.named_parameters():
        if name.startswith("weight"):
            torch.testing.assert_close(parameter, before[name], msg=name)


def test_functions_reach_recurrent_layers_inside_a_model():
    model = nn.Sequential(nn.Embedding(10, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, 10))
    linear_before = model[2].weight.clone()
    orthogonal_(model)
    forget_gate_bias_(model, 1.0)
    for block in model[1].weight_hh_l0.split(6):
        torch.testing.assert_close(block @ block.T, torch.eye(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(model[1].bias_ih_l0[6:12] + model[1].bias_hh_l0[6:12], torch.ones(6))
    torch.testing.assert_close(model[2].weight, linear_before)  # not a recurrent weight


@pytest.mark.parametrize("function", [identity_, irnn_, orthogonal_, forget_gate_bias_])
def test_module_without_recurrent_weights_is_an_error(function):
    with pytest.raises(ValueError, match="Linear has no recurrent weights"):
        function(nn.Linear(3, 4))


@pytest.mark.parametrize("module", [nn.GRU(3, 5), nn.RNNCell(3, 5)])
def test_forget_gate_bias_needs_an_lstm(module):
    with pytest.raises(ValueError, match="needs an LSTM"):
        forget_gate_bias_(module)


def test_forget_gate_bias_needs_biases():
    with pytest.raises(ValueError, match="bias=False"):
        forget_gate_bias_(nn.LSTM(3, 5, bias=False))


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 64, num_layers=2), lambda: nn.LSTMCell(3, 64)])
def test_chrono_spreads_memory_spans_up_to_max_lag(make):
    module = make()
    before = {name: p.clone() for name, p in module.named_parameters()}
    chrono_(module, max_lag=100, generator=torch.Generator().manual_seed(0))
    for suffix in ("_l0", "_l1") if isinstance(module, nn.LSTM) else ("",):
        bias_ih, bias_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
        forget, store = bias_ih[64:128], bias_ih[:64]
        # sigmoid(log u) = u / (1 + u): a forget gate that keeps memory about u steps, u in [1, 99].
        kept = torch.sigmoid(forget)
        assert kept.min() >= 0.5 and kept.max() <= 99 / 100
        assert kept.max() > 0.95  # some units remember for tens of steps
        assert torch.equal(store, -forget)  # the input gate starts as the forget gate's complement
        assert torch.equal(bias_hh[:128], torch.zeros(128))
        assert torch.equal(bias_ih[128:], before["bias_ih" + suffix][128:])  # g and o untouched
    for name, p in module.named_parameters():
        if "weight" in name:
            assert torch.equal(p, before[name])


def test_chrono_needs_an_lstm_and_a_lag():
    with pytest.raises(ValueError, match="LSTM"):
        chrono_(nn.GRU(2, 4), max_lag=10)
    with pytest.raises(ValueError, match="max_lag"):
        chrono_(nn.LSTM(2, 4), max_lag=2)
