"""A recurrent language model: predict the next token from the ones before (lecture 3 and 7).

    token ids (B, T) -> embedding (B, T, E) -> recurrent layers (B, T, H) -> logits (B, T, V)

The same model serves characters (music in ABC notation, Shakespeare) and words; what it
predicts depends only on the vocabulary it is built with.

With `copy_memory` M > 0 it also attends over the last M tokens it has read or written and may
copy from them (seqlab.nn.attention.CopyAttention, a pointer-sentinel mixture): its outputs are
then log-probabilities of the mixture, which every consumer of logits (cross-entropy, softmax,
the sampler) reads the same way, and its state carries the memory beside the recurrent state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError, check_range
from seqlab.nn.attention import CopyAttention
from seqlab.nn.registry import get_cell, recurrent_layer
from seqlab.nn.recurrent import BACKENDS

# The cells a sequence model may be built of (seqlab.nn's one registry), with torch.nn's own
# initialisation: the IRNN is left out, since it is defined by its identity initialisation.
CELLS = ("lstm", "gru", "rnn")


# Upper bounds that no sensible model reaches: past them, a typo (an extra zero) would only
# end in an allocator error after a long wait. Memory is checked separately, before training.
MAX_WIDTH = 65536
MAX_LAYERS = 64


@dataclass
class RecurrentModelConfig:
    """What every token-reading recurrent model has: words in, an embedding, recurrent layers."""

    vocab_size: int = field(default=0, metadata={"set_by_task": True})  # 0 until a task's vocabulary fills it in
    embedding_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    cell: str = field(default="lstm", metadata={"choices": CELLS})
    dropout: float = 0.0  # on the embeddings, between layers and before the output layer
    # seqlab's two interchangeable backends; "fused" trains faster
    backend: str = field(default="fused", metadata={"choices": BACKENDS})

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError("cell", f"must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.backend not in BACKENDS:
            raise ConfigError("backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        check_range("vocab_size", self.vocab_size, 0, 10_000_000, " (0: not yet known)")
        check_range("embedding_size", self.embedding_size, 1, MAX_WIDTH)
        check_range("hidden_size", self.hidden_size, 1, MAX_WIDTH)
        check_range("num_layers", self.num_layers, 1, MAX_LAYERS)
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")

    def to_json(self) -> dict:
        return asdict(self)

    def recurrent_parameter_count(self, directions: int = 1) -> int:
        """Parameters of the stack of recurrent layers (weights and both biases, every gate)."""
        gates = get_cell(self.cell).gates * self.hidden_size
        count = 0
        for layer in range(self.num_layers):
            inputs = self.embedding_size if layer == 0 else directions * self.hidden_size
            count += directions * (gates * (inputs + self.hidden_size) + 2 * gates)
        return count

    def activations_per_token(self, directions: int = 1) -> int:
        """Floats backward keeps per token: the embedding, and each layer's gates, state and output."""
        return self.embedding_size + self.num_layers * directions * (get_cell(self.cell).gates + 3) * self.hidden_size

    def recurrent_layers(self, **options):
        """The model's stack of recurrent layers, batch-first, from seqlab.nn's cell registry
        with torch.nn's initialisation; `options` (say bidirectional=True) go to the layer."""
        return recurrent_layer(
            self.cell,
            self.embedding_size,
            self.hidden_size,
            init="torch",
            num_layers=self.num_layers,
            dropout=self.dropout if self.num_layers > 1 else 0.0,  # between layers only
            batch_first=True,
            backend=self.backend,
            **options,
        )


