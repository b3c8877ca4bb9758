"""seqlab.sentiment.baselines: NBSVM's features by hand, and every baseline against the
majority class on a small part of MR (kept small so that the file runs in seconds)."""

import pickle

import numpy as np
import pytest
from scipy import sparse

from seqlab.sentiment.baselines import (
    NBSVM,
    Majority,
    NgramAnalyzer,
    TfidfLogReg,
    cross_validate,
    log_count_ratio,
    majority,
    nbsvm,
    tfidf_logreg,
)
from seqlab.sentiment.data import Dataset, fold_split, load_dataset, stratified_folds


@pytest.fixture(scope="module")
def mr_small():
    """About 2,100 MR sentences to train on and 1,067 to test on (folds 1-2 and fold 0)."""
    mr = load_dataset("mr")
    folds = stratified_folds(mr.labels)
    train = mr.subset(np.concatenate([folds[1], folds[2]]))
    test = mr.subset(folds[0])
    return train, test


def accuracy(model, data: Dataset) -> float:
    return float((model.predict(data.sentences) == np.array(data.labels)).mean())


def test_analyzer_gives_unigrams_then_bigrams_of_the_shared_tokens():
    assert NgramAnalyzer(2)("Didn't work.") == [
        "did", "n't", "work", ".", "did n't", "n't work", "work ."]
    assert NgramAnalyzer(1)("a b") == ["a", "b"]


def test_log_count_ratio_by_hand():
    # features: columns (bad, film, good); rows "good film" (1) and "bad film" (0)
    binary = sparse.csr_matrix(np.array([[0, 1, 1], [1, 1, 0]]))
    ratio = log_count_ratio(binary, np.array([1, 0]), alpha=1.0)
    # p = 1 + (0, 1, 1) = (1, 2, 2), |p| = 5; q = 1 + (1, 1, 0) = (2, 2, 1), |q| = 5
    assert np.allclose(ratio, np.log([1 / 2, 2 / 2, 2 / 1]))


def test_nbsvm_features_are_binarized_ngrams_scaled_by_the_ratio():
    model = NBSVM(max_n=2).fit(["good film", "bad film", "good good plot"], [1, 0, 1])
    vocabulary = model.vectorizer_.vocabulary_
    assert sorted(vocabulary) == ["bad", "bad film", "film", "good", "good film", "good good",
                                  "good plot", "plot"]
    # 2 positive sentences, 1 negative; p = 1 + positive sentences holding the n-gram
    p = {"bad": 1, "bad film": 1, "film": 2, "good": 3, "good film": 2, "good good": 2,
         "good plot": 2, "plot": 2}
    q = {"bad": 2, "bad film": 2, "film": 2, "good": 1, "good film": 1, "good good": 1,
         "good plot": 1, "plot": 1}
    p_total, q_total = sum(p.values()), sum(q.values())
    expected_ratio = {g: np.log((p[g] / p_total) / (q[g] / q_total)) for g in p}
    for gram, column in vocabulary.items():
        assert model.ratio_[column] == pytest.approx(expected_ratio[gram])
    # "good good film": "good" counts once (binarized), unseen bigrams are dropped
    row = model.features(["good good film"]).toarray()[0]
    expected = np.zeros(len(vocabulary))
    for gram in ("good", "film", "good good", "good film"):
        expected[vocabulary[gram]] = expected_ratio[gram]
    assert np.allclose(row, expected)


def test_nbsvm_beta_0_is_the_naive_bayes_score_and_beta_1_the_svm():
    sentences = ["a great film", "an awful film", "great fun", "awful mess", "fun , great", "a mess"]
    labels = [1, 0, 1, 0, 1, 0]
    nb = NBSVM(beta=0.0).fit(sentences, labels)
    w_bar = nb.coef_[0]
    assert np.allclose(nb.coef_, w_bar) and nb.intercept_ == 0.0
    probe = ["great mess", "awful fun film"]
    assert np.allclose(nb.decision_function(probe),
                       w_bar * np.asarray(nb.features(probe).sum(axis=1)).ravel())
    svm = NBSVM(beta=1.0).fit(sentences, labels)
    assert not np.allclose(svm.coef_, svm.coef_[0])


@pytest.mark.parametrize("factory", [majority, tfidf_logreg, nbsvm,
                                     lambda: NBSVM(classifier="logreg")])
def test_probabilities_and_predictions_agree(mr_small, factory):
    train, test = mr_small
    model = factory().fit(train.sentences[::5], train.labels[::5])  # both classes, ~430
    probabilities = model.predict_proba(test.sentences[:50])
    assert probabilities.shape == (50,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.array_equal(model.predict(test.sentences[:50]), (probabilities >= 0.5).astype(int))
    again = pickle.loads(pickle.dumps(model))  # fitted models pickle (no closures inside)
    assert np.allclose(again.predict_proba(test.sentences[:50]), probabilities)


def test_baselines_beat_the_majority_class_on_part_of_mr(mr_small):
    train, test = mr_small
    floor = accuracy(Majority().fit(train.sentences, train.labels), test)
    assert floor == pytest.approx(0.5, abs=0.001)
    scores = {
        name: accuracy(model.fit(train.sentences, train.labels), test)
        for name, model in {"tfidf": TfidfLogReg(), "nbsvm": NBSVM(),
                            "nblr": NBSVM(classifier="logreg")}.items()
    }
    # On all of MR they score 0.78-0.79 (benchmarks/sentiment_baselines.py); on a fifth of
    # the training data, 0.73-0.75.
    assert all(score > 0.66 for score in scores.values()), scores


def test_cross_validate_reports_every_fold():
    yelp = load_dataset("uci-yelp")
    folds = stratified_folds(yelp.labels, k=5, seed=0)
    result = cross_validate(Majority, yelp, folds)
    assert result["per_fold"] == [0.5] * 5
    assert result["mean"] == 0.5 and result["std"] == 0.0 and result["seconds"] >= 0
    nb = cross_validate(NBSVM, yelp, folds)
    assert len(nb["per_fold"]) == 5
    assert nb["mean"] == pytest.approx(np.mean(nb["per_fold"]))
    assert nb["mean"] > 0.7


def test_bad_arguments():
    with pytest.raises(ValueError):
        NBSVM(classifier="tree")
    with pytest.raises(ValueError):
        NBSVM(beta=2.0)
    with pytest.raises(ValueError):
        Majority().fit(["a", "b"], [0])
    with pytest.raises(ValueError, match="both classes"):
        NBSVM().fit(["a", "b"], [1, 1])
    train, test = fold_split(4, stratified_folds([0, 1] * 2, k=2), 0)
    assert len(train) == len(test) == 2
