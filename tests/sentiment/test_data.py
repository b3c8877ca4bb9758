"""seqlab.sentiment.data: the shipped sets, the user's files and their errors, the tokenizer,
and the folds every sentiment model is scored on."""

from collections import Counter

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.sentiment.data import (
    Dataset,
    SentimentDataError,
    data_dir,
    fold_split,
    load_dataset,
    stratified_folds,
    tokenize,
)

# ------------------------------------------------------------------------------- shipped


def test_mr_has_5331_sentences_of_each_class():
    mr = load_dataset("mr")
    assert mr.counts() == (5331, 5331)
    assert mr.source == "mr" and mr.groups is None and mr.skipped_empty == 0
    assert mr.label_names == ("negative", "positive")
    # Latin-1: 0xe9 is é; the Windows-1252 ellipsis byte 0x85 stays inside its sentence.
    assert any("é" in sentence for sentence in mr.sentences)
    assert any("\x85" in sentence for sentence in mr.sentences)


@pytest.mark.parametrize("site", ["amazon", "imdb", "yelp"])
def test_each_uci_site_has_500_sentences_of_each_class(site):
    dataset = load_dataset(f"uci-{site}")
    assert dataset.counts() == (500, 500)
    assert dataset.source == f"uci-{site}"


def test_pooled_uci_names_the_site_of_every_sentence():
    pooled = load_dataset("uci")
    assert pooled.counts() == (1500, 1500)
    assert Counter(pooled.groups) == {"amazon": 1000, "imdb": 1000, "yelp": 1000}
    yelp = load_dataset("uci-yelp")
    picked = [s for s, g in zip(pooled.sentences, pooled.groups) if g == "yelp"]
    assert picked == yelp.sentences


def test_names_ignore_case_and_white_space():
    assert len(load_dataset(" MR ")) == 10662


def test_the_shipped_folder_is_refused_as_utf8_and_reads_as_latin1(tmp_path):
    # A folder of .pos/.neg files is UTF-8 unless told otherwise; MR's own files are not.
    with pytest.raises(SentimentDataError, match=r"not UTF-8: byte 0x[0-9a-f]{2} at offset \d+"):
        load_dataset(data_dir())
    as_latin1 = load_dataset(data_dir(), encoding="latin-1")
    mr = load_dataset("mr")
    assert as_latin1.sentences == mr.sentences and as_latin1.labels == mr.labels


# ------------------------------------------------------------------------------- user files


