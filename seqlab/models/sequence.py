"""A sequence model for the long-term dependency problems: one recurrent layer and a readout.

    x (T, B, F) -> recurrent layer -> h (T, B, H) -> Linear -> y (B, O) from h_{T-1}   (many to one)
                                                          or y (T, B, O) from every h_t (many to many)

The recurrent layer is any seqlab layer; the four the lecture compares (section 5), each with
the initialisation that goes with it, come from seqlab.nn.registry.recurrent_layer by name.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class SequenceModel(nn.Module):
    def __init__(
        self,
        layer: nn.Module,
        output_size: int,
        every_step: bool = False,
        input_classes: int | None = None,
    ) -> None:
        """`every_step`: one output per time step (the copy task) instead of one per sequence.
        `input_classes`: the input is token ids (T, B), fed to the layer one-hot."""
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(layer.hidden_size, output_size)
        self.every_step = every_step
        self.input_classes = input_classes

    def forward(self, x: Tensor) -> Tensor:
        if self.input_classes is not None:
            x = F.one_hot(x, self.input_classes).to(self.head.weight.dtype)  # (T, B) ids -> (T, B, C)
        h, _ = self.layer(x)  # (T, B, H)
        if self.every_step:
            return self.head(h)  # (T, B, O)
        return self.head(h[-1])  # (B, O): read the state after the last step

