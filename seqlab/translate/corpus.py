"""English-French sentence pairs (Tatoeba, CC BY 2.0 FR; see data/LICENSE-eng-fra.md): reading,
words, a split that keeps every translation of a sentence in one part, and the tutorial subset.

Sentences are lower-cased and cut into words and punctuation; an elided French article or
pronoun keeps its apostrophe ("l'homme" -> "l'", "homme"), so "l'" is one word of the
vocabulary rather than many glued ones. `detokenize` puts a sentence back together for BLEU.
"""

from __future__ import annotations

import gzip
import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from seqlab.errors import SeqlabError

LANGUAGES = ("en", "fr")
# Words (a trailing apostrophe kept: l', j', qu'), numbers, and each punctuation mark.
_TOKEN = re.compile(r"[^\W\d_]+['’]|\w+|[^\w\s]")
# PyTorch's seq2seq tutorial keeps English sides that start with these (after its own
# normalisation, which turns "I'm" into "i m"): its "simple sentences" subset.
TUTORIAL_PREFIXES = ("i am ", "i m ", "he is ", "he s ", "she is ", "she s ", "you are ", "you re ",
                     "we are ", "we re ", "they are ", "they re ")
TUTORIAL_MAX_WORDS = 10
SPLIT_SEED = 0


@dataclass(frozen=True)
class Pair:
    en: str
    fr: str

    def side(self, language: str) -> str:
        return self.en if language == "en" else self.fr


@dataclass
class Split:
    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]


def tokenize(sentence: str) -> list[str]:
    text = unicodedata.normalize("NFC", sentence).lower().replace("’", "'")
    return _TOKEN.findall(text)


# Marks written against the word before them in both languages (French spaces "!", "?", ":"
# and ";" off, as Tatoeba's French sides do).
CLOSING = (".", ",", ")", "...")


def detokenize(words: list[str]) -> str:
    """Words back into a sentence: a space between words, none after an elision or before a
    full stop or comma (so sacreBLEU's own tokenizer sees text, not tokens)."""
    text = ""
    for word in words:
        text += word if not text or text.endswith("'") or word in CLOSING else " " + word
    return text


def read_pairs(path: str | Path | None = None) -> list[Pair]:
    """The pairs of a tab-separated file (English, then French), or the shipped Tatoeba file."""
    if path is None:
        with resources.files("seqlab.translate").joinpath("data/eng-fra.txt.gz").open("rb") as raw:
            text = gzip.decompress(raw.read()).decode("utf-8")
        source = "Tatoeba eng-fra"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SeqlabError(f"cannot read sentence pairs from {path}: {error}") from None
        source = str(path)
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise SeqlabError(f"{source}, line {number}: expected 'English<TAB>French', got {line[:60]!r}")
        pairs.append(Pair(parts[0].strip(), parts[1].strip()))
    if not pairs:
        raise SeqlabError(f"{source} holds no sentence pairs")
    return pairs


def tutorial_subset(pairs: list[Pair]) -> list[Pair]:
    """PyTorch's tutorial pairs: short English sides starting "i am", "he is", "you are"..."""
    def simple(pair: Pair) -> bool:
        words = re.sub(r"[^a-z ]+", " ", pair.en.lower()).split()
        text = " ".join(words) + " "
        return text.startswith(TUTORIAL_PREFIXES) and len(words) < TUTORIAL_MAX_WORDS
    return [pair for pair in pairs if simple(pair)]


def split_pairs(pairs: list[Pair], source: str = "en", held_out: float = 0.1) -> Split:
    """A fixed, seeded split into train / validation / test (`held_out` each) by source
    sentence: all translations of one sentence land in the same part, so a test sentence is
    never seen in training under another translation, and all of them serve as references."""
    groups: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[" ".join(tokenize(pair.side(source)))].append(pair)
    keys = sorted(groups)
    random.Random(SPLIT_SEED).shuffle(keys)
    cut = max(1, round(held_out * len(keys)))
    if len(keys) < 3 * cut:
        raise SeqlabError(f"{len(keys)} distinct source sentences are too few to hold out {held_out:.0%} twice")
    parts = [keys[:cut], keys[cut : 2 * cut], keys[2 * cut :]]
    test, validation, train = ([pair for key in part for pair in groups[key]] for part in parts)
    return Split(train, validation, test)


def references(pairs: list[Pair], source: str, target: str) -> dict[str, list[str]]:
    """Every target sentence of each source sentence (its references), by source sentence."""
    found: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        found[pair.side(source)].append(pair.side(target))
    return dict(found)
