"""A model for the batching tests that a child process can load by name: a bigram table with
random probabilities (the next token's logits are a row of the table, looked up, so a
stream's numbers are the same whatever else is in the batch), and a constraint with a bug."""

from __future__ import annotations

import torch

from seqlab.data import Vocabulary


class BigramTable(torch.nn.Module):
    """P(next | previous token) is row `previous` of a table; the state is the previous token."""

    def __init__(self, size: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.table = torch.nn.Parameter(torch.rand(size, size).log())  # (V, V) log P

    def forward(self, tokens, state=None):
        return self.table[tokens], tokens[:, -1].float().view(1, -1, 1)  # (B, T, V), (1, B, 1)

    def step(self, tokens, state=None):
        return self.table[tokens], tokens.float().view(1, -1, 1)  # (B, V), (1, B, 1)


def load() -> tuple[BigramTable, Vocabulary]:
    """The model and its vocabulary, as a task's `load` gives them (the same in every process)."""
    vocab = Vocabulary.build("abcdefgh |")
    return BigramTable(len(vocab)), vocab


class FailsAt:
    """A constraint with a bug: it raises when fed its n-th token."""

    def __init__(self, n: int) -> None:
        self.n, self.fed = n, 0

    def allows(self, token: str) -> bool:
        return True

    def feed(self, token: str) -> None:
        self.fed += 1
        if self.fed == self.n:
            raise RuntimeError("a bug in a constraint")
