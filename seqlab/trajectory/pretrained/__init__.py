"""The shipped trajectory models (see the README)."""
