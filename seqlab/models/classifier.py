"""A recurrent sentence classifier: many to one (lecture section 3, "sentiment").

    token ids (B, T), lengths (B,) -> embedding (B, T, E) -> recurrent layers (B, T, D*H)
        -> one vector per sentence (B, D*H) -> logits (B, C)

The recurrent layers read each sentence only as far as its length (`lengths=`: the padding
never reaches the state, nor the pooling). The sentence's vector is the final state
("last": the lecture's many-to-one picture), or the largest or the mean of the outputs over
its real steps ("max", "mean").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.models.language_model import RecurrentModelConfig

POOLS = ("last", "max", "mean")


@dataclass
class ClassifierConfig(RecurrentModelConfig):
    num_classes: int = field(default=2, metadata={"set_by_task": True})
    embedding_size: int = 100
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.5  # on the embeddings and on the sentence vector
    # Drop whole words in training (their vectors zeroed): the model cannot lean on one word
    # (Gal & Ghahramani 2016's embedding dropout)
    word_dropout: float = 0.0
    bidirectional: bool = False
    pool: str = field(default="last", metadata={"choices": POOLS})
    # False: keep the embedding as it starts (pretrained vectors), train the rest
    train_embedding: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pool not in POOLS:
            raise ConfigError("pool", f"must be one of {', '.join(POOLS)}, got {self.pool!r}")
        if not 0 <= self.word_dropout < 1:
            raise ConfigError("word_dropout", f"must be in [0, 1), got {self.word_dropout}")
        if self.num_classes < 2:
            raise ConfigError("num_classes", f"must be at least 2, got {self.num_classes}")

    def training_bytes(self, batch_size: int, length: int) -> int:
        """A rough upper estimate of training memory (float32): weights, gradients and Adam's
        moments, and the activations backward keeps per token."""
        directions = 2 if self.bidirectional else 1
        parameters = (self.vocab_size * self.embedding_size + self.recurrent_parameter_count(directions)
                      + directions * self.hidden_size * self.num_classes)
        per_token = self.activations_per_token(directions)
        return 16 * parameters + 4 * batch_size * length * per_token


class SentenceClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.embedding.weight.requires_grad_(config.train_embedding)
        self.recurrent = config.recurrent_layers(bidirectional=config.bidirectional)
        self.dropout = nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.output = nn.Linear(directions * config.hidden_size, config.num_classes)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """tokens (B, T) and lengths (B,) -> logits (B, C)."""
        x = self.dropout(self.embedding(tokens))  # (B, T, E)
        if self.training and self.config.word_dropout > 0:
            keep = torch.rand(tokens.shape, device=x.device) >= self.config.word_dropout  # (B, T)
            x = x * keep.unsqueeze(-1) / (1 - self.config.word_dropout)
        outputs, state = self.recurrent(x, lengths=lengths)  # (B, T, D*H); padded steps are zeros
        return self.output(self.dropout(self.sentence_vector(outputs, state, lengths)))  # (B, C)

    def sentence_vector(self, outputs: Tensor, state, lengths: Tensor) -> Tensor:
        """(B, T, D*H) outputs and the final state -> (B, D*H), one vector per sentence."""
        if self.config.pool == "last":
            h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
            directions = 2 if self.config.bidirectional else 1
            # The last layer's final state in each direction: forward after the last word,
            # backward after the first.
            return torch.cat(list(h_n[-directions:]), dim=-1)  # (B, D*H)
        steps = torch.arange(outputs.shape[1], device=outputs.device)
        real = (steps[None, :] < lengths.to(outputs.device)[:, None]).unsqueeze(-1)  # (B, T, 1)
        if self.config.pool == "max":
            return outputs.masked_fill(~real, float("-inf")).amax(dim=1)  # (B, D*H)
        return outputs.sum(dim=1) / lengths.to(outputs.device)[:, None].to(outputs.dtype)  # (B, D*H)

    def loss(self, tokens: Tensor, lengths: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(self(tokens, lengths), labels)

    @torch.no_grad()
    def running_probabilities(self, tokens: Tensor) -> Tensor:
        """One sentence (T,) -> (T, C): the class probabilities after each word, the model's
        reading of the sentence so far (the prediction on each prefix, which for a one-way
        model with pool="last" is the classifier reading the running state h_t)."""
        steps = tokens.shape[0]
        prefixes = tokens.unsqueeze(0).expand(steps, -1)  # (T, T): row t holds the sentence
        lengths = torch.arange(1, steps + 1)  # row t reads its first t + 1 words
        return torch.softmax(self(prefixes, lengths), dim=-1)  # (T, C)
