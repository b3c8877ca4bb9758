"""What a learned ball predictor must beat, and the floor it cannot go below.

All three read the frames through `centroids` (the mean place of the bright pixels), as a
simple tracker would, and return future positions (N, horizon, balls, 2) in pixels:

- `constant_velocity`: the last observed step, repeated.
- `kalman`: a Kalman filter with a constant-acceleration model per axis (state: position,
  velocity, acceleration; white-noise jerk), run over the centroids and predicted forward.
  It knows nothing of walls: a bounce is a surprise to it.
- `physics`: the simulator's own equations (seqlab.trajectory.ball: gravity, drag, bounces
  with the true restitution) in an extended Kalman filter that knows the gusts' strength.
  What is left is the gusts still to come and the noise of the observations: the floor of
  what can be predicted from these frames.

Metrics (`displacement_errors`): ADE, the mean distance over the horizon, and FDE, the distance
at its last step, in pixels (Alahi et al. 2016).
"""

from __future__ import annotations

import numpy as np

from seqlab.trajectory.ball import BallWorld, advance, brightness, roll

# The Kalman filter's noise (standard deviations): jerk is the process noise (pixels per frame
# cubed), measurement the centroid's error (pixels). Chosen by a grid on 1,000 default-world
# sequences apart from every test set (seed 99): jerk 0.003 to 0.1 and measurement 0.05 to
# 0.3 all gave an FDE of 11.7 to 12.6 pixels; the bounces, not the noise, make its errors.
KALMAN_JERK = 0.01
KALMAN_MEASUREMENT = 0.1


