"""Vocabularies and stateful-tBPTT batching."""

import pytest
import torch

from seqlab.data import Vocabulary, VocabularyError, batchify, endless_windows, tokenize, windows
from seqlab.errors import SeqlabError


def test_char_vocabulary_round_trip_and_unknown():
    vocab = Vocabulary.build("abcab")
    assert vocab.tokens == ["<unk>", "a", "b", "c"]
    assert vocab.decode(vocab.encode("cab")) == "cab"
    assert vocab.encode("z") == [0]
    assert vocab.unknown_tokens("abzqz") == ["z", "q"]
    restored = Vocabulary.from_json(vocab.to_json())
    assert restored.tokens == vocab.tokens and restored.encode("cab") == vocab.encode("cab")


def test_word_vocabulary():
    vocab = Vocabulary.build("This morning I took my cat for a walk. I took it.", level="word")
    assert "walk" in vocab and "." in vocab
    assert vocab.decode(vocab.encode("I took my cat")) == "I took my cat"


def test_vocabulary_errors():
    with pytest.raises(VocabularyError, match="empty"):
        Vocabulary.build("")
    strict = Vocabulary(["a", "b"], unknown=None)
    with pytest.raises(VocabularyError, match="'z' is not in the vocabulary"):
        strict.encode("az")
    with pytest.raises(VocabularyError, match="malformed"):
        Vocabulary.from_json({"level": "char"})


def test_batchify_makes_continuing_columns():
    ids = torch.arange(26)
    columns = batchify(ids, 4)  # 26 // 4 = 6 steps, 2 tokens dropped
    assert columns.shape == (6, 4)
    assert columns[:, 1].tolist() == [6, 7, 8, 9, 10, 11]
    with pytest.raises(SeqlabError, match="too short"):
        batchify(torch.arange(5), 4)


def test_windows_continue_each_row_and_shift_targets():
    columns = batchify(torch.arange(40), 2)  # (20, 2)
    parts = list(windows(columns, 6))
    assert [w.reset for w in parts] == [True, False, False, False]
    first, second = parts[0], parts[1]
    assert first.input.shape == (2, 6)
    assert torch.equal(first.target[:, :-1], first.input[:, 1:])  # targets are inputs shifted by one
    # row b of window k+1 continues row b of window k: the carried state is the right one
    assert torch.equal(second.input[:, 0], first.target[:, -1])
    assert parts[-1].input.shape == (2, 1)  # 19 predictions = 6 + 6 + 6 + 1


def test_endless_windows_vary_offsets_and_are_seeded():
    ids = torch.arange(200)
    a = [w.input[0, 0].item() for w, _ in zip(endless_windows(ids, 2, 10, seed=1), range(30)) if w.reset]
    b = [w.input[0, 0].item() for w, _ in zip(endless_windows(ids, 2, 10, seed=1), range(30)) if w.reset]
    assert a == b and len(a) >= 3
    assert len(set(a)) > 1  # passes start at different offsets


def test_word_vocabulary_reads_line_breaks_as_eos_and_always_keeps_it():
    text = "ROMEO:\nI will go.\n\nJULIET:\nStay, love.\n"
    vocab = Vocabulary.build(text, level="word")
    assert tokenize("to be\nor not", "word") == ["to", "be", "<eos>", "or", "not"]
    assert vocab.decode(vocab.encode(text)) == "ROMEO :\nI will go .\n\nJULIET :\nStay , love .\n"
    # Capped to 3 entries, the rarest words go to <unk>; <eos> stays, however the counts fall.
    small = Vocabulary.build(text, level="word", max_size=3)
    assert small.tokens == ["<unk>", ".", "<eos>"]  # "." and ":" both twice: ties go alphabetically
    assert "<eos>" in Vocabulary.build(text, level="word", min_count=100)
    assert Vocabulary.from_json(small.to_json()).tokens == small.tokens
