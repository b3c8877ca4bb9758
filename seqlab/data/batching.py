"""Batching for stateful truncated BPTT: one batchify for every language-model task.

The scheme of PyTorch's word_language_model example: cut the token stream into B equal
columns, one per batch row, so that row b of window k+1 continues row b of window k. The
state a window ends with is then the right initial state for the next window (the trainer
carries it over, detached), and the model sees dependencies longer than one window.

    stream  a b c d e f g h i j k l m n o p q r s t u v w x      (24 tokens)
    batchify(B=4) -> (T=6, B=4) columns
            a g m s
            b h n t
            c i o u
            ...
    windows of 2 steps: rows 0-1 predict rows 1-2, rows 2-3 predict 3-4, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from seqlab.errors import SeqlabError


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """A 1-D stream of token ids -> (T, B) columns, dropping the few tokens that do not fit."""
    if ids.dim() != 1:
        raise ValueError(f"batchify expects a 1-D tensor of token ids, got shape {tuple(ids.shape)}")
    steps = ids.numel() // batch_size
    if steps < 2:
        raise SeqlabError(
            f"the text is too short: {ids.numel()} tokens cannot fill {batch_size} rows of at least 2"
        )
    return ids[: steps * batch_size].view(batch_size, steps).t().contiguous()  # (T, B)


@dataclass
class Window:
    input: Tensor  # (B, T) token ids
    target: Tensor  # (B, T) the next token of each input token
    reset: bool  # True at the start of a pass over the stream: start from a zero state


def windows(columns: Tensor, length: int) -> Iterator[Window]:
    """One pass over (T, B) columns in consecutive windows of `length` steps, batch-first."""
    for start in range(0, columns.shape[0] - 1, length):
        size = min(length, columns.shape[0] - 1 - start)
        chunk = columns[start : start + size + 1].t()  # (B, size + 1)
        yield Window(chunk[:, :-1], chunk[:, 1:], reset=start == 0)


def endless_windows(ids: Tensor, batch_size: int, length: int, seed: int = 0) -> Iterator[Window]:
    """Windows over the stream forever. Each pass starts at a different offset (drawn from
    `seed`), so window boundaries fall in new places and the model does not learn them."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        # The offset never takes more than the spare tokens a pass leaves, so it cannot
        # empty a short stream.
        spare = ids.numel() - 2 * batch_size
        offset = int(torch.randint(0, max(1, min(length, spare)), (1,), generator=generator))
        yield from windows(batchify(ids[offset:], batch_size), length)
