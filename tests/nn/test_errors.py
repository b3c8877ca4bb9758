"""Bad input to the recurrent core gets a ValueError or TypeError naming what was wrong."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import seqlab.nn as snn


@pytest.fixture(params=["scratch", "fused"])
def lstm(request):
    return snn.LSTM(5, 6, num_layers=2, backend=request.param)


@pytest.fixture(params=["scratch", "fused"])
def gru(request):
    return snn.GRU(5, 6, batch_first=True, backend=request.param)


def test_wrong_rank(lstm):
    with pytest.raises(ValueError, match="expected input of 2 .* or 3 .* dimensions, got 4"):
        lstm(torch.randn(2, 3, 4, 5))


def test_wrong_feature_size(gru):
    with pytest.raises(ValueError, match=r"expected input with 5 features \(input_size\), got 7"):
        gru(torch.randn(2, 3, 7))


def test_hx_wrong_shape(lstm):
    h = torch.zeros(1, 3, 6)
    with pytest.raises(ValueError, match=r"h_0.*shape \(2, 3, 6\), got \(1, 3, 6\)"):
        lstm(torch.randn(4, 3, 5), (h, torch.zeros(2, 3, 6)))


def test_lstm_hx_not_a_tuple(lstm):
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(torch.randn(4, 3, 5), torch.zeros(2, 3, 6))


def test_hx_unbatched_shape(gru):
    with pytest.raises(ValueError, match=r"hx of shape \(1, 6\)"):
        gru(torch.randn(4, 5), torch.zeros(1, 1, 6))


@pytest.mark.parametrize("lengths,message", [
    ([4, 0, 2], r"lengths must lie in \[1, 4\].*min 0"),
    ([5, 1, 2], r"lengths must lie in \[1, 4\].*max 5"),
    ([4, 2], "expected 3 lengths"),
    ([[4, 2, 1]], "1-D integer"),
    ([4.0, 2.0, 1.0], "1-D integer"),
])
def test_bad_lengths(lstm, lengths, message):
    with pytest.raises(ValueError, match=message):
        lstm(torch.randn(4, 3, 5), lengths=lengths)


def test_lengths_with_packed_input(lstm):
    packed = pack_padded_sequence(torch.randn(4, 3, 5), [4, 2, 1])
    with pytest.raises(ValueError, match="PackedSequence carries its own"):
        lstm(packed, lengths=[4, 2, 1])


def test_dtype_mismatch(gru):
    with pytest.raises(TypeError, match="dtype torch.float64 but the parameters are torch.float32"):
        gru(torch.randn(2, 3, 5, dtype=torch.float64))


def test_device_mismatch(gru):
    with pytest.raises(ValueError, match="is on meta but the parameters are on cpu"):
        gru(torch.randn(2, 3, 5, device="meta"))


def test_not_a_tensor(gru):
    with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
        gru([[1.0] * 5])


def test_unknown_backend_and_nonlinearity():
    with pytest.raises(ValueError, match="backend must be one of"):
        snn.LSTM(5, 6, backend="cudnn")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        snn.RNN(5, 6, nonlinearity="sigmoid")


def test_cell_errors():
    cell = snn.LSTMCell(5, 6)
    with pytest.raises(ValueError, match="expected input with 5 features"):
        cell(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"hx\[1\] of shape \(3, 6\), got \(2, 6\)"):
        cell(torch.randn(3, 5), (torch.zeros(3, 6), torch.zeros(2, 6)))
    with pytest.raises(ValueError, match="1 .* or 2 .* dimensions, got 3"):
        snn.GRUCell(5, 6)(torch.randn(1, 3, 5))
