"""Translation's own knowledge: the English-French pairs, words, the split (seqlab.translate.corpus)."""
