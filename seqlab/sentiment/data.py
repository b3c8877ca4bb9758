"""Sentiment data: the shipped sets, the user's files, one tokenizer and one set of folds.

    load_dataset("mr")           # movie-review sentences, Pang & Lee 2005: 5,331 + 5,331
    load_dataset("uci")          # UCI sentences from amazon, imdb and yelp pooled (groups = site)
    load_dataset("uci-yelp")     # one UCI site (also uci-amazon, uci-imdb): 500 + 500
    load_dataset("reviews.tsv")  # a file of sentence<TAB>label lines
    load_dataset("my_folder")    # a folder of *.pos and *.neg files, one sentence a line

Every model in seqlab.sentiment (the baselines here, the recurrent model of
seqlab/tasks/sentiment.py) reads sentences through `tokenize` and is scored on the folds of
`stratified_folds`, so that their numbers compare: the same tokens, the same ten test sets.

Rules for the user's files:
- UTF-8 (a byte-order mark is allowed); anything else is refused with the byte offset of
  the first bad byte, unless another `encoding` is asked for (MR's own files are Latin-1).
- Labels: 0/1, or any two distinct strings. Known names map to their meaning (neg/pos,
  negative/positive, bad/good, -1/+1, -/+, any case); two numbers map smaller -> 0; any
  other two strings map in sorted order. `Dataset.label_names` keeps the names, 0 first.
- Lines with no sentence (blank lines, or a label with nothing before its tab) are skipped
  and counted in `Dataset.skipped_empty`; everything else that is wrong is a one-line
  SentimentDataError (a SeqlabError) that says what to do.
- Nothing is read from the network.

Known names come before paths: a file that happens to be called `mr` needs `./mr`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ..errors import SeqlabError

# The UCI "Sentiment Labelled Sentences" files, one per site (Kotzias et al., KDD 2015).
UCI_SITES: dict[str, str] = {
    "amazon": "uci-amazon_cells_labelled.txt",
    "imdb": "uci-imdb_labelled.txt",
    "yelp": "uci-yelp_labelled.txt",
}
MR_FILES: tuple[str, str] = ("rt-polarity.pos", "rt-polarity.neg")
DATASET_NAMES: tuple[str, ...] = ("mr", "uci") + tuple(f"uci-{site}" for site in UCI_SITES)
DEFAULT_LABEL_NAMES: tuple[str, str] = ("negative", "positive")

# Label strings whose meaning is known, compared in lower case. A pair with one of each maps
# by meaning; any other pair falls back to numeric, then sorted, order (module docstring).
_NEGATIVE_NAMES = frozenset({"0", "-1", "neg", "negative", "bad", "-"})
_POSITIVE_NAMES = frozenset({"1", "+1", "pos", "positive", "good", "+"})

_UTF8_BOM = b"\xef\xbb\xbf"


class SentimentDataError(SeqlabError):
    """A sentiment data set that cannot be read: the message says which file and what to do."""


@dataclass
class Dataset:
    """Labelled sentences: `labels[i]` is 0 (negative) or 1 (positive) for `sentences[i]`.

    `sentences` are the text as read (only stripped of surrounding white space); models
    tokenize them with `tokenize`. `groups`, when set, names where each sentence came from
    (the pooled UCI set: "amazon", "imdb" or "yelp").
    """

    sentences: list[str]
    labels: list[int]
    source: str  # a data set name or a path, for messages and tables
    groups: list[str] | None = None
    label_names: tuple[str, str] = DEFAULT_LABEL_NAMES  # the names of label 0 and label 1
    skipped_empty: int = 0  # lines with no sentence, left out

    def __post_init__(self) -> None:
        if len(self.sentences) != len(self.labels):
            raise ValueError(
                f"{len(self.sentences)} sentences but {len(self.labels)} labels"
            )
        if self.groups is not None and len(self.groups) != len(self.sentences):
            raise ValueError(f"{len(self.sentences)} sentences but {len(self.groups)} groups")
        if any(label not in (0, 1) for label in self.labels):
            raise ValueError("labels must be 0 (negative) or 1 (positive)")

    def __len__(self) -> int:
        return len(self.sentences)

    def counts(self) -> tuple[int, int]:
        """(negative, positive) sentence counts."""
        positive = sum(self.labels)
        return len(self.labels) - positive, positive

    def subset(self, indices) -> Dataset:
        """The sentences at `indices` (a fold, say), in that order, as a Dataset."""
        picked = [int(i) for i in indices]
        return Dataset(
            sentences=[self.sentences[i] for i in picked],
            labels=[self.labels[i] for i in picked],
            source=self.source,
            groups=None if self.groups is None else [self.groups[i] for i in picked],
            label_names=self.label_names,
        )


# ------------------------------------------------------------------------------- loading


def data_dir() -> Path:
    """The folder of shipped data files (seqlab/sentiment/data)."""
    return Path(str(resources.files("seqlab.sentiment") / "data"))


def load_dataset(source: str | os.PathLike, encoding: str = "utf-8") -> Dataset:
    """Load a shipped data set by name, or the user's file or folder (module docstring).

    `encoding` applies to the user's files only; the shipped ones have their own (MR is
    Latin-1, the UCI files UTF-8).
    """
    name = str(source).strip()
    if not name:
        raise SentimentDataError(
            "empty data set name: give mr, uci, uci-amazon, uci-imdb, uci-yelp, "
            "a file of sentence<TAB>label lines, or a folder of .pos and .neg files"
        )
    if name.lower() in DATASET_NAMES:
        return _shipped(name.lower())
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_folder(path, encoding)
    if path.is_file():
        return _from_tsv(path, encoding)
    raise SentimentDataError(
        f"no such data set or file: {name!r}; give one of {', '.join(DATASET_NAMES)}, "
        "a file of sentence<TAB>label lines, or a folder of .pos and .neg files"
    )


def _shipped(name: str) -> Dataset:
    folder = data_dir()
    if name == "mr":
        # MR's files are Latin-1 (byte 0xe9 is é; a few Windows-1252 bytes such as 0x85,
        # an ellipsis there, decode to C1 control characters, which `tokenize` maps back).
        pos, neg = (folder / file for file in MR_FILES)
        return _from_pos_neg([pos], [neg], source="mr", encoding="latin-1")
    if name == "uci":
        parts = [_from_tsv(folder / file, "utf-8", source=f"uci-{site}")
                 for site, file in UCI_SITES.items()]
        return Dataset(
            sentences=[s for part in parts for s in part.sentences],
            labels=[label for part in parts for label in part.labels],
            source="uci",
            groups=[site for site, part in zip(UCI_SITES, parts) for _ in part.sentences],
            skipped_empty=sum(part.skipped_empty for part in parts),
        )
    site = name.removeprefix("uci-")
    return _from_tsv(folder / UCI_SITES[site], "utf-8", source=name)


def _read_lines(path: Path, encoding: str) -> list[str]:
    """The lines of a text file, decoded strictly; a missing or empty file is an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SentimentDataError(f"no such file: {path}") from None
    except OSError as error:
        raise SentimentDataError(f"cannot read {path}: {error.strerror}") from None
    if not data.strip():
        raise SentimentDataError(
            f"{path} is empty: it needs one sentence per line"
        )
    text = _decode(data, path, encoding)
    # Split on "\n" only: str.splitlines() would also split at U+0085 (NEL) and friends,
    # which MR's Latin-1 text holds inside sentences (a Windows-1252 ellipsis).
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends a line; it does not start an empty one
    return lines


