"""The shipped ball predictor (seqlab trajectory ball train, then export)."""
