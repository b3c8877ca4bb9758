"""Argument checks shared by the cells and the layers.

torch.nn's own messages are the bar: each error names the argument, the shape (or dtype,
or device) it expected and the one it got. Checks raise ValueError for a wrong shape or
value and TypeError for a wrong kind of object, so callers can tell bad input from a bug.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_tensor(name: str, value: object) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_shape(who: str, name: str, tensor: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != tuple(expected):
        raise ValueError(
            f"{who}: expected {name} of shape {tuple(expected)}, got {tuple(tensor.shape)}"
        )


def check_like(who: str, name: str, tensor: Tensor, reference: Tensor) -> None:
    """`tensor` must have the dtype and device of `reference` (a parameter)."""
    if tensor.dtype != reference.dtype:
        raise TypeError(
            f"{who}: {name} has dtype {tensor.dtype} but the parameters are {reference.dtype}; "
            f"convert one of them (e.g. module.to({tensor.dtype}))"
        )
    if tensor.device != reference.device:
        raise ValueError(
            f"{who}: {name} is on {tensor.device} but the parameters are on {reference.device}; "
            f"move one of them (e.g. module.to('{tensor.device}'))"
        )
