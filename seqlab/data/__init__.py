"""Vocabularies, corpora and batching shared by every language-model task."""

from seqlab.data.batching import Window, batchify, endless_windows, windows
from seqlab.data.vocab import UNKNOWN, Vocabulary, VocabularyError, tokenize

__all__ = ["Vocabulary", "VocabularyError", "UNKNOWN", "tokenize", "batchify", "windows", "endless_windows", "Window"]
