"""Bag-of-n-grams baselines for sentence sentiment, on scikit-learn: the numbers the recurrent
model has to beat, scored on the same folds (seqlab.sentiment.data.stratified_folds).

    Majority()     the training set's more frequent class (a floor: 0.5 on balanced data)
    TfidfLogReg()  TF-IDF weighted unigrams and bigrams, logistic regression
    NBSVM()        Wang & Manning (2012): naive Bayes log-count ratios scaling binarized
                   unigrams and bigrams, then a linear SVM (or logistic regression)

Each has fit(sentences, labels), predict_proba(sentences) -> P(positive) per sentence, and
predict(sentences) -> 0/1 (positive when P >= 0.5). All of them read sentences through
seqlab.sentiment.data.tokenize, the tokenizer the recurrent model's vocabulary uses too, so
that differences between models come from the models and not from their tokens.

`cross_validate(factory, dataset, folds)` fits a fresh model per fold and reports accuracy.
benchmarks/sentiment_baselines.py runs them all on MR and the UCI sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from .data import Dataset, fold_split, tokenize


class NgramAnalyzer:
    """`tokenize`, then every n-gram of 1 to `max_n` tokens, joined by a space.

    A class rather than a closure so that fitted vectorizers pickle. Tokens never contain a
    space, so the joined n-grams are unambiguous.
    """

    def __init__(self, max_n: int = 2) -> None:
        if max_n < 1:
            raise ValueError(f"max_n={max_n}: n-grams need n >= 1")
        self.max_n = max_n

    def __call__(self, sentence: str) -> list[str]:
        tokens = tokenize(sentence)
        grams = list(tokens)
        for n in range(2, self.max_n + 1):
            grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        return grams


class _Baseline:
    """What every baseline shares: 0/1 predictions from P(positive)."""

    def fit(self, sentences: Sequence[str], labels: Sequence[int]) -> _Baseline:
        raise NotImplementedError

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, sentences: Sequence[str]) -> np.ndarray:
        """0 (negative) or 1 (positive) per sentence: positive when P(positive) >= 0.5."""
        return (self.predict_proba(sentences) >= 0.5).astype(np.int64)


def _check_labels(
    sentences: Sequence[str], labels: Sequence[int], both_classes: bool = True
) -> np.ndarray:
    y = np.asarray(labels, dtype=np.int64)
    if len(sentences) != len(y):
        raise ValueError(f"{len(sentences)} sentences but {len(y)} labels")
    if len(y) == 0 or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be a non-empty list of 0 (negative) and 1 (positive)")
    if both_classes and len(np.unique(y)) < 2:
        raise ValueError("training needs both classes, negative (0) and positive (1)")
    return y


class Majority(_Baseline):
    """Always the training set's more frequent class; P(positive) is its share of positives.

    On balanced data (every shipped set, and every stratified fold of it) the share is 0.5,
    so it predicts positive everywhere and scores 0.5.
    """

    def fit(self, sentences: Sequence[str], labels: Sequence[int]) -> Majority:
        self.positive_share_ = float(_check_labels(sentences, labels, both_classes=False).mean())
        return self

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray:
        return np.full(len(sentences), self.positive_share_)


class TfidfLogReg(_Baseline):
    """TF-IDF weighted 1- to `max_n`-grams, L2-regularized logistic regression.

    sublinear_tf (1 + log count) damps a word repeated in one sentence; `C` is the inverse
    regularization strength (scikit-learn's convention). C = 100 was the best of 1, 3, ...,
    300 on the development split of benchmarks/sentiment_baselines.py --tune (0.771; 0.748
    with scikit-learn's default C = 1): a sentence has few features, and strong
    regularization shrinks their weights too far.
    """

    def __init__(self, C: float = 100.0, max_n: int = 2, sublinear_tf: bool = True) -> None:
        self.C = C
        self.max_n = max_n
        self.sublinear_tf = sublinear_tf

    def fit(self, sentences: Sequence[str], labels: Sequence[int]) -> TfidfLogReg:
        y = _check_labels(sentences, labels)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=NgramAnalyzer(self.max_n), sublinear_tf=self.sublinear_tf
        )
        features = self.vectorizer_.fit_transform(sentences)
        self.classifier_ = LogisticRegression(C=self.C, solver="liblinear", max_iter=1000)
        self.classifier_.fit(features, y)
        return self

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray:
        features = self.vectorizer_.transform(sentences)
        return self.classifier_.predict_proba(features)[:, 1]


def log_count_ratio(features: sparse.spmatrix, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive Bayes log-count ratio r of Wang & Manning (2012), section 2.1, one per feature.

    p = alpha + sum of the positive rows, q = alpha + sum of the negative rows, and
    r = log((p / ||p||_1) / (q / ||q||_1)). With binarized features (a feature counts once
    per sentence), p and q count the sentences of each class that hold the feature.
    """
    y = np.asarray(labels)
    p = alpha + np.asarray(features[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(features[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


class NBSVM(_Baseline):
    """NBSVM of Wang & Manning (2012), "Baselines and Bigrams: Simple, Good Sentiment and
    Topic Classification", ACL 2012, section 2.3: an SVM over naive Bayes features.

    Features are binarized 1- to `max_n`-grams f^ = 1{count > 0}, scaled by the log-count
    ratio: x = r o f^ (`log_count_ratio`, smoothing `alpha`). Then
    - classifier="svm": an L2-regularized squared-hinge linear SVM (liblinear, as in the
      paper), whose weights are interpolated with their mean magnitude,
      w' = (1 - beta) w_bar + beta w, w_bar = ||w||_1 / |V| (the paper's section 2.3: "an
      interpolation between MNB and SVM performs excellently for all documents"; its
      settings are beta = 0.25, C = 1, alpha = 1). The intercept is scaled by beta too, so
      that the margin is beta times the SVM's margin plus (1 - beta) w_bar times the naive
      Bayes score sum_j r_j f^_j; keeping the intercept whole would give it four times its
      weight in the SVM part (0.771 against 0.779 with C = 1 on the development split of
      benchmarks/sentiment_baselines.py --tune). predict_proba is the logistic sigmoid of
      the margin: 0.5 on the decision boundary and monotone in it, but not calibrated;
    - classifier="logreg": logistic regression on the same features (the "NB-LR" form),
      whose probabilities are its own; beta is unused.

    C (None: 0.1 for the SVM, 0.3 for logistic regression) and beta = 0.25 were the best
    settings on the development split of benchmarks/sentiment_baselines.py --tune (SVM:
    0.781, against 0.779 with the paper's C = 1; the grid is flat within half a point).
    """

    def __init__(
        self,
        classifier: str = "svm",
        C: float | None = None,
        beta: float = 0.25,
        alpha: float = 1.0,
        max_n: int = 2,
    ) -> None:
        if classifier not in ("svm", "logreg"):
            raise ValueError(f"classifier={classifier!r}: use 'svm' or 'logreg'")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta={beta}: the interpolation weight is between 0 and 1")
        self.classifier = classifier
        self.C = C if C is not None else (0.1 if classifier == "svm" else 0.3)
        self.beta = beta
        self.alpha = alpha
        self.max_n = max_n

    def features(self, sentences: Sequence[str]) -> sparse.csr_matrix:
        """The scaled features x = r o f^ of `sentences` (after fit)."""
        binary = self.vectorizer_.transform(sentences)
        return sparse.csr_matrix(binary.multiply(self.ratio_[np.newaxis, :]))

    def fit(self, sentences: Sequence[str], labels: Sequence[int]) -> NBSVM:
        y = _check_labels(sentences, labels)
        self.vectorizer_ = CountVectorizer(analyzer=NgramAnalyzer(self.max_n), binary=True)
        binary = self.vectorizer_.fit_transform(sentences)
        self.ratio_ = log_count_ratio(binary, y, self.alpha)
        scaled = sparse.csr_matrix(binary.multiply(self.ratio_[np.newaxis, :]))
        if self.classifier == "svm":
            svm = LinearSVC(C=self.C, loss="squared_hinge", dual=True, max_iter=10000)
            svm.fit(scaled, y)
            w = svm.coef_.ravel()
            w_bar = np.abs(w).sum() / len(w)
            self.coef_ = (1.0 - self.beta) * w_bar + self.beta * w
            self.intercept_ = self.beta * float(svm.intercept_[0])
        else:
            logreg = LogisticRegression(C=self.C, solver="liblinear", max_iter=1000)
            logreg.fit(scaled, y)
            self.coef_ = logreg.coef_.ravel()
            self.intercept_ = float(logreg.intercept_[0])
        return self

    def decision_function(self, sentences: Sequence[str]) -> np.ndarray:
        """The signed margin w' . x + b per sentence: positive means positive."""
        return self.features(sentences) @ self.coef_ + self.intercept_

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray:
        return expit(self.decision_function(sentences))


BASELINES: dict[str, Callable[[], _Baseline]] = {
    "majority": Majority,
    "tfidf_logreg": TfidfLogReg,
    "nbsvm": NBSVM,
}


def majority() -> Majority:
    """A fresh majority-class baseline."""
    return Majority()


def tfidf_logreg(**options) -> TfidfLogReg:
    """A fresh TF-IDF uni+bigram logistic regression (options: C, max_n, sublinear_tf)."""
    return TfidfLogReg(**options)


def nbsvm(**options) -> NBSVM:
    """A fresh NBSVM (options: classifier, C, beta, alpha, max_n)."""
    return NBSVM(**options)


def cross_validate(
    model_factory: Callable[[], _Baseline], dataset: Dataset, folds: list[np.ndarray]
) -> dict:
    """Accuracy of a fresh `model_factory()` per fold: trained on the other folds, tested on it.

    Returns {"mean", "std" (population std over folds, numpy's default), "per_fold" (list),
    "seconds" (wall time, fitting and predicting)}.
    """
    sentences = dataset.sentences
    labels = np.asarray(dataset.labels)
    accuracies: list[float] = []
    start = time.perf_counter()
    for i in range(len(folds)):
        train, test = fold_split(len(dataset), folds, i)
        model = model_factory()
        model.fit([sentences[j] for j in train], labels[train])
        predicted = model.predict([sentences[j] for j in test])
        accuracies.append(float((predicted == labels[test]).mean()))
    return {
        "mean": float(np.mean(accuracies)),
        "std": float(np.std(accuracies)),
        "per_fold": accuracies,
        "seconds": time.perf_counter() - start,
    }
