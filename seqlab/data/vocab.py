"""Vocabularies: the first two of the lecture's three steps for feeding language to a network.

1. vocabulary: the corpus's distinct tokens (characters, or words);
2. indexing: token -> integer;
3. embedding: integer -> learned vector (done by the model, torch.nn.Embedding).

A vocabulary is saved inside every checkpoint (`to_json` / `from_json`), so a model always
decodes with the vocabulary it was trained with.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from seqlab.errors import SeqlabError

UNKNOWN = "<unk>"
# Word level: a line break is a token of its own, so a word model learns where lines end
# (pytorch/examples' word_language_model adds <eos> after every line the same way).
END_OF_LINE = "<eos>"
SPECIALS = {"char": (), "word": (END_OF_LINE,)}  # kept in every vocabulary of the level, however rare
# Words, the punctuation between them, and line breaks; other whitespace is dropped and
# restored as one space.
_WORD = re.compile(r"\w+(?:'\w+)?|[^\w\s]|\n")


class VocabularyError(SeqlabError):
    pass


@dataclass
class Vocabulary:
    tokens: list[str]
    level: str = "char"  # "char" or "word"
    unknown: str | None = None  # the token unknown ones map to; None: unknown tokens are errors
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.level not in ("char", "word"):
            raise VocabularyError(f"vocabulary level must be 'char' or 'word', got {self.level!r}")
        if len(set(self.tokens)) != len(self.tokens):
            raise VocabularyError("vocabulary tokens must be distinct")
        if self.unknown is not None and self.unknown not in self.tokens:
            self.tokens = [self.unknown, *self.tokens]
        self._index = {token: i for i, token in enumerate(self.tokens)}

    # --------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        text: str,
        level: str = "char",
        min_count: int = 1,
        max_size: int | None = None,
        unknown: str | None = UNKNOWN,
    ) -> "Vocabulary":
        """All tokens of `text` (sorted, so the order does not depend on the text's order).

        With `min_count` or `max_size`, the rarer tokens are left out (they read as `unknown`);
        the level's special tokens (a word vocabulary's <eos>) are always kept.
        """
        counts = Counter(tokenize(text, level))
        if not counts:
            raise VocabularyError("cannot build a vocabulary from empty text")
        specials = [t for t in SPECIALS.get(level, ()) if t in counts]
        kept = [t for t, n in counts.items() if n >= min_count and t not in specials]
        if max_size is not None:
            room = max_size - (unknown is not None) - len(specials)
            kept = sorted(kept, key=lambda t: (-counts[t], t))[: max(0, room)]
        return cls(sorted(kept + specials), level, unknown)

    # ---------------------------------------------------------------------------- indexing
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def index(self, token: str) -> int:
        if token in self._index:
            return self._index[token]
        if self.unknown is None:
            raise VocabularyError(f"token {token!r} is not in the vocabulary of {len(self)} {self.level}s")
        return self._index[self.unknown]

    def encode(self, text: str) -> list[int]:
        return [self.index(token) for token in tokenize(text, self.level)]

    def unknown_tokens(self, text: str) -> list[str]:
        """The distinct tokens of `text` this vocabulary does not know, in order of appearance."""
        return list(dict.fromkeys(t for t in tokenize(text, self.level) if t not in self._index))

    def decode(self, ids: Iterable[int]) -> str:
        if self.level == "char":
            return "".join(self.tokens[i] for i in ids)
        return join_words(self.tokens[i] for i in ids)

    # ----------------------------------------------------------------------- serialisation
    def to_json(self) -> dict:
        return {"tokens": self.tokens, "level": self.level, "unknown": self.unknown}

    @classmethod
    def from_json(cls, data: dict) -> "Vocabulary":
        try:
            return cls(list(data["tokens"]), data.get("level", "char"), data.get("unknown"))
        except (KeyError, TypeError) as error:
            raise VocabularyError(f"malformed vocabulary in checkpoint: {error}") from None


def tokenize(text: str, level: str) -> list[str]:
    if level == "char":
        return list(text)
    return [END_OF_LINE if token == "\n" else token for token in _WORD.findall(text)]


def join_words(words: Iterable[str]) -> str:
    """Words -> text: one space between words on a line, <eos> back to a line break."""
    text = ""
    for word in words:
        if word == END_OF_LINE:
            text += "\n"
        else:
            text += word if text == "" or text.endswith("\n") else " " + word
    return text
