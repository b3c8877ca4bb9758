"""Real images to caption: strips of 3-5 handwritten digits from scikit-learn's digits (1,797
scans of 8x8 pixels, 16 grey levels), captioned with the number words ("three one four").

The digit scans are split before any strip is made, so no held-out strip shows a scan seen in
training.
"""

from __future__ import annotations

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SCALE = 2  # each 8x8 scan drawn at 16x16


def digit_scans(held_out: float = 0.2, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train images, labels), (held-out images, labels): the scans, as floats in [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.images))
    cut = int(round(held_out * len(order)))
    images = digits.images / 16.0
    return (images[order[cut:]], digits.target[order[cut:]]), (images[order[:cut]], digits.target[order[:cut]])


def make_strips(images: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator,
                lengths: tuple[int, int] = (3, 5)) -> tuple[list[np.ndarray], list[str], list[list[int]]]:
    """`count` strips: each 16 pixels high, 16 per digit wide, padded to the longest (5 digits),
    as RGB uint8 (so one image encoder reads both data sets); with their captions and digits."""
    width = lengths[1] * 8 * SCALE
    strips, captions, numbers = [], [], []
    for _ in range(count):
        picked = rng.integers(0, len(images), size=int(rng.integers(lengths[0], lengths[1] + 1)))
        row = np.concatenate([np.kron(images[i], np.ones((SCALE, SCALE))) for i in picked], axis=1)
        canvas = np.zeros((8 * SCALE, width))
        canvas[:, : row.shape[1]] = row
        strips.append(np.repeat((255 * canvas).astype(np.uint8)[..., None], 3, axis=2))
        captions.append(" ".join(WORDS[labels[i]] for i in picked))
        numbers.append([int(labels[i]) for i in picked])
    return strips, captions, numbers


def read_number(caption: str) -> list[int] | None:
    """The digits a caption names, or None if it has a word that is not a number word."""
    words = caption.split()
    if not words or any(word not in WORDS for word in words):
        return None
    return [WORDS.index(word) for word in words]
