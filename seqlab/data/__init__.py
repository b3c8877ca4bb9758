"""Vocabularies, corpora and batching shared by every language-model task."""

from seqlab.data.batching import Window, batchify, endless_windows, windows
from seqlab.data.vocab import END_OF_LINE, UNKNOWN, Vocabulary, VocabularyError, join_words, tokenize

__all__ = ["Vocabulary", "VocabularyError", "UNKNOWN", "END_OF_LINE", "tokenize", "join_words", "batchify", "windows", "endless_windows", "Window"]
