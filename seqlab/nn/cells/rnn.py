"""The vanilla recurrent cell (lecture section 2).

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)

torch.nn names W_xh `weight_ih` and W_hh `weight_hh`, and keeps two biases (`bias_ih`,
`bias_hh`) whose sum is the lecture's b; we keep both so that weights interchange with
torch.nn.RNNCell. With nonlinearity="relu" this is the cell of the IRNN (Le et al. 2015),
one of the lecture's remedies for vanishing gradients (section 4).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn.cells._base import prepare_cell_input


def rnn_tanh_step(x_proj: Tensor, h_prev: Tensor, recurrent: Callable[[Tensor], Tensor]):
    """One step. x_proj = W_xh x_t + b_ih, computed by the caller (for all t at once in a
    layer); recurrent(h) = W_hh h + b_hh.

    Returns (output, state); for this cell both are h_t.
    """
    h_t = torch.tanh(x_proj + recurrent(h_prev))  # update the hidden state
    return h_t, h_t


def rnn_relu_step(x_proj: Tensor, h_prev: Tensor, recurrent: Callable[[Tensor], Tensor]):
    """The same step with ReLU, whose derivative is 1 for positive inputs (lecture section 4)."""
    h_t = torch.relu(x_proj + recurrent(h_prev))
    return h_t, h_t


class RNNCell(torch.nn.RNNCell):
    """Drop-in replacement for torch.nn.RNNCell, written from the lecture's equation.

    Same constructor, parameters (and their initialisation), inputs and outputs:
    ``cell(x_t, h_prev) -> h_t`` with x_t of shape (B, input_size) or (input_size,).
    """

    def recurrent(self, h: Tensor) -> Tensor:
        return F.linear(h, self.weight_hh, self.bias_hh)  # W_hh h + b_hh

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x_t, h_prev, unbatched = prepare_cell_input(self, input, hx)
        step = rnn_tanh_step if self.nonlinearity == "tanh" else rnn_relu_step
        h_t, _ = step(F.linear(x_t, self.weight_ih, self.bias_ih), h_prev, self.recurrent)
        return h_t.squeeze(0) if unbatched else h_t
