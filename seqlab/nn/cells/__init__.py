"""The recurrent cells of the lecture, one small file each: one time step, no loop."""

from seqlab.nn.cells.gru import GRUCell, gru_step
from seqlab.nn.cells.lstm import LSTMCell, lstm_step
from seqlab.nn.cells.rnn import RNNCell, rnn_relu_step, rnn_tanh_step

__all__ = [
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "rnn_tanh_step",
    "rnn_relu_step",
    "lstm_step",
    "gru_step",
]
