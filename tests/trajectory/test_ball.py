"""The ball simulator: deterministic, physical, fast, and its options checked."""

import time

import numpy as np
import pytest

from seqlab.errors import ConfigError
from seqlab.trajectory.ball import BallWorld, make_sequences, render, roll


def test_the_same_seed_gives_the_same_sequences_and_another_seed_others():
    world = BallWorld()
    first, again, other = (make_sequences(world, 20, 10, 10, seed) for seed in (5, 5, 6))
    assert np.array_equal(first.frames, again.frames) and np.array_equal(first.positions, again.positions)
    assert not np.array_equal(first.positions, other.positions)


def test_balls_stay_in_the_box_and_lose_height_at_each_bounce():
    world = BallWorld(gust=0.0, restitution=0.5)
    dropped = np.array([[[16.0, 28.0, 0.0, 0.0]]])  # (1 sequence, 1 ball, x y vx vy) at rest, high up
    heights = roll(world, dropped, 200)[0, :, 0, 1]
    assert heights.min() >= world.radius and heights.max() <= world.size - world.radius
    # the peaks after the first bounce fall, each lower than the last
    peaks = [heights[t] for t in range(1, 199) if heights[t - 1] < heights[t] >= heights[t + 1]]
    assert len(peaks) >= 2 and all(later < earlier for earlier, later in zip(peaks, peaks[1:]))
    assert peaks[0] < 28.0 * 0.5


def test_without_gravity_gusts_or_walls_a_ball_moves_in_a_straight_line():
    world = BallWorld(gust=0.0, gravity=0.0)
    path = roll(world, np.array([[[10.0, 10.0, 0.5, 0.25]]]), 10)[0, :, 0]
    assert np.allclose(path, [[10 + 0.5 * t, 10 + 0.25 * t] for t in range(10)])


def test_drag_slows_the_ball():
    start = np.array([[[4.0, 16.0, 1.0, 0.0]]])
    free = roll(BallWorld(gust=0.0, gravity=0.0), start, 10)[0, -1, 0, 0]
    dragged = roll(BallWorld(gust=0.0, gravity=0.0, drag=0.2), start, 10)[0, -1, 0, 0]
    assert dragged < free - 2


def test_the_ball_is_drawn_where_it_is_and_hidden_frames_show_only_noise():
    world = BallWorld(hidden=0.9)
    sequences = make_sequences(world, 50, 10, 5, 0)
    x, y = sequences.positions[0, 0, 0]
    brightest = np.unravel_index(sequences.frames[0, 0].argmax(), (world.size, world.size))
    assert abs(brightest[1] + 0.5 - x) <= world.radius and abs(brightest[0] + 0.5 - (world.size - y)) <= world.radius
    assert sequences.visible[:, :2].all() and not sequences.visible.all()
    hidden = sequences.frames[~sequences.visible]
    assert hidden.max() < 0.5 * 255  # noise alone never looks like a ball


def test_several_balls_have_their_own_brightness():
    world = BallWorld(balls=2, noise=0.0, gust=0.0)
    positions = np.array([[[[8.0, 8.0], [24.0, 24.0]]]])  # (1, 1 frame, 2 balls, 2)
    image = render(world, positions, np.random.default_rng(0))[0, 0]
    assert image[32 - 8, 8] == 255 and image[32 - 24, 24] == round(0.4 * 255)


def test_ten_thousand_sequences_take_seconds():
    started = time.perf_counter()
    make_sequences(BallWorld(), 2_000, 10, 10, 0)
    assert time.perf_counter() - started < 6.0  # 10,000 in under 30 s even on a slow, shared core


@pytest.mark.parametrize("field, value", [("size", -32), ("balls", 0), ("radius", 0.0), ("restitution", 1.5),
                                          ("hidden", 1.0), ("noise", float("nan")), ("gust", -0.1)])
def test_impossible_worlds_are_refused_by_name(field, value):
    with pytest.raises(ConfigError, match=field):
        BallWorld(**{field: value})
