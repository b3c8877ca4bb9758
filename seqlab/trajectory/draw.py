"""Pictures of a ball sequence with Pillow: the observed frames, then the future with the true
path and the predicted ones drawn over it, as an animated GIF or a PNG strip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from seqlab.trajectory.ball import BallWorld

SCALE = 8  # screen pixels per frame pixel
COLOURS = {"true": (40, 200, 60), "model": (230, 40, 40), "kalman": (60, 120, 255)}
FRAME_MS = 150


def to_screen(world: BallWorld, path: np.ndarray) -> list[tuple[float, float]]:
    """Points (T, 2) in pixels, y up -> screen points, y down."""
    return [(float(x) * SCALE, float(world.size - y) * SCALE) for x, y in path]


def picture(world: BallWorld, image: np.ndarray, lines: dict[str, np.ndarray], label: str) -> Image.Image:
    """One frame (S, S uint8), enlarged, with each path (T, balls, 2) drawn in its colour."""
    canvas = Image.fromarray(image).resize((world.size * SCALE,) * 2, Image.NEAREST).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for name, path in lines.items():
        for ball in range(path.shape[1]):
            points = to_screen(world, path[:, ball])
            if len(points) > 1:
                draw.line(points, fill=COLOURS[name], width=2)
            for x, y in points:
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=COLOURS[name])
    draw.text((4, 4), label, fill=(255, 255, 0))
    return canvas


def draw_sequence(out: Path, world: BallWorld, observed: np.ndarray, future_frames: np.ndarray,
                  positions: np.ndarray, predicted: dict[str, np.ndarray]) -> None:
    """observed (T, S, S) and future_frames (K, S, S) uint8; positions (T + K, balls, 2), the
    true ones; predicted: name -> (K, balls, 2)."""
    seen = len(observed)
    pictures = [picture(world, image, {}, f"seen {t + 1}/{seen}") for t, image in enumerate(observed)]
    for k, image in enumerate(future_frames):
        lines = {"true": positions[seen - 1:seen + k + 1]}
        lines |= {name: np.concatenate([positions[seen - 1:seen], path[:k + 1]]) for name, path in predicted.items()}
        pictures.append(picture(world, image, lines, f"future {k + 1}/{len(future_frames)}"))
    if out.suffix.lower() == ".gif":
        pictures[0].save(out, save_all=True, append_images=pictures[1:], duration=FRAME_MS, loop=0)
        return
    # A strip: every observed frame, then the last future frame with the whole paths.
    strip = pictures[:seen] + [pictures[-1]]
    width = strip[0].width
    sheet = Image.new("RGB", (width * len(strip), strip[0].height))
    for i, image in enumerate(strip):
        sheet.paste(image, (i * width, 0))
    sheet.save(out)
