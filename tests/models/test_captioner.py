"""The captioner's image encoder: regions from a CNN, ending with their own centres when asked."""

from __future__ import annotations

import torch

from seqlab.models.captioner import Captioner, CaptionerConfig, ImageEncoder


def test_regions_end_with_their_centres_when_positions_are_on():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 64, 64)
    plain, placed = ImageEncoder(8), ImageEncoder(8, positions=True)
    placed.load_state_dict(plain.state_dict())  # the same convolutions
    regions, with_centres = plain(images), placed(images)
    assert regions.shape == (2, 64, 8) and with_centres.shape == (2, 64, 10)
    assert torch.equal(with_centres[..., :8], regions)
    centres = with_centres[0, :, 8:].view(8, 8, 2)  # row-major 8 x 8 grid of (x, y)
    assert torch.allclose(centres[0, 0], torch.tensor([-1.0, -1.0])) and torch.allclose(centres[7, 7], torch.tensor([1.0, 1.0]))
    assert torch.allclose(centres[0, 7], torch.tensor([1.0, -1.0]))  # x runs along a row, y down the rows


def test_the_decoder_reads_regions_with_or_without_their_centres():
    images, words = torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8), torch.zeros(2, 5, dtype=torch.long)
    for positions in (False, True):
        model = Captioner(CaptionerConfig(vocab_size=12, embedding_size=8, hidden_size=16, channels=8,
                                          attention_size=8, positions=positions))
        assert model(images, words).shape == (2, 5, 12)
        assert model.bridge.in_features == 8 + 2 * positions
