"""Data shipped with seqlab.music: irish.abc and its licence (LICENSE-irish.abc.md).

This file makes the folder a package, so the project's package-data globs (`*.abc`,
`*.md`) put both files in the wheel. irish.abc is the training set of the MIT
Introduction to Deep Learning music lab (PyPI `mitdeeplearning` 0.7.5), MIT License.
"""