def _decode(data: bytes, path: Path, encoding: str) -> str:
    normalized = encoding.lower().replace("_", "-")
    if normalized in ("utf-8", "utf8", "utf-8-sig"):
        skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
        try:
            return data[skip:].decode("utf-8")
        except UnicodeDecodeError as error:
            offset = skip + error.start
            line = data.count(b"\n", 0, offset) + 1
            raise SentimentDataError(
                f"{path} is not UTF-8: byte 0x{data[offset]:02x} at offset {offset} "
                f"(line {line}); save it as UTF-8, or give its encoding "
                "(encoding='latin-1' for MR's own rt-polarity files)"
            ) from None
    try:
        return data.decode(encoding)
    except LookupError:
        raise SentimentDataError(f"unknown encoding {encoding!r}: try utf-8 or latin-1") from None
    except UnicodeDecodeError as error:
        raise SentimentDataError(
            f"{path} is not {encoding}: byte 0x{data[error.start]:02x} at offset "
            f"{error.start}; give its real encoding"
        ) from None


def _from_tsv(path: Path, encoding: str, source: str | None = None) -> Dataset:
    """A file of sentence<TAB>label lines (the last tab on a line separates the label)."""
    lines = _read_lines(path, encoding)
    sentences: list[str] = []
    label_strings: list[str] = []
    skipped = 0
    untabbed: list[int] = []  # numbers of non-blank lines that have no tab
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            skipped += 1
            continue
        if "\t" not in line:
            untabbed.append(number)
            continue
        sentence, label = (part.strip() for part in line.rsplit("\t", 1))
        if not label:
            raise SentimentDataError(
                f"{path}, line {number}: nothing after the tab; each line must be "
                "sentence<TAB>label"
            )
        if not sentence:
            skipped += 1
            continue
        sentences.append(sentence)
        label_strings.append(label)
    if untabbed and not sentences and not label_strings:
        raise SentimentDataError(
            f"{path} has no tab-separated labels: each line must be sentence<TAB>label "
            "(for .pos and .neg files, give the folder that holds them)"
        )
    if untabbed:
        shown = ", ".join(str(n) for n in untabbed[:5]) + (" ..." if len(untabbed) > 5 else "")
        raise SentimentDataError(
            f"{path}: {len(untabbed)} line(s) with no tab (line {shown}); "
            "each line must be sentence<TAB>label"
        )
    if not sentences:
        raise SentimentDataError(f"{path} has labels but no sentences: each line must be "
                                 "sentence<TAB>label")
    mapping, label_names = _label_mapping(label_strings, path)
    return Dataset(
        sentences=sentences,
        labels=[mapping[label] for label in label_strings],
        source=source or str(path),
        label_names=label_names,
        skipped_empty=skipped,
    )


