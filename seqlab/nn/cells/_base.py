"""What every cell's forward() does before its equations: check and shape the arguments."""

from __future__ import annotations

import torch
from torch import Tensor

from seqlab.nn._checks import check_like, check_shape, check_tensor


def prepare_cell_input(
    cell: torch.nn.Module, input: Tensor, hx: Tensor | None, name: str = "hx"
) -> tuple[Tensor, Tensor, bool]:
    """Return (x (B, I), h (B, H), was_unbatched) for a one-step cell call.

    Accepts what torch.nn's cells accept: x of shape (B, I) with h (B, H), or an unbatched
    x of shape (I,) with h (H,). A missing h is zeros, as in the lecture ("initialised to
    zeros").
    """
    who = type(cell).__name__
    check_tensor("input", input)
    if input.dim() not in (1, 2):
        raise ValueError(f"{who}: expected input of 1 (unbatched) or 2 (batched) dimensions, got {input.dim()}")
    if input.shape[-1] != cell.input_size:
        raise ValueError(
            f"{who}: expected input with {cell.input_size} features (input_size), got {input.shape[-1]}"
        )
    check_like(who, "input", input, cell.weight_ih)
    unbatched = input.dim() == 1
    x = input.unsqueeze(0) if unbatched else input
    batch = x.shape[0]
    if hx is None:
        h = torch.zeros(batch, cell.hidden_size, dtype=x.dtype, device=x.device)
    else:
        check_tensor(name, hx)
        expected = (cell.hidden_size,) if unbatched else (batch, cell.hidden_size)
        check_shape(who, name, hx, expected)
        check_like(who, name, hx, cell.weight_ih)
        h = hx.unsqueeze(0) if unbatched else hx
    return x, h, unbatched
