"""The recurrent core, from the lecture's equations, interchangeable with torch.nn.

Cells (one step):   RNNCell, LSTMCell, GRUCell
Layers (the loop):  RNN, LSTM, GRU   -- backend="scratch" (default) or "fused"
Named cells:        CELLS, recurrent_layer  -- "rnn", "irnn", "lstm", "gru" (seqlab.nn.registry)
"""

from seqlab.nn.cells import GRUCell, LSTMCell, RNNCell
from seqlab.nn.recurrent import GRU, LSTM, RNN, Recurrent, recur
from seqlab.nn.registry import CELLS, Cell, get_cell, recurrent_layer

__all__ = [
    "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Recurrent", "recur",
    "CELLS", "Cell", "get_cell", "recurrent_layer",
]