def _label_mapping(label_strings: list[str], path: Path) -> tuple[dict[str, int], tuple[str, str]]:
    """Map a file's two label strings to 0 and 1 (rules in the module docstring)."""
    distinct = sorted(set(label_strings))
    if len(distinct) == 1:
        raise SentimentDataError(
            f"{path}: every sentence has label {distinct[0]!r}; a sentiment data set needs "
            "both classes (negative and positive)"
        )
    if len(distinct) > 2:
        shown = ", ".join(repr(label) for label in distinct[:6])
        more = " ..." if len(distinct) > 6 else ""
        raise SentimentDataError(
            f"{path}: {len(distinct)} different labels ({shown}{more}); a sentiment file "
            "needs exactly two, such as 0/1 or neg/pos"
        )
    first, second = distinct
    if first.lower() in _POSITIVE_NAMES and second.lower() in _NEGATIVE_NAMES:
        negative, positive = second, first
    elif first.lower() in _NEGATIVE_NAMES and second.lower() in _POSITIVE_NAMES:
        negative, positive = first, second
    elif _is_number(first) and _is_number(second):
        negative, positive = sorted(distinct, key=float)
    else:
        negative, positive = first, second
    return {negative: 0, positive: 1}, (negative, positive)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _from_folder(folder: Path, encoding: str) -> Dataset:
    """A folder of *.pos and *.neg files (not searched recursively)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    pos = [p for p in files if p.suffix.lower() == ".pos"]
    neg = [p for p in files if p.suffix.lower() == ".neg"]
    if not pos and not neg:
        raise SentimentDataError(
            f"no .pos or .neg files in folder {folder}: give a folder of .pos and .neg files "
            "(one sentence a line), or a file of sentence<TAB>label lines"
        )
    missing = ".neg" if not neg else ".pos" if not pos else None
    if missing:
        raise SentimentDataError(
            f"folder {folder} has no {missing} file: a sentiment data set needs both classes, "
            "positive sentences in .pos files and negative ones in .neg files"
        )
    return _from_pos_neg(pos, neg, source=str(folder), encoding=encoding)


def _from_pos_neg(pos: list[Path], neg: list[Path], source: str, encoding: str) -> Dataset:
    """Positive sentences from `pos` files, then negative ones from `neg` files."""
    sentences: list[str] = []
    labels: list[int] = []
    skipped = 0
    for label, paths in ((1, pos), (0, neg)):
        for path in paths:
            for line in _read_lines(path, encoding):
                sentence = line.strip()
                if not sentence:
                    skipped += 1
                    continue
                sentences.append(sentence)
                labels.append(label)
    return Dataset(sentences=sentences, labels=labels, source=source, skipped_empty=skipped)


# ------------------------------------------------------------------------------- tokens

# Typographic and Windows-1252 punctuation, mapped to the ASCII that MR's tokenization uses.
# MR's Latin-1 decoding turns the Windows-1252 bytes 0x85, 0x91-0x94 and 0x96-0x97 into the
# C1 control characters below; in raw UTF-8 text (the UCI files) they appear as themselves.
_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\x91": "'", "\x92": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\x93": '"', "\x94": '"',
    "\u2026": " ... ", "\x85": " ... ",
    "\u2013": " -- ", "\u2014": " -- ", "\x96": " -- ", "\x97": " -- ",
})

_TOKEN = re.compile(
    r"""
      \d+(?:[.,:]\d+)+            # a number with a point or separators: 3.5, 1,000, 10:30
    | [^\W_]+(?:['-][^\W_]+)*     # a word, inner hyphens and apostrophes kept: co-writer, he's
    | \.{2,}                      # an ellipsis
    | -{2,}                       # a dash written as hyphens (MR writes "--")
    | \S                          # any other character is a punctuation token of its own
    """,
    re.VERBOSE,
)

# Negations split off as "n't" (Penn Treebank style, which MR's "doesn't" is not: MR keeps
# contractions whole) so that "n't" is one token the models can learn from, whatever verb it
# hangs on. The stems Penn Treebank leaves odd ("ca", "wo", "sha") are made words again.
_NEGATED_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}
# Raw review text (the UCI sets) often drops the apostrophe; these read the same way.
_NO_APOSTROPHE = {
    "dont": "do", "doesnt": "does", "didnt": "did", "isnt": "is", "wasnt": "was",
    "arent": "are", "werent": "were", "havent": "have", "hasnt": "has", "hadnt": "had",
    "couldnt": "could", "wouldnt": "would", "shouldnt": "should", "cant": "can",
    "wont": "will",
}


def tokenize(sentence: str) -> list[str]:
    """Lower-case word and punctuation tokens, alike for MR's pre-tokenized text and raw text.

    "Didn't like it... at ALL!" -> ["did", "n't", "like", "it", "...", "at", "all", "!"]
    Other contractions stay whole, as in MR ("he's", "it's"); hyphenated words stay whole
    ("co-writer"); punctuation is one token per character except "..." and "--".
    """
    text = sentence.lower().translate(_PUNCTUATION)
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith(".."):
            tokens.append("...")
        elif token.startswith("--"):
            tokens.append("--")
        elif token.endswith("n't") and len(token) > 3:
            stem = token[:-3]
            tokens += [_NEGATED_STEMS.get(stem, stem), "n't"]
        elif token in _NO_APOSTROPHE:
            tokens += [_NO_APOSTROPHE[token], "n't"]
        else:
            tokens.append(token)
    return tokens


# ------------------------------------------------------------------------------- folds


def stratified_folds(labels, k: int = 10, seed: int = 0) -> list[np.ndarray]:
    """The test indices of each of `k` folds, sorted: stratified by label, shuffled with `seed`.

    scikit-learn's StratifiedKFold(shuffle=True, random_state=seed): each fold keeps the
    class balance of the whole, the folds are disjoint and cover every index, and the same
    labels, k and seed give the same folds on every machine, so every model (baselines and
    the recurrent model) is scored on the same ten test sets.
    """
    y = np.asarray(labels)
    if k < 2:
        raise SentimentDataError(f"k={k} folds: cross-validation needs at least 2")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise SentimentDataError("only one class in the labels: folds need both")
    if counts.min() < k:
        rare = classes[counts.argmin()]
        raise SentimentDataError(
            f"only {counts.min()} sentences have label {rare}: {k}-fold cross-validation needs "
            f"at least {k} of each class (use fewer folds or more data)"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [np.sort(test).astype(np.int64) for _, test in splitter.split(np.zeros(len(y)), y)]


def fold_split(n: int, folds: list[np.ndarray], i: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) for fold `i` of `folds` over `n` items, both sorted."""
    if not 0 <= i < len(folds):
        raise SentimentDataError(f"fold {i} does not exist: there are {len(folds)} (0 to {len(folds) - 1})")
    test = np.sort(np.asarray(folds[i], dtype=np.int64))
    if len(test) and (test[0] < 0 or test[-1] >= n):
        raise SentimentDataError(f"fold {i} has indices outside 0..{n - 1}: folds of another data set?")
    in_train = np.ones(n, dtype=bool)
    in_train[test] = False
    return np.flatnonzero(in_train).astype(np.int64), test