def write(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_a_tsv_file_with_0_1_labels(tmp_path):
    path = write(tmp_path / "r.tsv", "Great film!\t1\nDull.\t0\n\t1\n\nOkay then \t 1 \r\n")
    dataset = load_dataset(path)
    assert dataset.sentences == ["Great film!", "Dull.", "Okay then"]
    assert dataset.labels == [1, 0, 1]
    assert dataset.label_names == ("0", "1")
    assert dataset.skipped_empty == 2  # the label with no sentence, and the blank line
    assert dataset.source == str(path)


@pytest.mark.parametrize(
    "negative, positive",
    [("neg", "pos"), ("negative", "positive"), ("NEG", "POS"), ("-", "+"), ("-1", "1"),
     ("bad", "good"), ("1", "2"), ("no", "yes")],
)
def test_two_label_strings_map_deterministically(tmp_path, negative, positive):
    # Written positive first, so that file order cannot be what decides.
    path = write(tmp_path / "r.tsv", f"loved it\t{positive}\nhated it\t{negative}\n")
    dataset = load_dataset(path)
    assert dataset.labels == [1, 0]
    assert dataset.label_names == (negative, positive)


def test_a_utf8_file_with_a_byte_order_mark_and_tabs_inside_sentences(tmp_path):
    path = write(tmp_path / "r.tsv", "\ufeffcafé\tau lait, très bon\tpos\nmeh\tneg\n")
    dataset = load_dataset(path)
    assert dataset.sentences == ["café\tau lait, très bon", "meh"]  # the last tab splits
    assert dataset.labels == [1, 0]


def test_a_folder_of_pos_and_neg_files(tmp_path):
    write(tmp_path / "a.pos", "a joy .\nsuperbe réalisation\n")
    write(tmp_path / "b.pos", "\nfun\n")
    write(tmp_path / "x.neg", "a bore .\n")
    write(tmp_path / "notes.txt", "not read\n")
    dataset = load_dataset(tmp_path)
    assert dataset.sentences == ["a joy .", "superbe réalisation", "fun", "a bore ."]
    assert dataset.labels == [1, 1, 1, 0]
    assert dataset.skipped_empty == 1


BAD_INPUTS = [
    # (file name, bytes, what the message must say)
    ("empty.tsv", b"", "is empty"),
    ("blank.tsv", b"\n  \n", "is empty"),
    ("notabs.tsv", b"a fine film\nan awful film\n", "no tab-separated labels"),
    ("rt.pos", b"a fine film\n", "give the folder that holds them"),
    ("sometabs.tsv", b"fine\t1\nawful 0\nbad\t0\n", "line 2"),
    ("three.tsv", b"a\t0\nb\t1\nc\t2\n", "3 different labels"),
    ("one.tsv", b"a\tpos\nb\tpos\n", "both classes"),
    ("latin1.tsv", b"good\t1\nbad \xe9\t0\n", "byte 0xe9 at offset 11 (line 2)"),
    ("nolabel.tsv", b"good\t1\nbad\t\n", "line 2: nothing after the tab"),
    ("onlylabels.tsv", b"\t1\n\t0\n", "no sentences"),
]


@pytest.mark.parametrize("name, content, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_files_are_one_line_seqlab_errors(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(SeqlabError) as caught:
        load_dataset(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_bad_folders_and_names_are_one_line_seqlab_errors(tmp_path):
    cases = []
    (tmp_path / "none").mkdir()
    cases.append((tmp_path / "none", "no .pos or .neg files"))
    only_pos = tmp_path / "only_pos"
    only_pos.mkdir()
    write(only_pos / "a.pos", "fine\n")
    cases.append((only_pos, "has no .neg file"))
    empty_neg = tmp_path / "empty_neg"
    empty_neg.mkdir()
    write(empty_neg / "a.pos", "fine\n")
    write(empty_neg / "a.neg", "")
    cases.append((empty_neg, "a.neg is empty"))
    bad_utf8 = tmp_path / "bad_utf8"
    bad_utf8.mkdir()
    write(bad_utf8 / "a.pos", b"fine\n")
    write(bad_utf8 / "a.neg", b"na\xefve\n")
    cases.append((bad_utf8, "byte 0xef at offset 2"))
    cases.append((tmp_path / "missing.tsv", "no such data set or file"))
    cases.append(("", "empty data set name"))
    for source, message in cases:
        with pytest.raises(SentimentDataError) as caught:
            load_dataset(source)
        assert message in str(caught.value), source
        assert "\n" not in str(caught.value)
    with pytest.raises(SentimentDataError, match="unknown encoding"):
        load_dataset(empty_neg, encoding="klingon")


def test_dataset_checks_itself_and_subsets():
    with pytest.raises(ValueError):
        Dataset(sentences=["a"], labels=[0, 1], source="x")
    with pytest.raises(ValueError):
        Dataset(sentences=["a"], labels=[2], source="x")
    dataset = Dataset(["a", "b", "c"], [0, 1, 0], "x", groups=["g", "h", "g"])
    part = dataset.subset(np.array([2, 1]))
    assert (part.sentences, part.labels, part.groups) == (["c", "b"], [0, 1], ["g", "h"])


# ------------------------------------------------------------------------------- tokenize


def test_tokenize_splits_negations_like_the_penn_treebank():
    assert tokenize("didn't") == ["did", "n't"]
    assert tokenize("doesn't can't won't") == ["does", "n't", "can", "n't", "will", "n't"]
    assert tokenize("dont didnt") == ["do", "n't", "did", "n't"]  # raw text drops apostrophes


def test_tokenize_keeps_mr_tokens_as_they_are():
    sentence = "the rock is destined to be the 21st century's new \" conan \" -- a co-writer/director ."
    assert tokenize(sentence) == [
        "the", "rock", "is", "destined", "to", "be", "the", "21st", "century's", "new", '"',
        "conan", '"', "--", "a", "co-writer", "/", "director", ".",
    ]


def test_tokenize_makes_raw_text_come_out_like_mr():
    assert tokenize("Didn't like it... at ALL!") == ["did", "n't", "like", "it", "...", "at", "all", "!"]
    assert tokenize("I didn’t like it.") == tokenize("i didn't like it .")
    assert tokenize("Wow… Loved this place—really.") == [
        "wow", "...", "loved", "this", "place", "--", "really", "."]
    # MR's Windows-1252 bytes, decoded as Latin-1
    assert tokenize("interwoven\x85 [the film]\x96 fine") == [
        "interwoven", "...", "[", "the", "film", "]", "--", "fine"]
    assert tokenize("3.5 stars, 10/10!!") == ["3.5", "stars", ",", "10", "/", "10", "!", "!"]
    assert tokenize("   ") == []


# ------------------------------------------------------------------------------- folds


def test_folds_are_stratified_disjoint_covering_and_deterministic():
    labels = [1] * 53 + [0] * 47
    folds = stratified_folds(labels, k=10, seed=0)
    assert len(folds) == 10
    everything = np.concatenate(folds)
    assert sorted(everything.tolist()) == list(range(100))  # disjoint and covering
    y = np.array(labels)
    for fold in folds:
        assert list(fold) == sorted(fold)
        assert 9 <= len(fold) <= 11
        assert abs(y[fold].sum() - 5.3) < 1  # about 53% positive in every fold
    again = stratified_folds(labels, k=10, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))
    other = stratified_folds(labels, k=10, seed=1)
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other))


def test_mr_folds_are_balanced():
    mr = load_dataset("mr")
    folds = stratified_folds(mr.labels)
    y = np.array(mr.labels)
    assert [len(f) for f in folds] == [1067, 1067] + [1066] * 8
    assert all(abs(y[f].mean() - 0.5) < 0.001 for f in folds)


def test_fold_split():
    folds = stratified_folds([0, 1] * 10, k=5, seed=0)
    for i in range(5):
        train, test = fold_split(20, folds, i)
        assert np.array_equal(test, folds[i])
        assert sorted(train.tolist() + test.tolist()) == list(range(20))
    with pytest.raises(SentimentDataError, match="fold 5 does not exist"):
        fold_split(20, folds, 5)
    with pytest.raises(SentimentDataError, match="outside"):
        fold_split(3, [np.array([0, 5])], 0)  # folds of a larger data set


def test_folds_need_enough_of_each_class():
    with pytest.raises(SentimentDataError, match="at least 10 of each class"):
        stratified_folds([0] * 30 + [1] * 3)
    with pytest.raises(SentimentDataError, match="only one class"):
        stratified_folds([1] * 30)
