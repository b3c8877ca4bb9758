"""seqlab.translate.corpus: words, the split by source sentence, the tutorial subset."""

import pytest

from seqlab.errors import SeqlabError
from seqlab.translate.corpus import Pair, detokenize, read_pairs, split_pairs, tokenize, tutorial_subset


def test_words_keep_an_elision_and_split_punctuation():
    assert tokenize("L'homme est là !") == ["l'", "homme", "est", "là", "!"]
    assert tokenize("I’m cold.") == ["i'", "m", "cold", "."]  # typographic apostrophe read as '
    assert detokenize(["l'", "homme", "est", "là", "!"]) == "l'homme est là !"
    assert detokenize(["il", "fait", "froid", ",", "non", "."]) == "il fait froid, non."


def test_the_shipped_pairs_and_the_tutorial_subset():
    pairs = read_pairs()
    assert len(pairs) == 74_783 and pairs[0] == Pair("Go.", "Va !")
    tutorial = tutorial_subset(pairs)
    assert 5_000 < len(tutorial) < 12_000
    starts = ("i am", "i'm", "he is", "he's", "she", "you", "we", "they")
    assert all(p.en.lower().replace("’", "'").startswith(starts) for p in tutorial)


def test_every_translation_of_a_sentence_lands_in_one_part():
    pairs = [Pair(f"sentence {n % 50}.", f"phrase {n}.") for n in range(200)]  # 4 translations each
    split = split_pairs(pairs)
    parts = [{p.en for p in part} for part in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert len(split.test) == len(split.validation) == 20  # 5 sentences x 4 translations
    assert split_pairs(pairs).test == split.test  # fixed


def test_bad_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("only one column\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match="line 1: expected 'English<TAB>French'"):
        read_pairs(bad)
    with pytest.raises(SeqlabError, match="cannot read"):
        read_pairs(tmp_path / "missing.txt")
    with pytest.raises(SeqlabError, match="too few"):
        split_pairs([Pair("a.", "b.")])