@dataclass
class LanguageModelConfig(RecurrentModelConfig):
    tie_weights: bool = False  # share the embedding and output matrices (Press & Wolf 2017)
    # Attend over the last `copy_memory` tokens and copy from them (0: the plain recurrent model).
    copy_memory: int = 0
    copy_key_size: int = 64  # the size of the attention's queries and keys

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("copy_memory", self.copy_memory, 0, MAX_WIDTH, " (0: no attention)")
        check_range("copy_key_size", self.copy_key_size, 1, MAX_WIDTH)
        if self.tie_weights and self.embedding_size != self.hidden_size:
            raise ConfigError(
                "tie_weights", f"needs embedding_size == hidden_size, got {self.embedding_size} and {self.hidden_size}"
            )

    def parameter_count(self) -> int:
        """How many parameters the model will have, computed without building it."""
        embedding = self.vocab_size * self.embedding_size
        output = (0 if self.tie_weights else self.hidden_size * self.vocab_size) + self.vocab_size
        # queries, keys, the sentinel and the scale tau
        copy = 2 * (self.hidden_size + 1) * self.copy_key_size + self.hidden_size + 2 if self.copy_memory else 0
        return embedding + self.recurrent_parameter_count() + output + copy

    def training_bytes(self, batch_size: int, window: int) -> int:
        """A rough upper estimate of training memory in float32: weights, gradients and Adam's
        two moments (16 bytes a parameter), and the activations backward keeps per token
        (embedding, each layer's gates, state and output, the logits and their softmax)."""
        per_token = self.activations_per_token() + 3 * self.vocab_size  # and the logits, their softmax
        if self.copy_memory:
            # the scores, their softmax and the pairs' token index (8 bytes) over memory and window,
            # the copied distribution and the mixture
            per_token += 4 * (self.copy_memory + window) + 2 * self.copy_key_size + 3 * self.vocab_size
        return 16 * self.parameter_count() + 4 * batch_size * window * per_token


class LanguageModel(nn.Module):
    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.recurrent = config.recurrent_layers()
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.output.weight = self.embedding.weight
        self.copy = CopyAttention(config.hidden_size, config.copy_key_size, config.copy_memory) if config.copy_memory else None

    def forward(self, tokens: Tensor, state=None):
        """tokens (B, T) -> logits (B, T, V), and the state after the last step."""
        recurrent_state, memory = self._split(state)
        x = self.dropout(self.embedding(tokens))  # (B, T, E)
        h, recurrent_state = self.recurrent(x, recurrent_state)  # (B, T, H)
        logits = self.output(self.dropout(h))  # (B, T, V)
        if self.copy is None:
            return logits, recurrent_state
        # The state before each token: the carried one, then the outputs shifted by one step.
        before = torch.cat([self._top_output(state, h)[:, None], h[:, :-1]], dim=1)  # (B, T, H)
        # No dropout on what the attention compares: it finds an earlier state by its likeness.
        log_p, memory = self.copy(h, before, tokens, logits, memory)
        return log_p, (recurrent_state, *memory)

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
        recurrent_state, memory = self._split(state)
        x = F.embedding(tokens, self.embedding.weight)  # (B, E)
        h, recurrent_state = self.recurrent.step(x, recurrent_state)  # (B, H)
        logits = F.linear(h, self.output.weight, self.output.bias)  # (B, V)
        if self.copy is None:
            return logits, recurrent_state
        before = self._top_output(state, h)  # (B, H)
        log_p, memory = self.copy.step(h, before, tokens, logits, memory)
        return log_p, (recurrent_state, *memory)

    def _split(self, state):
        """(recurrent state, copy memory) of a state; with copy attention the state is the tuple
        (recurrent state, keys, tokens), otherwise the recurrent state alone."""
        if self.copy is None:
            return state, None
        if state is None:
            return None, None
        return state[0], state[1:]

    def _top_output(self, state, h: Tensor) -> Tensor:
        """(B, H): the top layer's output at the end of `state` (zeros for a fresh start)."""
        recurrent_state, _ = self._split(state)
        if recurrent_state is None:
            return h.new_zeros(h.shape[0], h.shape[-1])
        hidden = recurrent_state[0] if isinstance(recurrent_state, tuple) else recurrent_state  # (L, B, H)
        return hidden[-1]

    def loss(self, tokens: Tensor, targets: Tensor, state=None):
        """Mean cross-entropy (nats per token) of predicting `targets` (B, T), and the state."""
        logits, state = self(tokens, state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), state
