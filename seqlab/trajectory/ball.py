"""Balls thrown in a box under gravity, seen through a small grey-scale camera.

The lecture's opening picture: given where the ball has been, where will it go next? Each
sequence throws `balls` balls from random places at random speeds; they fall under gravity
(and optional linear air drag), bounce off the walls, floor and ceiling losing energy (the
coefficient of restitution), and are rendered as anti-aliased discs on a `size` x `size`
frame with Gaussian sensor noise. Frames may be hidden (the camera sees nothing: noise only).

Units are pixels and frames: positions in pixels with x to the right and y up from the floor
(row 0 of a frame is the top), velocities in pixels per frame. Everything is vectorised over
sequences, so 10,000 sequences take well under a second to simulate and a few to render; a
sequence depends only on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from seqlab.errors import ConfigError, check_range

# Euler substeps per frame: enough that a bounce lands within a few hundredths of a pixel of
# the exact one, and few enough to stay fast.
SUBSTEPS = 8
MAX_SIZE = 512
MAX_BALLS = 8
MAX_FRAMES = 10_000


@dataclass
class BallWorld:
    """The box, the balls and the camera: everything the simulator needs, nothing it learns."""

    size: int = 32  # frames are size x size pixels; the box is as large as the frame
    balls: int = 1
    radius: float = 2.0  # pixels
    gravity: float = 0.25  # pixels per frame per frame, downwards
    restitution: float = 0.8  # speed kept across a bounce (1: no loss)
    drag: float = 0.0  # linear air drag: the fraction of velocity lost per frame
    speed: float = 2.0  # initial speeds are drawn up to this, in pixels per frame
    noise: float = 0.05  # standard deviation of the sensor noise (intensities are 0 to 1)
    hidden: float = 0.0  # probability that an observed frame shows no ball (after the first two)
    # Gusts: a random kick to each ball's velocity every frame (standard deviation, pixels per
    # frame). What no observer can know in advance, so even the true physics cannot predict
    # the future exactly: the floor of the baselines is above zero because of it.
    gust: float = 0.05

    def __post_init__(self) -> None:
        check_range("size", self.size, 8, MAX_SIZE)
        check_range("balls", self.balls, 1, MAX_BALLS)
        for name, low, high in (("radius", 0.5, self.size / 4), ("gravity", 0.0, 10.0), ("restitution", 0.0, 1.0),
                                ("drag", 0.0, 0.99), ("speed", 0.0, self.size / 2), ("noise", 0.0, 1.0),
                                ("hidden", 0.0, 0.9), ("gust", 0.0, 1.0)):
            value = getattr(self, name)
            if not low <= value <= high:  # also refuses NaN
                raise ConfigError(name, f"must be from {low:g} to {high:g}, got {value}")


class Throws(NamedTuple):
    """Simulated sequences: where the balls were, and the initial states that made them."""

    positions: np.ndarray  # (N, T, balls, 2) x, y in pixels, y up from the floor
    start: np.ndarray  # (N, balls, 4) x, y, vx, vy at frame 0


def throw(world: BallWorld, count: int, frames: int, rng: np.random.Generator) -> Throws:
    """`count` sequences of `frames` frames, drawn from `rng`."""
    check_range("frames", frames, 1, MAX_FRAMES)
    low, high = world.radius, world.size - world.radius
    position = rng.uniform(low, high, size=(count, world.balls, 2))
    angle = rng.uniform(0, 2 * np.pi, size=(count, world.balls))
    # sqrt: speeds spread evenly over the disc of velocities, not bunched near zero
    speed = world.speed * np.sqrt(rng.uniform(0, 1, size=(count, world.balls)))
    velocity = np.stack([speed * np.cos(angle), speed * np.sin(angle)], axis=-1)
    start = np.concatenate([position, velocity], axis=-1)
    return Throws(roll(world, start, frames, rng), start)


def advance(world: BallWorld, state: np.ndarray) -> np.ndarray:
    """The true physics over one frame, without gusts: state (..., 4: x, y, vx, vy) at one
    frame -> the state at the next."""
    position = np.array(state[..., :2], dtype=np.float64)
    velocity = np.array(state[..., 2:], dtype=np.float64)
    low, high = world.radius, world.size - world.radius
    dt = 1.0 / SUBSTEPS
    keep = (1.0 - world.drag) ** dt  # drag's share of velocity kept per substep
    for _ in range(SUBSTEPS):
        velocity[..., 1] -= world.gravity * dt
        velocity *= keep
        position += velocity * dt
        # A wall crossed: reflect the overshoot and the velocity, each scaled by the restitution.
        below, above = position < low, position > high
        position = np.where(below, low + (low - position) * world.restitution, position)
        position = np.where(above, high - (position - high) * world.restitution, position)
        velocity = np.where(below | above, -velocity * world.restitution, velocity)
        position = np.clip(position, low, high)  # a ball thrown hard at a wall stays inside
    return np.concatenate([position, velocity], axis=-1)


def roll(world: BallWorld, state: np.ndarray, frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Positions (..., frames, balls, 2) of balls starting from `state` (..., balls, 4: x, y,
    vx, vy) at frame 0. With `rng`, each frame's velocity gets its gust first; without, the
    expected path (what the physics baseline predicts)."""
    state = np.array(state, dtype=np.float64)
    out = np.empty(state.shape[:-2] + (frames,) + state.shape[-2:-1] + (2,))
    out[..., 0, :, :] = state[..., :2]
    for frame in range(1, frames):
        if rng is not None and world.gust > 0:
            state[..., 2:] += rng.normal(0.0, world.gust, size=state[..., 2:].shape)
        state = advance(world, state)
        out[..., frame, :, :] = state[..., :2]
    return out


