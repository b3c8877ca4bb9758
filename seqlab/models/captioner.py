"""Image captioning, one-to-many: a small CNN reads the image, the encoder-decoder's decoder
writes the sentence (seqlab.models.seq2seq.Decoder), looking at the image's regions with
attention ("Show, Attend and Tell", Xu et al. 2015) or at their mean without it.

    image (B, 3, H, W) + two coordinate maps -> 3 x [conv 3x3, ReLU, max-pool 2]
        -> regions (B, h*w, C) -> decoder, one word at a time

The coordinate maps (x and y from -1 to 1, as extra input channels: "CoordConv") let the
features say where they are, which "to the left of" needs.
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

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention not in ATTENTION_KINDS:
            raise ConfigError("attention", f"must be one of {', '.join(ATTENTION_KINDS)}, got {self.attention!r}")
        check_range("channels", self.channels, 1, 4096)
        check_range("attention_size", self.attention_size, 1, 65536)


class ImageEncoder(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        widths = [3 + 2, channels // 2, channels, channels]
        self.layers = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))

    def forward(self, images: Tensor) -> Tensor:
        """images (B, 3, H, W) in [0, 1] -> regions (B, h*w, C)."""
        batch, _, height, width = images.shape
        ys = torch.linspace(-1, 1, height, device=images.device)[:, None].expand(height, width)
        xs = torch.linspace(-1, 1, width, device=images.device)[None, :].expand(height, width)
        x = torch.cat([images, torch.stack([xs, ys]).expand(batch, 2, height, width)], dim=1)
        for layer in self.layers:
            x = F.max_pool2d(F.relu(layer(x)), 2)
        return x.flatten(2).transpose(1, 2)  # (B, h*w, C)


class Captioner(nn.Module):
    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ImageEncoder(config.channels)
        self.bridge = nn.Linear(config.channels, config.hidden_size)
        self.decoder = Decoder(config, config.channels)

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
