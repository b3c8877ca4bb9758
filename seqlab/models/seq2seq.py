"""An encoder-decoder: a sequence in, a different sequence out (lecture: machine translation).

    source ids (B, S) -> embedding -> encoder (bidirectional) -> states h_1..h_S (B, S, D*H)
    target so far     -> embedding -> decoder, one step at a time:
        s_t   = RNN([embed(y_{t-1}); o_{t-1}], s_{t-1})     input feeding: o_{t-1} says what was
                                                            looked at last
        c_t   = attention(s_t, h_1..h_S)                    or, without attention, the encoder's
                                                            summary of the whole sentence, every step
        o_t   = tanh(W_c [s_t; c_t])
        p(y_t | y_<t, x) = softmax(W_o o_t)

Without attention the decoder sees the source only through one vector: the bottleneck that
attention removes (Bahdanau et al. 2015; Luong et al. 2015). Both variants have the same
layers but the attention's own score weights.

The decoder's state is a tuple whose tensors keep the batch in their second dimension, like a
recurrent layer's, so seqlab.sample's sampler and beam search can pick and repeat its rows:
(recurrent state, o_{t-1} (1, B, H), encoder states (S, B, K), their projection for the
scores (S, B, A), the source mask (S, B)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.models.language_model import RecurrentModelConfig
from seqlab.nn.attention import ATTENTIONS
from seqlab.nn.registry import recurrent_layer

ATTENTION_KINDS = ("none", *ATTENTIONS)


@dataclass
class Seq2SeqConfig(RecurrentModelConfig):
    source_vocab_size: int = field(default=0, metadata={"set_by_task": True})
    embedding_size: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    cell: str = field(default="gru", metadata={"choices": ("lstm", "gru", "rnn")})
    dropout: float = 0.2
    bidirectional: bool = True  # the encoder reads the sentence both ways
    attention: str = field(default="additive", metadata={"choices": ATTENTION_KINDS})
    attention_size: int = 256  # the additive score's hidden layer

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention not in ATTENTION_KINDS:
            raise ConfigError("attention", f"must be one of {', '.join(ATTENTION_KINDS)}, got {self.attention!r}")

    def to_json(self) -> dict:
        return super().to_json()


class Decoder(nn.Module):
    """The decoder of the module docstring, for any encoder: it starts from a first hidden
    state and a set of encoder states to attend over (a sentence's words, an image's regions)
    with their summary (what it sees instead, without attention)."""

    def __init__(self, config: Seq2SeqConfig, context_size: int) -> None:
        super().__init__()
        c = config
        self.config = c
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_size)
        self.recurrent = recurrent_layer(c.cell, c.embedding_size + c.hidden_size, c.hidden_size, init="torch",
                                         num_layers=c.num_layers, dropout=c.dropout if c.num_layers > 1 else 0.0,
                                         batch_first=True, backend=c.backend)
        self.attention = ATTENTIONS[c.attention](c.hidden_size, context_size, c.attention_size) if c.attention != "none" else None
        self.combine = nn.Linear(c.hidden_size + context_size, c.hidden_size)  # W_c
        self.output = nn.Linear(c.hidden_size, c.vocab_size)  # W_o
        self.dropout = nn.Dropout(c.dropout)

    def start(self, keys: Tensor, mask: Tensor, summary: Tensor, hidden: Tensor):
        """keys (B, S, K) and mask (B, S): what attention looks over; summary (B, K): what the
        decoder sees without attention; hidden (L, B, H): its first state. -> the state."""
        recurrent_state = (hidden, torch.zeros_like(hidden)) if self.config.cell == "lstm" else hidden
        if self.attention is not None:
            prepared = self.attention.prepare(keys)
        else:
            keys, mask = summary[:, None, :], mask[:, :1]
            prepared = keys[..., :0]
        feed = keys.new_zeros(1, keys.shape[0], self.config.hidden_size)
        return (recurrent_state, feed, keys.transpose(0, 1), prepared.transpose(0, 1), mask.t())

    def step(self, tokens: Tensor, state, keep_weights: bool = False):
        """One step: tokens (B,) -> logits (B, V), the new state (and the attention weights
        (B, S) with keep_weights)."""
        recurrent_state, feed, keys, prepared, mask = state
        x = torch.cat([self.dropout(self.embedding(tokens)), feed[0]], dim=-1)  # (B, E+H)
        s, recurrent_state = self.recurrent.step(x, recurrent_state)  # (B, H)
        keys_b, mask_b = keys.transpose(0, 1), mask.t()  # (B, S, K), (B, S)
        if self.attention is not None:
            context, weights = self.attention(s, keys_b, prepared.transpose(0, 1), mask_b)
        else:
            context, weights = keys_b[:, 0], mask_b.float()
        o = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))  # (B, H)
        logits = self.output(self.dropout(o))
        new_state = (recurrent_state, o[None], keys, prepared, mask)
        return (logits, new_state, weights) if keep_weights else (logits, new_state)

    def teacher_forced(self, state, target_in: Tensor) -> Tensor:
        """The decoder reading the true previous words: target_in (B, T) -> logits (B, T, V)."""
        steps = []
        for t in range(target_in.shape[1]):
            logits, state = self.step(target_in[:, t], state)
            steps.append(logits)
        return torch.stack(steps, dim=1)


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        directions = 2 if c.bidirectional else 1
        self.source_embedding = nn.Embedding(c.source_vocab_size, c.embedding_size)
        self.encoder = recurrent_layer(c.cell, c.embedding_size, c.hidden_size, init="torch", num_layers=c.num_layers,
                                       dropout=c.dropout if c.num_layers > 1 else 0.0, batch_first=True,
                                       backend=c.backend, bidirectional=c.bidirectional)
        # The encoder's last states (both directions) become the decoder's first.
        self.bridge = nn.Linear(directions * c.hidden_size, c.hidden_size)
        self.decoder = Decoder(c, directions * c.hidden_size)
        self.dropout = nn.Dropout(c.dropout)

    @property
    def attention(self):
        return self.decoder.attention

    def encode(self, source: Tensor, lengths: Tensor):
        """source (B, S) padded, lengths (B,) -> the decoder's starting state."""
        x = self.dropout(self.source_embedding(source))
        states, final = self.encoder(x, lengths=lengths)  # (B, S, D*H)
        hidden = final[0] if isinstance(final, tuple) else final  # (L*D, B, H)
        layers, directions = self.config.num_layers, 2 if self.config.bidirectional else 1
        last = hidden.view(layers, directions, hidden.shape[1], -1)  # (L, D, B, H)
        summary = torch.cat(list(last.unbind(1)), dim=-1)  # (L, B, D*H): both directions' last states
        mask = torch.arange(source.shape[1], device=source.device)[None, :] < lengths.to(source.device)[:, None]  # (B, S)
        return self.decoder.start(states, mask, summary[-1], torch.tanh(self.bridge(summary)))

    def decode_step(self, tokens: Tensor, state, keep_weights: bool = False):
        return self.decoder.step(tokens, state, keep_weights)

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor) -> Tensor:
        """Teacher forcing: the decoder reads the true previous words. -> logits (B, T, V)."""
        return self.decoder.teacher_forced(self.encode(source, lengths), target_in)

    def loss(self, source: Tensor, lengths: Tensor, target_in: Tensor, target_out: Tensor, pad: int) -> Tensor:
        """Mean cross-entropy per real target word (padding ignored)."""
        logits = self(source, lengths, target_in)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1), ignore_index=pad)


class Decoding(nn.Module):
    """The decoder of one encoded input (a sentence, an image), in the interface seqlab.sample
    expects of a language model: `decoding(tokens (B, P))` reads a prefix from the encoder's
    state, `decoding.step(tokens (B,), state)` writes one more word. So the one sampler and the
    one beam search decode translations and captions too."""

    def __init__(self, decoder: Decoder, start) -> None:
        super().__init__()
        self.decoder = decoder
        self.start = start

    def forward(self, tokens: Tensor, state=None):
        state = self.start if state is None else state
        steps = []
        for t in range(tokens.shape[1]):
            logits, state = self.decoder.step(tokens[:, t], state)
            steps.append(logits)
        return torch.stack(steps, dim=1), state

    def step(self, tokens: Tensor, state):
        return self.decoder.step(tokens, state)


def Translator(model: Seq2Seq, source: Tensor, lengths: Tensor) -> Decoding:
    """The decoding of one source sentence (or a batch of them)."""
    with torch.no_grad():
        return Decoding(model.decoder, model.encode(source, lengths))
