"""Image captioning, one-to-many: a small CNN reads the image, the encoder-decoder's decoder
writes the sentence (seqlab.models.seq2seq.Decoder), looking at the image's regions with
attention ("Show, Attend and Tell", Xu et al. 2015) or at their mean without it.

    image (B, 3, H, W) + two coordinate maps -> 3 x [conv 3x3, ReLU, max-pool 2]
        -> regions (B, h*w, C) -> decoder, one word at a time

The coordinate maps (x and y from -1 to 1, as extra input channels: "CoordConv") let the
features say where they are, which "to the left of" needs. With `positions` (on in the default
preset) each region's vector also ends with its own (x, y) centre, so the attention's context, a
weighted mean of regions, carries the centre of what it looks at as two plain numbers. Without
them the decoder knew which axis two shapes lay along but often not which of them it had named
first: of 346 held-out pairs, 63 had the relation the wrong way round ("left of" for "right
of"); with them, 10 (both after 6,000 steps; benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError, check_range
from seqlab.models.language_model import RecurrentModelConfig
from seqlab.models.seq2seq import ATTENTION_KINDS, Decoder, Decoding


@dataclass
class CaptionerConfig(RecurrentModelConfig):
    embedding_size: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.1
    attention: str = field(default="additive", metadata={"choices": ATTENTION_KINDS})
    attention_size: int = 128
    channels: int = 64  # of the CNN's last layer: the size of each region's vector
    positions: bool = False  # end each region's vector with its (x, y) centre (the default preset turns it on)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention not in ATTENTION_KINDS:
            raise ConfigError("attention", f"must be one of {', '.join(ATTENTION_KINDS)}, got {self.attention!r}")
        check_range("channels", self.channels, 1, 4096)
        check_range("attention_size", self.attention_size, 1, 65536)


def coordinates(batch: int, height: int, width: int, device) -> Tensor:
    """(batch, 2, height, width): x and y of each pixel (or region), from -1 to 1."""
    ys = torch.linspace(-1, 1, height, device=device)[:, None].expand(height, width)
    xs = torch.linspace(-1, 1, width, device=device)[None, :].expand(height, width)
    return torch.stack([xs, ys]).expand(batch, 2, height, width)


class ImageEncoder(nn.Module):
    def __init__(self, channels: int, positions: bool = False) -> None:
        super().__init__()
        self.positions = positions
        self.size = channels + (2 if positions else 0)
        # Narrow early layers (a quarter, then half the channels) where the maps are large: the
        # convolutions at 64x64 and 32x32 were 70% of a training step at [C/2, C, C], and these
        # simple shapes need few features there (1.7x the steps in the same time).
        widths = [3 + 2, max(1, channels // 4), max(1, channels // 2), channels]
        self.layers = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))

    def forward(self, images: Tensor) -> Tensor:
        """images (B, 3, H, W) in [0, 1] -> regions (B, h*w, C [+ 2])."""
        batch, _, height, width = images.shape
        x = torch.cat([images, coordinates(batch, height, width, images.device)], dim=1)
        for layer in self.layers:
            x = F.max_pool2d(F.relu(layer(x)), 2)
        if self.positions:  # where each region is, said outright
            x = torch.cat([x, coordinates(batch, x.shape[2], x.shape[3], x.device)], dim=1)
        return x.flatten(2).transpose(1, 2)  # (B, h*w, C [+ 2])


class Captioner(nn.Module):
    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ImageEncoder(config.channels, config.positions)
        self.bridge = nn.Linear(self.encoder.size, config.hidden_size)
        self.decoder = Decoder(config, self.encoder.size)

    def encode(self, images: Tensor):
        """images (B, H, W, 3) uint8 -> the decoder's starting state."""
        regions = self.encoder(images.permute(0, 3, 1, 2).float() / 255.0)  # (B, R, C)
        summary = regions.mean(dim=1)  # (B, C)
        mask = torch.ones(regions.shape[:2], dtype=torch.bool, device=regions.device)
        hidden = torch.tanh(self.bridge(summary))[None].expand(self.config.num_layers, -1, -1).contiguous()
        return self.decoder.start(regions, mask, summary, hidden)

    def forward(self, images: Tensor, target_in: Tensor) -> Tensor:
        return self.decoder.teacher_forced(self.encode(images), target_in)

    def loss(self, images: Tensor, target_in: Tensor, target_out: Tensor, pad: int) -> Tensor:
        logits = self(images, target_in)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1), ignore_index=pad)

    def decoding(self, images: Tensor) -> Decoding:
        """The sampler's view of the decoder for these images."""
        with torch.no_grad():
            return Decoding(self.decoder, self.encode(images))
