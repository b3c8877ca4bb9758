"""Captioning's own knowledge: synthetic scenes and their checker, digit strips, CIDEr-D."""
