"""seqlab.sentiment.contrast: the hand-written contrast set, and why bags of words fail it."""

import numpy as np
import pytest

from seqlab.sentiment.baselines import NBSVM, TfidfLogReg
from seqlab.sentiment.contrast import ContrastPair, contrast_accuracy, load_contrast
from seqlab.sentiment.data import SentimentDataError, load_dataset, stratified_folds, tokenize

# The module docstring's count: 116 of the 117 pairs have identical bags of unigrams under
# `tokenize` (the exception swaps hate/loving for love/hating).
PAIRS = 117
IDENTICAL_BAGS = 116


@pytest.fixture(scope="module")
def pairs():
    return load_contrast()


def test_at_least_100_pairs_with_opposite_labels(pairs):
    assert len(pairs) == PAIRS >= 100
    assert len({pair.pair_id for pair in pairs}) == len(pairs)
    assert len({pair.structure for pair in pairs}) == 20
    for pair in pairs:
        assert pair.positive != pair.negative
        for sentence in (pair.positive, pair.negative):
            # MR's style: lower case, single spaces, punctuation split off
            assert sentence == sentence.lower() == " ".join(sentence.split())
            for token in sentence.split():  # tokenize splits nothing more, but "n't"
                assert len(tokenize(token)) == 1 or tokenize(token)[1:] == ["n't"]


def test_most_pairs_have_the_same_bag_of_words(pairs):
    same = [pair for pair in pairs if pair.same_bag()]
    assert len(same) == IDENTICAL_BAGS


def test_the_words_are_mr_words(pairs):
    vocabulary = {t for s in load_dataset("mr").sentences for t in tokenize(s)}
    words = {t for pair in pairs for s in (pair.positive, pair.negative) for t in tokenize(s)}
    assert len(words - vocabulary) <= 4  # charmed, pretending, skeptic, winced


@pytest.mark.parametrize("model", [NBSVM(max_n=1), TfidfLogReg(max_n=1)], ids=["nbsvm", "tfidf"])
def test_a_unigram_model_cannot_tell_identical_bags_apart(pairs, model):
    mr = load_dataset("mr")
    part = mr.subset(stratified_folds(mr.labels)[0])  # 1,067 sentences are enough here
    model.fit(part.sentences, part.labels)
    same = [pair for pair in pairs if pair.same_bag()]
    positive = model.predict_proba([pair.positive for pair in same])
    negative = model.predict_proba([pair.negative for pair in same])
    assert np.allclose(positive, negative, rtol=0, atol=1e-12)
    result = contrast_accuracy(model.predict_proba, same)
    assert result == {"accuracy": 0.5, "pair_accuracy": 0.0, "pairs": IDENTICAL_BAGS}


def test_contrast_accuracy_arithmetic():
    pairs = [ContrastPair("a.1", "good", "bad"), ContrastPair("a.2", "fine", "awful")]
    oracle = lambda sentences: np.array([1.0 if s in ("good", "fine") else 0.0 for s in sentences])
    assert contrast_accuracy(oracle, pairs) == {"accuracy": 1.0, "pair_accuracy": 1.0, "pairs": 2}
    everything_positive = lambda sentences: np.full(len(sentences), 0.9)
    assert contrast_accuracy(everything_positive, pairs)["pair_accuracy"] == 0.0
    one_wrong = lambda sentences: np.array([0.8, 0.3, 0.2, 0.6])  # good, fine, bad, awful
    assert contrast_accuracy(one_wrong, pairs) == {"accuracy": 0.5, "pair_accuracy": 0.5, "pairs": 2}
    with pytest.raises(ValueError):
        contrast_accuracy(lambda sentences: np.zeros(1), pairs)


def test_a_malformed_contrast_file_is_a_clear_error(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("a.1\t1\tgood\na.1\t1\tbad\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match="two sentences labelled 1"):
        load_contrast(path)
    path.write_text("a.1\t1\tgood\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match="one sentence labelled 1 and one labelled 0"):
        load_contrast(path)
    path.write_text("a.1 1 good\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match="line 1"):
        load_contrast(path)
    path.write_text("a.1\t1\tgood\na.1\t0\tbad\n", encoding="utf-8")
    assert load_contrast(path) == [ContrastPair("a.1", "good", "bad")]