def centroids(world: BallWorld, frames: np.ndarray) -> np.ndarray:
    """(N, T, balls, 2) where each ball appears in `frames` (N, T, size, size uint8), x and y
    up in pixels; NaN where no pixel is bright enough (a hidden frame).

    Ball k is the pixels within half the gap between brightness levels of its brightness
    (with one ball: brighter than half of it); each pixel weighted by its intensity."""
    image = frames.astype(np.float32) / 255.0  # (N, T, H, W)
    size = world.size
    centres = np.arange(size, dtype=np.float32) + 0.5
    levels = brightness(world)
    half_gap = (levels[0] - levels[1]) / 2 if len(levels) > 1 else levels[0] / 2
    out = np.full(frames.shape[:2] + (len(levels), 2), np.nan)
    for k, level in enumerate(levels):
        mask = image > level - half_gap
        if len(levels) > 1:
            mask &= image <= level + half_gap
        weight = np.where(mask, image, 0.0)  # (N, T, H, W)
        total = weight.sum(axis=(2, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            x = (weight.sum(axis=2) * centres).sum(axis=-1) / total
            row = (weight.sum(axis=3) * centres).sum(axis=-1) / total
        found = total > 0
        out[..., k, 0] = np.where(found, x, np.nan)
        out[..., k, 1] = np.where(found, size - row, np.nan)
    return out


def _last_two(track: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The last observed point of each track (N, T, balls, 2), the one seen before it, and the
    frames between them; frames 0 and 1 are always seen (seqlab.trajectory.ball.visibility)."""
    seen = ~np.isnan(track[..., 0])  # (N, T, balls)
    steps = np.arange(track.shape[1])[None, :, None]
    last = np.where(seen, steps, -1).max(axis=1)  # (N, balls)
    before = np.where(seen & (steps < last[:, None]), steps, -1).max(axis=1)
    take = lambda index: np.take_along_axis(track, index[:, None, :, None], axis=1)[:, 0]  # noqa: E731
    return take(last), take(before), (last - before)[..., None]


def constant_velocity(track: np.ndarray, horizon: int) -> np.ndarray:
    """Future positions (N, horizon, balls, 2): the last observed step repeated."""
    last, before, gap = _last_two(track)
    seen = ~np.isnan(track[..., 0])
    last_index = np.where(seen, np.arange(track.shape[1])[None, :, None], -1).max(axis=1)  # (N, balls)
    velocity = (last - before) / gap  # (N, balls, 2) pixels per frame
    ahead = track.shape[1] - last_index[:, None, :, None] + np.arange(horizon)[None, :, None, None]  # frames past the last seen
    return last[:, None] + ahead * velocity[:, None]


def kalman(track: np.ndarray, horizon: int, jerk: float = KALMAN_JERK, measurement: float = KALMAN_MEASUREMENT) -> np.ndarray:
    """Future positions (N, horizon, balls, 2) from a constant-acceleration Kalman filter run
    over the observed centroids (missing ones skipped), each axis of each ball on its own."""
    # One filter per (sequence, ball, axis): z (M, T)
    count, steps, balls, _ = track.shape
    z = track.transpose(0, 2, 3, 1).reshape(-1, steps)
    F = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])  # x, v, a over one frame
    # White-noise jerk integrated over a frame (Bar-Shalom et al. 2001, the Wiener-sequence model)
    Q = jerk**2 * np.array([[1 / 20, 1 / 8, 1 / 6], [1 / 8, 1 / 3, 1 / 2], [1 / 6, 1 / 2, 1.0]])
    H = np.array([1.0, 0.0, 0.0])
    R = measurement**2
    x = np.zeros((len(z), 3))
    x[:, 0] = z[:, 0]
    x[:, 1] = z[:, 1] - z[:, 0]
    P = np.tile(np.diag([R, 2 * R, 1.0]), (len(z), 1, 1))  # acceleration unknown at the start
    for t in range(1, steps):
        x = x @ F.T
        P = F @ P @ F.T + Q
        seen = ~np.isnan(z[:, t])
        innovation = np.where(seen, z[:, t] - x[:, 0], 0.0)
        S = P[:, 0, 0] + R
        gain = P[:, :, 0] / S[:, None]  # (M, 3) = P H^T / S
        gain = np.where(seen[:, None], gain, 0.0)
        x = x + gain * innovation[:, None]
        P = P - gain[:, :, None] * (H @ P)[:, None, :]
    future = np.empty((len(z), horizon))
    for k in range(horizon):
        x = x @ F.T
        future[:, k] = x[:, 0]
    return future.reshape(count, balls, 2, horizon).transpose(0, 3, 1, 2)


def physics(world: BallWorld, track: np.ndarray, horizon: int, measurement: float = KALMAN_MEASUREMENT) -> np.ndarray:
    """Future positions (N, horizon, balls, 2) by the simulator's own physics: an extended
    Kalman filter whose motion model is the simulator (gravity, drag, bounces, the true
    restitution and gust strength) tracks each ball's position and velocity over the observed
    centroids; the expected path is then rolled forward from its last estimate."""
    count, steps, balls, _ = track.shape
    z = track.transpose(0, 2, 1, 3).reshape(count * balls, steps, 2)  # one filter per ball
    R = measurement**2 * np.eye(2)
    state = np.concatenate([z[:, 0], z[:, 1] - z[:, 0] + np.array([0.0, world.gravity / 2])], axis=1)
    P = np.tile(np.diag([measurement**2, measurement**2, 1.0, 1.0]), (len(z), 1, 1))
    epsilon = 1e-4
    for t in range(1, steps):
        # Jacobian of one frame of physics by finite differences (bounces make it piecewise)
        moved = advance(world, state)
        J = np.stack([(advance(world, state + epsilon * np.eye(4)[j]) - moved) / epsilon for j in range(4)], axis=2)
        # The gust kicks the velocity before the frame: its noise enters through J's velocity columns.
        Q = world.gust**2 * J[:, :, 2:] @ J[:, :, 2:].transpose(0, 2, 1) + 1e-9 * np.eye(4)
        state, P = moved, J @ P @ J.transpose(0, 2, 1) + Q
        seen = ~np.isnan(z[:, t, 0])
        S = P[:, :2, :2] + R  # (M, 2, 2)
        gain = P[:, :, :2] @ np.linalg.inv(S)  # (M, 4, 2)
        gain = np.where(seen[:, None, None], gain, 0.0)
        innovation = np.where(seen[:, None], z[:, t] - state[:, :2], 0.0)
        state = state + (gain @ innovation[:, :, None])[:, :, 0]
        P = P - gain @ P[:, :2, :]
    path = roll(world, state[:, None, :], horizon + 1)[:, 1:, 0]  # (M, horizon, 2)
    return path.reshape(count, balls, horizon, 2).transpose(0, 2, 1, 3)


def predict_all(world: BallWorld, frames: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Each baseline's future positions (N, horizon, balls, 2) from the same frames, held
    inside the box (a tracker knows the frame's edges, if not the bounces)."""
    track = centroids(world, frames)
    predictions = {
        "constant velocity": constant_velocity(track, horizon),
        "Kalman (constant acceleration)": kalman(track, horizon),
        "true physics (floor)": physics(world, track, horizon),
    }
    return {name: np.clip(path, world.radius, world.size - world.radius) for name, path in predictions.items()}


def displacement_errors(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """ADE and FDE in pixels of predicted positions (N, horizon, balls, 2) against the true ones."""
    distance = np.linalg.norm(np.asarray(predicted, dtype=np.float64) - true, axis=-1)  # (N, horizon, balls)
    return {"ade": float(distance.mean()), "fde": float(distance[:, -1].mean())}
