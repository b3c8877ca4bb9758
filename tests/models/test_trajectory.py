"""The ball predictor: keypoints where the bright pixel is, the right shapes, a clear refusal, and
that it learns."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.trajectory import BallPredictor, BallPredictorConfig, SpatialSoftArgmax


def test_soft_argmax_finds_a_sharp_peak_at_its_pixel_centre():
    maps = torch.full((1, 1, 8, 8), -50.0)
    maps[0, 0, 1, 6] = 50.0  # row 1 from the top, column 6
    points, strength = SpatialSoftArgmax(8)(maps)
    # pixel centres in [-1, 1]: column 6 -> (6.5 / 8) * 2 - 1; row 1 from the top -> y up
    assert torch.allclose(points[0, 0], torch.tensor([6.5 / 4 - 1, -(1.5 / 4 - 1)]), atol=1e-4)
    assert strength.item() == pytest.approx(50.0)


def tiny_model(**options) -> BallPredictor:
    torch.manual_seed(0)
    return BallPredictor(BallPredictorConfig(frame_size=16, horizon=3, channels=4, keypoints=2,
                                             embedding_size=8, hidden_size=16, **options))


def test_frames_in_positions_out_and_frames_of_another_size_refused():
    model = tiny_model(balls=2)
    assert model(torch.zeros(5, 4, 16, 16, dtype=torch.uint8)).shape == (5, 3, 2, 2)
    with pytest.raises(SeqlabError, match="16x16"):
        model(torch.zeros(5, 4, 32, 32))


def test_it_learns_where_a_ball_will_be_from_one_batch():
    model = tiny_model()
    frames = torch.zeros(8, 3, 16, 16)
    future = torch.zeros(8, 3, 1, 2)
    for i in range(8):  # a dot moving right one pixel a frame, from column i
        for t in range(3):
            frames[i, t, 8, i + t] = 1.0
        future[i, :, 0, 0] = torch.arange(3, 6) + i + 0.5
        future[i, :, 0, 1] = 16 - 8.5
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(frames, future).item()
    for _ in range(150):
        loss = model.loss(frames, future)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 20
