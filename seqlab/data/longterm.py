"""Long-term dependency problems: tasks a network can only solve by remembering across time.

Three classic tests of the lecture's claim (section 5) that plain RNNs forget and that
identity initialisation and gated cells remember:

adding   Hochreiter & Schmidhuber (1997), in the form of Le, Jaitly & Hinton (2015): two
         channels, a random number in [0, 1) and a marker; two steps are marked, one in each
         half of the sequence; the target is the sum of the two marked numbers. Predicting
         the mean, 1.0, gives MSE 1/6; "solved" means held-out MSE < 0.01.
copy     The copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016):
         10 symbols out of 8, then `delay` steps of blanks with a delimiter on the last one,
         then the 10 symbols must be written back. A memoryless model that writes blanks and
         then guesses uniformly scores 10 ln 8 / (delay + 20) nats per step.
digits   scikit-learn's 8x8 handwritten digits (1,797 images, UCI), read one pixel per step
         (64 steps) and classified from the last state; `permuted` shuffles the pixel order
         with one fixed permutation, which puts related pixels far apart in time (Le et al.).

Everything is drawn from a torch.Generator, so a seed fixes every batch and every held-out set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import torch
from sklearn.datasets import load_digits as sklearn_digits
from sklearn.model_selection import train_test_split
from torch import Tensor

ADDING_BASELINE = 1.0 / 6.0  # MSE of always predicting 1.0, the mean of the target
ADDING_SOLVED = 0.01

COPY_SYMBOLS = 8  # symbols 1..8; 0 is the blank, 9 the delimiter
COPY_REMEMBER = 10
COPY_BLANK, COPY_DELIMITER = 0, COPY_SYMBOLS + 1
COPY_CLASSES = COPY_SYMBOLS + 2

DIGIT_STEPS = 64
# Held-out share of the digits, and the seeds of their split and of the permutation: fixed
# (not the run's seed), so that every run is scored on the same images in the same order.
DIGITS_HELD_OUT = 0.2
DIGITS_SPLIT_SEED = 0
DIGITS_PERMUTATION_SEED = 0


# ------------------------------------------------------------------------------ adding
def adding_problem(length: int, batch: int, generator: torch.Generator, dtype=None) -> tuple[Tensor, Tensor]:
    """One batch of the adding problem: x (T, B, 2), target (B,).

    Channel 0 holds uniform numbers in [0, 1); channel 1 marks two steps with 1, one in each
    half of the sequence, so the first mark lies on average 3T/4 steps before the end.
    """
    if length < 2:
        raise ValueError(f"the adding problem needs a length of at least 2, got {length}")
    half = length // 2
    values = torch.rand(length, batch, generator=generator, dtype=dtype)  # (T, B)
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, length, (batch,), generator=generator)
    marks = torch.zeros_like(values)
    columns = torch.arange(batch)
    marks[first, columns] = 1.0
    marks[second, columns] = 1.0
    target = (values * marks).sum(dim=0)  # (B,)
    return torch.stack([values, marks], dim=-1), target  # (T, B, 2), (B,)


def adding_batches(length: int, batch: int, seed: int, dtype=None) -> Iterator[tuple[Tensor, Tensor]]:
    """Fresh adding-problem batches forever (the task has unlimited data)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield adding_problem(length, batch, generator, dtype)


# ------------------------------------------------------------------------------ copy
def copy_problem(delay: int, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """One batch of the copy-memory task: input ids (T, B), target ids (T, B), T = delay + 20.

        input   s1 .. s10  0 .. 0  9  0 .. 0          (10 symbols, delay-1 blanks, delimiter, 10 blanks)
        target  0 .. 0 ........... 0  s1 .. s10       (delay+10 blanks, then the 10 symbols)
    """
    if delay < 2:
        raise ValueError(f"the copy task needs a delay of at least 2, got {delay}")
    total = delay + 2 * COPY_REMEMBER
    symbols = torch.randint(1, COPY_SYMBOLS + 1, (COPY_REMEMBER, batch), generator=generator)  # (10, B)
    inputs = torch.full((total, batch), COPY_BLANK, dtype=torch.long)
    targets = torch.full((total, batch), COPY_BLANK, dtype=torch.long)
    inputs[:COPY_REMEMBER] = symbols
    inputs[COPY_REMEMBER + delay - 1] = COPY_DELIMITER
    targets[-COPY_REMEMBER:] = symbols
    return inputs, targets


def copy_batches(delay: int, batch: int, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield copy_problem(delay, batch, generator)


def copy_baseline(delay: int) -> float:
    """Cross-entropy (nats per step) of the best model without memory: certain blanks for the
    first delay + 10 steps, then a uniform guess among the 8 symbols for the last 10."""
    return COPY_REMEMBER * math.log(COPY_SYMBOLS) / (delay + 2 * COPY_REMEMBER)


# ------------------------------------------------------------------------------ digits
@dataclass
class DigitSplit:
    train_x: Tensor  # (N, 64, 1) pixel intensities in [0, 1], one pixel per step
    train_y: Tensor  # (N,) the digit
    test_x: Tensor
    test_y: Tensor
    permutation: Tensor | None  # the pixel order used, or None for row by row

    @property
    def majority_accuracy(self) -> float:
        """Held-out accuracy of always answering the most common training digit."""
        majority = torch.bincount(self.train_y).argmax()
        return (self.test_y == majority).float().mean().item()


def digit_permutation() -> Tensor:
    return torch.randperm(DIGIT_STEPS, generator=torch.Generator().manual_seed(DIGITS_PERMUTATION_SEED))


def load_digits(permuted: bool = False) -> DigitSplit:
    """scikit-learn's 8x8 digits as 64-step sequences, split 80/20 the same way every time
    (shuffled with a fixed seed, stratified by digit)."""
    digits = sklearn_digits()
    pixels = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # (N, 64): intensities 0..16
    labels = torch.tensor(digits.target, dtype=torch.long)
    permutation = digit_permutation() if permuted else None
    if permutation is not None:
        pixels = pixels[:, permutation]
    train_index, test_index = train_test_split(
        range(len(labels)), test_size=DIGITS_HELD_OUT, random_state=DIGITS_SPLIT_SEED, stratify=digits.target
    )
    train_index, test_index = torch.tensor(train_index), torch.tensor(test_index)
    sequences = pixels.unsqueeze(-1)  # (N, 64, 1)
    return DigitSplit(
        sequences[train_index], labels[train_index], sequences[test_index], labels[test_index], permutation
    )


def digit_batches(split: DigitSplit, batch: int, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Shuffled minibatches of the training images, epoch after epoch: x (64, B, 1), y (B,)."""
    generator = torch.Generator().manual_seed(seed)
    count = len(split.train_y)
    while True:
        order = torch.randperm(count, generator=generator)
        for start in range(0, count - batch + 1, batch):  # whole batches only
            rows = order[start : start + batch]
            yield split.train_x[rows].transpose(0, 1), split.train_y[rows]
