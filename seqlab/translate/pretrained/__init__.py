"""The shipped English-to-French translation model (seqlab translate train, then export); see the README."""
