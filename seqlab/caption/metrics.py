"""CIDEr-D (Vedantam et al. 2015), as the COCO caption evaluation computes it: for n = 1..4,
the cosine similarity of TF-IDF weighted n-gram vectors of candidate and reference, with the
candidate's counts clipped by the reference's and a Gaussian penalty on the length difference
(sigma 6), averaged over references and n, times 10. Document frequencies come from the
references of the whole test set, as in pycocoevalcap.
"""

from __future__ import annotations

import math
from collections import Counter


def ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def cider_d(candidates: list[str], references: list[list[str]], sigma: float = 6.0) -> float:
    """The corpus CIDEr-D of candidate captions, each with its list of reference captions."""
    if len(candidates) != len(references) or not candidates:
        raise ValueError("one list of references per candidate, and at least one candidate")
    reference_grams = [[[ngrams(r.split(), n) for n in range(1, 5)] for r in refs] for refs in references]
    frequency = [Counter() for _ in range(4)]  # in how many images' references each n-gram occurs
    for refs in reference_grams:
        for n in range(4):
            frequency[n].update(set().union(*(grams[n].keys() for grams in refs)))
    log_images = math.log(float(len(candidates)))

    def vector(grams: Counter, n: int) -> tuple[dict, float]:
        weights = {g: count * (log_images - math.log(max(1.0, frequency[n][g]))) for g, count in grams.items()}
        return weights, math.sqrt(sum(w * w for w in weights.values()))

    total = 0.0
    for candidate, refs, grams_of_refs in zip(candidates, references, reference_grams):
        words = candidate.split()
        score = 0.0
        for n in range(4):
            mine, my_norm = vector(ngrams(words, n + 1), n)
            for ref_words, ref_grams in zip(refs, grams_of_refs):
                theirs, their_norm = vector(ref_grams[n], n)
                # Clipped: a candidate gains nothing from saying an n-gram more often than the reference.
                dot = sum(min(w, theirs[g]) * theirs[g] for g, w in mine.items() if g in theirs)
                if my_norm and their_norm:
                    delta = len(words) - len(ref_words.split())
                    score += dot / (my_norm * their_norm) * math.exp(-(delta ** 2) / (2 * sigma ** 2))
        total += score / (4 * len(refs)) * 10.0
    return total / len(candidates)
