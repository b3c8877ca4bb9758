"""What the encoder-decoder tasks share (translation, captioning): word vocabularies with
padding, target batches in teacher-forcing form, and decoding through the one sampler."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import torch

from seqlab.data import Vocabulary
from seqlab.sample import SamplingConfig, beam_search, sample

PAD, UNKNOWN, END = "<pad>", "<unk>", "<eos>"  # END also starts every target sentence


def word_vocabulary(sentences: list[list[str]], min_count: int) -> Vocabulary:
    """The words of tokenised sentences seen at least `min_count` times; PAD first (index 0,
    which the losses ignore), END a line's end for seqlab.data's join_words."""
    counts = Counter(word for sentence in sentences for word in sentence)
    kept = sorted(word for word, n in counts.items() if n >= min_count and word not in (PAD, UNKNOWN, END))
    return Vocabulary([PAD, UNKNOWN, END, *kept], level="word", unknown=UNKNOWN)


def target_tensors(targets: list[list[int]], end: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded (B, T) teacher-forcing input (<eos>, words) and output (words, <eos>); pad is 0."""
    longest = max(len(t) for t in targets) + 1
    target_in = torch.zeros((len(targets), longest), dtype=torch.long)
    target_out = torch.zeros((len(targets), longest), dtype=torch.long)
    for row, t in enumerate(targets):
        target_in[row, : len(t) + 1] = torch.tensor([end, *t])
        target_out[row, : len(t) + 1] = torch.tensor([*t, end])
    return target_in, target_out


def decode_words(decoding, vocab: Vocabulary, beam_width: int = 1, max_length: int = 40) -> list[str]:
    """The words the decoder writes for one input: greedy (beam_width 1) with seqlab's
    sampler, or seqlab's beam search, its finished sentences ranked by log-probability per word."""
    decoding.eval()
    if beam_width == 1:
        return sample(decoding, vocab, "\n", max_length, SamplingConfig(greedy=True), stop="\n").texts[0].split()
    result = beam_search(decoding, vocab, "\n", lambda words: words[-1] == END, beam_width, max_length)
    if not result.finished:
        return []
    best, _ = max(result.finished, key=lambda item: item[1] / len(item[0]))
    return best[:-1]


@torch.no_grad()
def nats_per_word(model, batches: Iterable[tuple]) -> float:
    """Held-out cross-entropy per real target word, in eval mode: each batch is the arguments
    of `model.loss` before the padding index, its last one the padded target (pad 0)."""
    was_training = model.training
    model.eval()
    total = words = 0.0
    for arguments in batches:
        real = int((arguments[-1] != 0).sum())
        total += model.loss(*arguments, 0).item() * real
        words += real
    model.train(was_training)
    return total / max(1, words)
