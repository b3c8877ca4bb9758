"""A recurrent language model: predict the next token from the ones before (lecture 3 and 7).

    token ids (B, T) -> embedding (B, T, E) -> recurrent layers (B, T, H) -> logits (B, T, V)

The same model serves characters (music in ABC notation, Shakespeare) and words; what it
predicts depends only on the vocabulary it is built with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import seqlab.nn as snn
from seqlab.nn.recurrent import BACKENDS

CELLS = {"lstm": snn.LSTM, "gru": snn.GRU, "rnn": snn.RNN}


@dataclass
class LanguageModelConfig:
    vocab_size: int
    embedding_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    dropout: float = 0.0  # on the embeddings, between layers and before the output layer
    tie_weights: bool = False  # share the embedding and output matrices (Press & Wolf 2017)
    backend: str = "fused"  # seqlab's two interchangeable backends; "fused" trains faster

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        for name in ("vocab_size", "embedding_size", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.tie_weights and self.embedding_size != self.hidden_size:
            raise ValueError(
                f"tie_weights needs embedding_size == hidden_size, got {self.embedding_size} and {self.hidden_size}"
            )

    def to_json(self) -> dict:
        return asdict(self)


class LanguageModel(nn.Module):
    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.recurrent = CELLS[config.cell](
            config.embedding_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
            backend=config.backend,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.output.weight = self.embedding.weight

    def forward(self, tokens: Tensor, state=None):
        """tokens (B, T) -> logits (B, T, V), and the state after the last step."""
        x = self.dropout(self.embedding(tokens))  # (B, T, E)
        h, state = self.recurrent(x, state)  # (B, T, H)
        return self.output(self.dropout(h)), state  # (B, T, V)

    def step(self, tokens: Tensor, state=None):
        """One step of generation: tokens (B,) -> logits (B, V), state. Keeps no graph.

        Uses the layers' one-step path (plain matrix products), whatever the backend.
        """
        if not torch.is_inference_mode_enabled():
            # Entered here only when the caller has not: a sampler already runs in inference
            # mode, and entering it again at every token costs ~14 us (measured).
            with torch.inference_mode():
                return self.step(tokens, state)
        # The layers' functions rather than calling the modules: a module call costs ~12 us of
        # bookkeeping (hooks), and a sampler pays it twice a token (measured). No dropout:
        # this runs in inference mode.
        x = F.embedding(tokens, self.embedding.weight)  # (B, E)
        h, state = self.recurrent.step(x, state)  # (B, H)
        return F.linear(h, self.output.weight, self.output.bias), state  # (B, V)

    def loss(self, tokens: Tensor, targets: Tensor, state=None):
        """Mean cross-entropy (nats per token) of predicting `targets` (B, T), and the state."""
        logits, state = self(tokens, state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), state
