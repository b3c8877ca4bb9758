"""A NumPy reference: the vanilla RNN and the LSTM with backpropagation through time by hand.

Nothing here is fast and nothing here uses autograd; it is the lecture's BPTT slide
(section 4) written out as code, with a gradient check to prove it right. The tests hold
seqlab's torch cells to it, and it to centred finite differences.
"""

from seqlab.reference.numpy_rnn import (
    gradient_check,
    init_lstm_params,
    init_rnn_params,
    lstm_backward,
    lstm_forward,
    lstm_loss,
    lstm_loss_and_grads,
    relative_error,
    rnn_backward,
    rnn_forward,
    rnn_loss,
    rnn_loss_and_grads,
    softmax,
    softmax_cross_entropy,
)

__all__ = [
    "init_rnn_params",
    "rnn_forward",
    "rnn_backward",
    "rnn_loss",
    "rnn_loss_and_grads",
    "init_lstm_params",
    "lstm_forward",
    "lstm_backward",
    "lstm_loss",
    "lstm_loss_and_grads",
    "softmax",
    "softmax_cross_entropy",
    "gradient_check",
    "relative_error",
]
