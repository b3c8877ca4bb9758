"""Transforms a forecaster may read its series through, and their inverses.

A series whose swings grow with its level (sunspots: quiet minima, violent maxima) is easier to
forecast on a scale that evens them out: the square root (Box-Cox with lambda 1/2, the classic
transform for sunspot numbers) or the logarithm (lambda 0). A quantile forecast maps back
exactly: the transforms rise strictly, so the q-quantile of the transformed value, transformed
back, is the q-quantile of the value itself. Scores are always taken on the original scale.
"""

from __future__ import annotations

import numpy as np

from seqlab.errors import SeqlabError

TRANSFORMS = ("none", "sqrt", "log")


def forward(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "sqrt":
        return np.sqrt(values)
    if transform == "log":
        return np.log(values)
    return values


def inverse(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "sqrt":
        return np.square(np.maximum(values, 0.0))  # a square root below 0 is 0
    if transform == "log":
        return np.exp(values)
    return values


def check(values: np.ndarray, transform: str, name: str) -> None:
    """One clear line when a series cannot be read through the transform."""
    if transform == "sqrt" and (values < 0).any():
        raise SeqlabError(f"{name} has negative values ({values.min():g}); --transform sqrt needs values >= 0")
    if transform == "log" and (values <= 0).any():
        raise SeqlabError(f"{name} has values <= 0 ({values.min():g}); --transform log needs values > 0")
