"""Tiny Shakespeare (tinyshakespeare.txt), the default corpus of `seqlab text`; see README.md."""
