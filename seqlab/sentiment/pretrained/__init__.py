"""The sentiment model shipped with seqlab (a checkpoint: model.safetensors + config.json).

A bidirectional LSTM over GloVe 6B 50d vectors (`--preset glove`), trained on MR's folds 1-9;
see the README for the command, the hardware, the time and the cross-validated accuracy.
"""