def brightness(world: BallWorld) -> np.ndarray:
    """(balls,) the intensity of each ball: the first 1.0, the others dimmer, so that they can
    be told apart (with one ball, 1.0)."""
    if world.balls == 1:
        return np.ones(1)
    return np.linspace(1.0, 0.4, world.balls)


def render(world: BallWorld, positions: np.ndarray, rng: np.random.Generator, visible: np.ndarray | None = None,
           chunk: int = 512) -> np.ndarray:
    """Frames (N, T, size, size) as uint8 (0..255) of balls at `positions` (N, T, balls, 2),
    with sensor noise; frames where `visible` (N, T) is False show the noise alone."""
    count, frames = positions.shape[:2]
    out = np.empty((count, frames, world.size, world.size), dtype=np.uint8)
    centres = np.arange(world.size) + 0.5  # pixel centres
    shine = brightness(world)
    for begin in range(0, count, chunk):  # chunks bound the float memory to a few hundred MB
        p = positions[begin:begin + chunk]  # (n, T, balls, 2)
        x = p[..., 0, None, None]  # (n, T, balls, 1, 1)
        y = world.size - p[..., 1, None, None]  # rows count down from the top
        distance = np.sqrt((centres[None, :] - x) ** 2 + (centres[:, None] - y) ** 2)  # (n, T, balls, H, W)
        # Anti-aliased disc: the share of a pixel the ball covers, to about half a pixel.
        cover = np.clip(world.radius + 0.5 - distance, 0.0, 1.0) * shine[:, None, None]
        image = cover.max(axis=2)  # (n, T, H, W)
        if visible is not None:
            image *= visible[begin:begin + chunk, :, None, None]
        image += rng.normal(0.0, world.noise, size=image.shape) if world.noise > 0 else 0.0
        out[begin:begin + chunk] = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return out


def visibility(world: BallWorld, count: int, frames: int, observed: int, rng: np.random.Generator) -> np.ndarray:
    """(count, frames) bool: which frames show the balls. Only observed frames after the first
    two are ever hidden (two are needed to know a velocity)."""
    visible = np.ones((count, frames), dtype=bool)
    if world.hidden > 0 and observed > 2:
        visible[:, 2:observed] = rng.uniform(size=(count, observed - 2)) >= world.hidden
    return visible


class Sequences(NamedTuple):
    """What a predictor sees and what it must predict."""

    frames: np.ndarray  # (N, observed, size, size) uint8
    visible: np.ndarray  # (N, observed) bool
    positions: np.ndarray  # (N, observed + horizon, balls, 2) the true positions, pixels
    start: np.ndarray  # (N, balls, 4) the state that made them (for tests)


def make_sequences(world: BallWorld, count: int, observed: int, horizon: int, seed) -> Sequences:
    """`count` sequences: `observed` rendered frames, and the true positions of those frames and
    the `horizon` after them. The same `seed` (an int or a tuple of ints) gives the same sequences."""
    rng = np.random.default_rng(seed)
    throws = throw(world, count, observed + horizon, rng)
    visible = visibility(world, count, observed + horizon, observed, rng)[:, :observed]
    frames = render(world, throws.positions[:, :observed], rng, visible)
    return Sequences(frames, visible, throws.positions, throws.start)
