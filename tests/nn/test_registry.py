"""seqlab.nn.registry: the one table of cells a user can name, and recurrent_layer."""

import math

import pytest
import torch

import seqlab.nn as snn
from seqlab.errors import ConfigError, SeqlabError
from seqlab.nn.init import chrono_, forget_gate_bias_, irnn_
from seqlab.nn.registry import CELLS, display_name, get_cell, recurrent_layer


def test_the_table_names_four_cells_in_the_lectures_order():
    assert list(CELLS) == ["rnn", "irnn", "lstm", "gru"]
    assert [cell.display for cell in CELLS.values()] == ["tanh RNN", "IRNN", "LSTM", "GRU"]
    assert [cell.layer for cell in CELLS.values()] == [snn.RNN, snn.RNN, snn.LSTM, snn.GRU]
    assert [cell.nonlinearity for cell in CELLS.values()] == ["tanh", "relu", None, None]
    assert [cell.gates for cell in CELLS.values()] == [1, 1, 4, 3]
    assert [cell.mode for cell in CELLS.values()] == ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
    assert display_name("irnn") == "IRNN" and get_cell("gru") is CELLS["gru"]
    assert snn.CELLS is CELLS and snn.recurrent_layer is recurrent_layer  # exported from seqlab.nn


@pytest.mark.parametrize("name", list(CELLS))
def test_each_cell_builds_the_layer_the_table_describes(name):
    spec = CELLS[name]
    layer = recurrent_layer(name, 3, 5)
    assert type(layer) is spec.layer and layer.mode == spec.mode
    assert layer.weight_hh_l0.shape == (spec.gates * 5, 5)
    assert len(spec.gate_names) in (0, spec.gates)
    output, _ = layer(torch.randn(7, 2, 3))
    assert output.shape == (7, 2, 5)


def test_each_cell_starts_with_its_own_initialisation():
    irnn = recurrent_layer("irnn", 2, 6)
    assert irnn.nonlinearity == "relu" and torch.equal(irnn.weight_hh_l0, torch.eye(6))
    assert not irnn.bias_ih_l0.any() and not irnn.bias_hh_l0.any()
    lstm = recurrent_layer("lstm", 2, 6)
    forget = slice(6, 12)  # gate order i, f, g, o
    assert torch.equal(lstm.bias_ih_l0[forget] + lstm.bias_hh_l0[forget], torch.ones(6))


@pytest.mark.parametrize(
    "name,by_hand",
    [
        ("rnn", lambda: snn.RNN(3, 5, nonlinearity="tanh")),
        ("irnn", lambda: irnn_(snn.RNN(3, 5, nonlinearity="relu"))),
        ("lstm", lambda: forget_gate_bias_(snn.LSTM(3, 5), 1.0)),
        ("gru", lambda: snn.GRU(3, 5)),
    ],
)
def test_a_seed_gives_the_weights_the_tasks_drew_before_the_registry(name, by_hand):
    # The layer's own draw first, then the initialisation's (the IRNN's input weights), from
    # torch's global generator: seeded runs of the long-term tasks keep their numbers.
    torch.manual_seed(3)
    expected = by_hand().state_dict()
    torch.manual_seed(3)
    got = recurrent_layer(name, 3, 5).state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[key], got[key]) for key in expected)


@pytest.mark.parametrize("name,reference", [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)])
def test_init_torch_leaves_torch_nns_initialisation(name, reference):
    torch.manual_seed(0)
    expected = reference(3, 5).state_dict()
    torch.manual_seed(0)
    got = recurrent_layer(name, 3, 5, init="torch").state_dict()
    assert all(torch.equal(expected[key], got[key]) for key in expected)


def test_chrono_spreads_the_lstms_forget_biases_up_to_the_lag():
    torch.manual_seed(0)
    lstm = recurrent_layer("lstm", 2, 64, init="chrono", chrono_lag=400)
    forget = (lstm.bias_ih_l0 + lstm.bias_hh_l0)[64:128]
    assert forget.min() >= 0 and forget.max() <= math.log(399) and forget.max() > math.log(100)
    torch.manual_seed(0)
    by_hand = chrono_(snn.LSTM(2, 64), 400)
    assert torch.equal(by_hand.bias_ih_l0, lstm.bias_ih_l0)


def test_layer_options_pass_through():
    layer = recurrent_layer("gru", 3, 4, num_layers=2, batch_first=True, dropout=0.1, bidirectional=True,
                            backend="fused", dtype=torch.float64)
    assert (layer.num_layers, layer.batch_first, layer.dropout, layer.bidirectional) == (2, True, 0.1, True)
    assert layer.backend == "fused" and layer.weight_hh_l1.dtype == torch.float64
    output, _ = layer(torch.randn(2, 7, 3, dtype=torch.float64))  # (B, T, F)
    assert output.shape == (2, 7, 8)
    lstm = recurrent_layer("lstm", 3, 4, num_layers=2)
    for suffix in ("l0", "l1"):  # the forget-gate bias on every layer
        bias = getattr(lstm, f"bias_ih_{suffix}") + getattr(lstm, f"bias_hh_{suffix}")
        assert torch.equal(bias[4:8], torch.ones(4))


@pytest.mark.parametrize(
    "call,field,message",
    [
        (lambda: recurrent_layer("transformer", 2, 4), "cell", "cell must be one of rnn, irnn, lstm, gru, got 'transformer'"),
        (lambda: get_cell("LSTM"), "cell", "got 'LSTM'"),
        (lambda: recurrent_layer("lstm", 2, 4, init="xavier"), "init", "init must be one of default, torch, chrono"),
        (lambda: recurrent_layer("gru", 2, 4, init="chrono", chrono_lag=50), "init", "chrono is for the LSTM"),
        (lambda: recurrent_layer("lstm", 2, 4, init="chrono"), "chrono_lag", "chrono_lag must be at least 3"),
        (lambda: recurrent_layer("lstm", 2, 4, init="chrono", chrono_lag=2), "chrono_lag", "got 2"),
        (lambda: recurrent_layer("lstm", 2, 4, chrono_lag=50), "chrono_lag", "is for init='chrono'"),
        (lambda: recurrent_layer("irnn", 2, 4, init="torch"), "init", "identity initialisation"),
        (lambda: recurrent_layer("rnn", 2, 4, nonlinearity="relu"), "nonlinearity", "choose rnn (tanh) or irnn (ReLU)"),
    ],
)
def test_a_wrong_name_or_option_is_a_clear_config_error(call, field, message):
    with pytest.raises(ConfigError) as refused:
        call()
    assert refused.value.field == field and message in str(refused.value)
    # A user's error for the command line, a ValueError for code that builds layers by hand.
    assert isinstance(refused.value, SeqlabError) and isinstance(refused.value, ValueError)
    assert "\n" not in str(refused.value)

