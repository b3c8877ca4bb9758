"""The baselines: each right where its model of the world is right, and the floor below them."""

import numpy as np

from seqlab.trajectory import baselines
from seqlab.trajectory.ball import BallWorld, make_sequences


def track(points) -> np.ndarray:
    """(1, T, 1, 2) from T points."""
    return np.asarray(points, dtype=float)[None, :, None, :]


def test_centroids_find_the_ball_to_a_fraction_of_a_pixel_and_nan_when_hidden():
    world = BallWorld(hidden=0.5)
    sequences = make_sequences(world, 200, 10, 1, 3)
    found = baselines.centroids(world, sequences.frames)
    seen = sequences.visible
    error = np.linalg.norm(found[seen] - sequences.positions[:, :10][seen], axis=-1)
    assert error.mean() < 0.15
    assert np.isnan(found[~seen]).all()


def test_constant_velocity_repeats_the_last_step_over_a_hidden_frame():
    line = track([[t, 2.0 * t] for t in range(6)])
    line[0, 5] = np.nan  # the last frame hidden: the step is taken from frames 3 and 4
    future = baselines.constant_velocity(line, 3)[0, :, 0]
    assert np.allclose(future, [[6, 12], [7, 14], [8, 16]])


def test_kalman_follows_a_parabola():
    parabola = track([[t, 20 - 0.125 * t**2] for t in range(10)])
    future = baselines.kalman(parabola, 5, jerk=1e-3, measurement=1e-2)[0, :, 0]
    expected = [[t, 20 - 0.125 * t**2] for t in range(10, 15)]
    assert np.abs(future - expected).max() < 0.05


def test_true_physics_is_the_floor_and_knows_the_bounces():
    world = BallWorld(gust=0.0)
    sequences = make_sequences(world, 300, 10, 10, 4)
    future = sequences.positions[:, 10:]
    errors = {name: baselines.displacement_errors(path, future)
              for name, path in baselines.predict_all(world, sequences.frames, 10).items()}
    floor = errors["true physics (floor)"]["fde"]
    assert floor < 0.3  # without gusts only the sensor noise is left
    assert floor < errors["Kalman (constant acceleration)"]["fde"] / 10
    assert floor < errors["constant velocity"]["fde"] / 10


def test_displacement_errors_are_mean_and_final_distances():
    true = np.zeros((1, 2, 1, 2))
    predicted = np.array([[[[3.0, 4.0]], [[6.0, 8.0]]]])
    assert baselines.displacement_errors(predicted, true) == {"ade": 7.5, "fde": 10.0}
