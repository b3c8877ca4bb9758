"""The long short-term memory cell (lecture section 5).

An LSTM keeps a cell state c_t apart from its output h_t; sigmoid gates decide what passes:

    i_t = sigmoid(W_ii x_t + W_hi h_{t-1} + b_i)     store: how much of the candidate to write
    f_t = sigmoid(W_if x_t + W_hf h_{t-1} + b_f)     forget: how much of c_{t-1} to keep
    g_t = tanh   (W_ig x_t + W_hg h_{t-1} + b_g)     candidate values
    o_t = sigmoid(W_io x_t + W_ho h_{t-1} + b_o)     output: which parts of the state to show
    c_t = f_t * c_{t-1} + i_t * g_t                   update
    h_t = o_t * tanh(c_t)                             output, a filtered cell state

The four gates' weights are stacked in one matrix in torch.nn's order i, f, g, o, so that
one matrix product computes all four and the weights interchange with torch.nn.LSTMCell.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn.cells._base import prepare_cell_input


def lstm_step(x_proj: Tensor, state: tuple[Tensor, Tensor], recurrent: Callable[[Tensor], Tensor]):
    """One step. x_proj = W_ix x_t + b_ih for the four gates (B, 4H), computed by the caller;
    recurrent(h) = W_hh h + b_hh.

    Returns (output, state) = (h_t, (h_t, c_t)).
    """
    h_prev, c_prev = state
    gates = x_proj + recurrent(h_prev)  # (B, 4H): i, f, g, o side by side
    i_gate, f_gate, g_gate, o_gate = gates.chunk(4, dim=-1)
    i_t = torch.sigmoid(i_gate)
    f_t = torch.sigmoid(f_gate)
    g_t = torch.tanh(g_gate)
    o_t = torch.sigmoid(o_gate)
    # The update is additive: dc_t/dc_{t-1} = f_t, with no weight matrix in the way, which is
    # why gradients flow back through time largely uninterrupted (lecture section 5).
    c_t = f_t * c_prev + i_t * g_t
    h_t = o_t * torch.tanh(c_t)
    return h_t, (h_t, c_t)


class LSTMCell(torch.nn.LSTMCell):
    """Drop-in replacement for torch.nn.LSTMCell, written from the lecture's equations.

    ``cell(x_t, (h_prev, c_prev)) -> (h_t, c_t)``; a missing state is zeros.
    """

    def recurrent(self, h: Tensor) -> Tensor:
        return F.linear(h, self.weight_hh, self.bias_hh)  # W_hh h + b_hh, all four gates

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a tuple (h_0, c_0) of two tensors")
        x_t, h_prev, unbatched = prepare_cell_input(self, input, None if hx is None else hx[0], "hx[0]")
        _, c_prev, _ = prepare_cell_input(self, input, None if hx is None else hx[1], "hx[1]")
        _, (h_t, c_t) = lstm_step(
            F.linear(x_t, self.weight_ih, self.bias_ih), (h_prev, c_prev), self.recurrent
        )
        if unbatched:
            return h_t.squeeze(0), c_t.squeeze(0)
        return h_t, c_t
