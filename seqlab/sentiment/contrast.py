"""A contrast set for sentence sentiment: pairs of sentences with the same words in another
order and opposite labels, which a bag-of-words model cannot tell apart.

    "good , not bad" (positive)                 / "bad , not good" (negative)
    "i expected it to be awful and it was great" / "i expected it to be great and it was awful"

The idea is that of contrast sets (Gardner et al., 2020, "Evaluating Models' Local Decision
Boundaries via Contrast Sets", Findings of EMNLP): small edits that flip the gold label
probe what a model has learned beyond the words themselves. The 117 pairs in
data/contrast.tsv were written for this project (not taken from any data set), in MR's
style (lower case, punctuation split off, contractions whole) and with MR's vocabulary, in
20 structures ("x , not y", "not x but y", "expected x , got y", "starts x , ends y",
"could have been x , but was y", "the a was bad but the b was good", "x without being y",
"more x than y", "x , if y", "despite x , y", ...). Where a sentence has two verdicts, the
one after "but", "yet", "instead" or the main clause is the label, as in reviews.

116 of the 117 pairs have identical bags of unigrams under seqlab.sentiment.data.tokenize
(the exception, expected-x-got-y.9, swaps "hate"/"loving" for "love"/"hating"). A unigram
model gives both sentences of such a pair the same probability, so it gets exactly one of
the two right and never the pair: its pair accuracy on them is 0. Bigram features and
recurrent models see the order, and can do better.

File format: pair_id<TAB>label<TAB>sentence, two lines per pair, labels 1 and 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import SentimentDataError, data_dir, tokenize

CONTRAST_FILE = "contrast.tsv"


@dataclass(frozen=True)
class ContrastPair:
    """Two sentences of (nearly) the same words with opposite labels."""

    pair_id: str  # structure.number, e.g. "x-not-y.1"
    positive: str  # the sentence labelled 1
    negative: str  # the sentence labelled 0

    @property
    def structure(self) -> str:
        """The kind of construction the pair swaps, e.g. "not-x-but-y"."""
        return self.pair_id.rsplit(".", 1)[0]

    def same_bag(self) -> bool:
        """Whether the two sentences have the same multiset of tokens (unigrams)."""
        return Counter(tokenize(self.positive)) == Counter(tokenize(self.negative))


def load_contrast(path: str | Path | None = None) -> list[ContrastPair]:
    """The pairs of the shipped contrast set (or of a file in the same format), in file order."""
    path = Path(path) if path is not None else data_dir() / CONTRAST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SentimentDataError(f"no such contrast file: {path}") from None
    sentences: dict[str, dict[int, str]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in ("0", "1") or not fields[2].strip():
            raise SentimentDataError(
                f"{path}, line {number}: expected pair_id<TAB>0|1<TAB>sentence"
            )
        pair_id, label, sentence = fields[0], int(fields[1]), fields[2].strip()
        if label in sentences.setdefault(pair_id, {}):
            raise SentimentDataError(
                f"{path}, line {number}: pair {pair_id!r} has two sentences labelled {label}"
            )
        sentences[pair_id][label] = sentence
    pairs = []
    for pair_id, by_label in sentences.items():
        if set(by_label) != {0, 1}:
            raise SentimentDataError(
                f"{path}: pair {pair_id!r} needs one sentence labelled 1 and one labelled 0"
            )
        pairs.append(ContrastPair(pair_id, positive=by_label[1], negative=by_label[0]))
    if not pairs:
        raise SentimentDataError(f"{path} is empty: expected pair_id<TAB>0|1<TAB>sentence lines")
    return pairs


def contrast_accuracy(
    predict_proba: Callable[[Sequence[str]], np.ndarray], pairs: Sequence[ContrastPair]
) -> dict:
    """How a model does on contrast pairs, given its P(positive) for a list of sentences.

    A sentence counts as positive when P(positive) >= 0.5 (the baselines' rule). Returns
    {"accuracy": share of sentences right, "pair_accuracy": share of pairs with both right,
    "pairs": number of pairs}.
    """
    if not pairs:
        raise ValueError("no contrast pairs to score")
    sentences = [pair.positive for pair in pairs] + [pair.negative for pair in pairs]
    probabilities = np.asarray(predict_proba(sentences), dtype=float).ravel()
    if len(probabilities) != len(sentences):
        raise ValueError(
            f"predict_proba gave {len(probabilities)} probabilities for {len(sentences)} sentences"
        )
    predicted_positive = probabilities >= 0.5
    n = len(pairs)
    positive_right = predicted_positive[:n]
    negative_right = ~predicted_positive[n:]
    return {
        "accuracy": float((positive_right.sum() + negative_right.sum()) / (2 * n)),
        "pair_accuracy": float((positive_right & negative_right).mean()),
        "pairs": n,
    }
