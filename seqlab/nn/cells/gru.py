"""The gated recurrent unit, the lecture's lighter gated alternative (section 5).

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh   (W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))  candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

This is torch.nn.GRU's form (Cho et al. 2014 as cuDNN computes it): the reset gate scales
W_hn h_{t-1} + b_hn *after* the matrix product, so the weights interchange with torch.nn.
Weights are stacked in the order r, z, n.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn.cells._base import prepare_cell_input


def gru_step(x_proj: Tensor, h_prev: Tensor, recurrent: Callable[[Tensor], Tensor]):
    """One step. x_proj = W_ix x_t + b_ih for r, z, n (B, 3H), computed by the caller;
    recurrent(h) = W_hh h + b_hh.

    Returns (output, state); for this cell both are h_t.
    """
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = recurrent(h_prev).chunk(3, dim=-1)
    r_t = torch.sigmoid(x_r + h_r)
    z_t = torch.sigmoid(x_z + h_z)
    n_t = torch.tanh(x_n + r_t * h_n)
    h_t = (1 - z_t) * n_t + z_t * h_prev  # z_t = 1 copies the old state: a path with no squashing
    return h_t, h_t


class GRUCell(torch.nn.GRUCell):
    """Drop-in replacement for torch.nn.GRUCell: ``cell(x_t, h_prev) -> h_t``."""

    def recurrent(self, h: Tensor) -> Tensor:
        return F.linear(h, self.weight_hh, self.bias_hh)  # W_hh h + b_hh for r, z, n

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x_t, h_prev, unbatched = prepare_cell_input(self, input, hx)
        h_t, _ = gru_step(F.linear(x_t, self.weight_ih, self.bias_ih), h_prev, self.recurrent)
        return h_t.squeeze(0) if unbatched else h_t
