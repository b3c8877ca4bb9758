"""Where will the ball go next, from its pictures: a CNN per frame, an LSTM over time, and a
decoder that predicts the next K positions (the lecture's many-to-many picture).

    frames (B, T, S, S) uint8 -> CNN per frame -> keypoints (B, T, P, 2) and their strength
        -> embedding (B, T, E) -> recurrent layers (B, T, H) -> last step (B, H)
        -> MLP -> positions (B, K, balls, 2) in pixels

The CNN ends in a spatial soft-argmax (Levine et al. 2016): each of its P output maps is
turned into a probability over pixels, and the keypoint is the expected pixel position under
it. A ball's position is then read to a fraction of a pixel without any fully connected layer
having to learn where pixels are. The decoder also sees the last frame's keypoints directly,
so the LSTM need only carry what the last frame cannot tell: velocity, acceleration, bounces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import SeqlabError, check_range
from seqlab.models.language_model import MAX_WIDTH, RecurrentModelConfig


@dataclass
class BallPredictorConfig(RecurrentModelConfig):
    # Set by the task from its data: the frames' size, the balls to follow, the steps to predict.
    frame_size: int = field(default=32, metadata={"set_by_task": True})
    balls: int = field(default=1, metadata={"set_by_task": True})
    horizon: int = field(default=10, metadata={"set_by_task": True})
    channels: int = 8  # convolution channels of the frame encoder
    keypoints: int = 8  # soft-argmax maps: points the encoder can follow per frame
    embedding_size: int = 64  # a frame's vector, the recurrent layers' input
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("frame_size", self.frame_size, 8, 512)
        check_range("balls", self.balls, 1, 64)
        check_range("horizon", self.horizon, 1, 1000)
        check_range("channels", self.channels, 1, MAX_WIDTH)
        check_range("keypoints", self.keypoints, 1, 1024)

    def training_bytes(self, batch_size: int, frames: int) -> int:
        """A rough upper estimate of training memory (float32): the encoder's maps dominate."""
        per_frame = self.frame_size**2 * (1 + 3 * self.channels + 2 * self.keypoints)
        return 4 * batch_size * frames * (2 * per_frame + self.activations_per_token()) + 64 * 2**20


class SpatialSoftArgmax(nn.Module):
    """Maps (N, P, S, S) -> expected coordinates (N, P, 2) in [-1, 1] (x right, y up) under
    a softmax over each map's pixels, and each map's peak logit (N, P): how sure it is."""

    def __init__(self, size: int) -> None:
        super().__init__()
        centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
        self.register_buffer("xs", centres.repeat(size), persistent=False)  # (S*S,) column of each pixel
        self.register_buffer("ys", -centres.repeat_interleave(size), persistent=False)  # row, counted up
        self.temperature = nn.Parameter(torch.ones(1))

    def forward(self, maps: Tensor) -> tuple[Tensor, Tensor]:
        flat = maps.flatten(2) / self.temperature  # (N, P, S*S)
        p = flat.softmax(dim=-1)
        points = torch.stack([p @ self.xs, p @ self.ys], dim=-1)  # (N, P, 2)
        return points, flat.amax(dim=-1)


class BallPredictor(nn.Module):
    def __init__(self, config: BallPredictorConfig) -> None:
        super().__init__()
        self.config = config
        c, p = config.channels, config.keypoints
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 5, padding=2), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, p, 3, padding=1),
        )
        self.keypoints = SpatialSoftArgmax(config.frame_size)
        self.embed = nn.Sequential(nn.Linear(3 * p, config.embedding_size), nn.ReLU())
        self.recurrent = config.recurrent_layers()
        self.dropout = nn.Dropout(config.dropout)
        out = config.horizon * config.balls * 2
        self.decoder = nn.Sequential(
            nn.Linear(config.hidden_size + 3 * p, 2 * config.hidden_size), nn.ReLU(),
            nn.Linear(2 * config.hidden_size, out),
        )

    def check_frames(self, frames: Tensor) -> None:
        """Refuse, in one line, frames this model was not trained on."""
        size = self.config.frame_size
        if frames.dim() != 4 or frames.shape[-2:] != (size, size):
            raise SeqlabError(f"this model reads frames of {size}x{size} pixels, shaped (batch, time, {size}, {size}); "
                              f"got {tuple(frames.shape)}")

    def forward(self, frames: Tensor) -> Tensor:
        """frames (B, T, S, S), uint8 or floats 0..1 -> future positions (B, K, balls, 2) in pixels."""
        self.check_frames(frames)
        batch, steps, size = frames.shape[0], frames.shape[1], self.config.frame_size
        x = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
        maps = self.encoder(x.reshape(batch * steps, 1, size, size))  # (B*T, P, S, S)
        points, strength = self.keypoints(maps)  # (B*T, P, 2), (B*T, P)
        features = torch.cat([points.flatten(1), strength / 10], dim=1).reshape(batch, steps, -1)  # (B, T, 3P)
        h, _ = self.recurrent(self.dropout(self.embed(features)))  # (B, T, H)
        last = torch.cat([self.dropout(h[:, -1]), features[:, -1]], dim=1)  # (B, H + 3P)
        out = self.decoder(last).reshape(batch, self.config.horizon, self.config.balls, 2)  # (B, K, balls, 2)
        # Outputs are in half-frames about the centre: the scale of the keypoints.
        return (out + 1) * (size / 2)

    def loss(self, frames: Tensor, future: Tensor) -> Tensor:
        """Smooth L1 (Huber) in pixels between predicted and true future positions (B, K, balls, 2):
        squared for sub-pixel errors, linear for the large ones of early training."""
        return F.smooth_l1_loss(self(frames), future)
