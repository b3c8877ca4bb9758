"""The recurrent core, from the lecture's equations, interchangeable with torch.nn.

Cells (one step):   RNNCell, LSTMCell, GRUCell
Layers (the loop):  RNN, LSTM, GRU   -- backend="scratch" (default) or "fused"
"""

from seqlab.nn.cells import GRUCell, LSTMCell, RNNCell
from seqlab.nn.recurrent import GRU, LSTM, RNN, Recurrent, recur

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Recurrent", "recur"]
