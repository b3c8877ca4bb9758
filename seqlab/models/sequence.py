"""A sequence model for the long-term dependency problems: one recurrent layer and a readout.

    x (T, B, F) -> recurrent layer -> h (T, B, H) -> Linear -> y (B, O) from h_{T-1}   (many to one)
                                                          or y (T, B, O) from every h_t (many to many)

and the four recurrent layers the lecture compares (section 5), each with the initialisation
that goes with it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

import seqlab.nn as snn
from seqlab.nn.init import chrono_, forget_gate_bias_, irnn_

# Short name -> the name the lecture and the plots use.
CELLS = {"rnn": "tanh RNN", "irnn": "IRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_layer(
    cell: str, input_size: int, hidden_size: int, backend: str = "fused", chrono_lag: int | None = None
) -> nn.Module:
    """One of the lecture's four recurrent layers:

    rnn   tanh RNN with torch's default init, uniform(-1/sqrt(H), 1/sqrt(H)): the plain RNN
          whose gradients vanish;
    irnn  ReLU RNN with W_hh = I and zero biases (Le, Jaitly & Hinton 2015): at init the
          state is copied forward unchanged, so gradients neither vanish nor explode;
    lstm  LSTM with forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015), so the cell
          starts out keeping most of its memory;
    gru   GRU with torch's default init.

    `chrono_lag`: give an LSTM the chrono initialisation instead (Tallec & Ollivier 2018;
    seqlab.nn.init.chrono_), memory spans spread up to this many steps.
    """
    _check_chrono(cell, chrono_lag)
    if cell == "rnn":
        return snn.RNN(input_size, hidden_size, nonlinearity="tanh", backend=backend)
    if cell == "irnn":
        return irnn_(snn.RNN(input_size, hidden_size, nonlinearity="relu", backend=backend))
    if cell == "lstm":
        layer = snn.LSTM(input_size, hidden_size, backend=backend)
        return chrono_(layer, chrono_lag) if chrono_lag is not None else forget_gate_bias_(layer, 1.0)
    if cell == "gru":
        return snn.GRU(input_size, hidden_size, backend=backend)
    raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")


def _check_chrono(cell: str, chrono_lag: int | None) -> None:
    if chrono_lag is not None and cell != "lstm":
        raise ValueError(f"the chrono initialisation is for LSTMs, not {cell!r}")


class SequenceModel(nn.Module):
    def __init__(
        self,
        layer: nn.Module,
        output_size: int,
        every_step: bool = False,
        input_classes: int | None = None,
    ) -> None:
        """`every_step`: one output per time step (the copy task) instead of one per sequence.
        `input_classes`: the input is token ids (T, B), fed to the layer one-hot."""
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(layer.hidden_size, output_size)
        self.every_step = every_step
        self.input_classes = input_classes

    def forward(self, x: Tensor) -> Tensor:
        if self.input_classes is not None:
            x = F.one_hot(x, self.input_classes).to(self.head.weight.dtype)  # (T, B) ids -> (T, B, C)
        h, _ = self.layer(x)  # (T, B, H)
        if self.every_step:
            return self.head(h)  # (T, B, O)
        return self.head(h[-1])  # (B, O): read the state after the last step

