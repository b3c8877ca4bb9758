"""Where will a pedestrian walk next: an LSTM encoder-decoder over displacements.

    observed positions (B, T, 2) -> displacements (B, T-1, 2) -> embedding (B, T-1, E)
        -> encoder recurrent layers -> state -> decoder recurrent layers, K steps, each fed
        the displacement it predicted last -> displacements (B, K, 2) -> positions (B, K, 2)

Displacements rather than positions: a walk looks the same wherever in the scene it happens,
so what is learned on one scene carries to another (Alahi et al. 2016, Gupta et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import check_range
from seqlab.models.language_model import RecurrentModelConfig

# Displacements are in metres per 0.4 s, about 0.5: scaled up to unit size for the network.
SCALE = 2.0


@dataclass
class PedestrianPredictorConfig(RecurrentModelConfig):
    horizon: int = field(default=12, metadata={"set_by_task": True})
    embedding_size: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("horizon", self.horizon, 1, 1000)


class PedestrianPredictor(nn.Module):
    def __init__(self, config: PedestrianPredictorConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Linear(2, config.embedding_size)
        self.encoder = config.recurrent_layers()
        self.decoder = config.recurrent_layers()
        self.output = nn.Linear(config.hidden_size, 2)

    def forward(self, observed: Tensor) -> Tensor:
        """observed (B, T, 2) metres -> predicted positions (B, K, 2) metres."""
        steps = (observed[:, 1:] - observed[:, :-1]) * SCALE  # (B, T-1, 2)
        _, state = self.encoder(torch.relu(self.embed(steps)))
        last = steps[:, -1:]  # (B, 1, 2): the decoder starts from the last observed step
        predicted = []
        for _ in range(self.config.horizon):
            h, state = self.decoder(torch.relu(self.embed(last)), state)  # (B, 1, H)
            last = last + self.output(h)  # the change of displacement: zero is constant velocity
            predicted.append(last)
        displacements = torch.cat(predicted, dim=1) / SCALE  # (B, K, 2)
        return observed[:, -1:] + displacements.cumsum(dim=1)

    def loss(self, observed: Tensor, future: Tensor) -> Tensor:
        """Mean distance (metres) between predicted and true future positions: the ADE itself."""
        return (self(observed) - future).norm(dim=-1).mean()
