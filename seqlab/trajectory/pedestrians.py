"""Pedestrian tracks in the ETH/UCY format, cut into the standard windows, and the two
baselines that deep models so often fail to beat (Schöller et al. 2020).

A scene file has one line per annotation: `frame  pedestrian  x  y` (tab- or space-separated,
x and y in metres), 0.4 s between annotated frames. The protocol is leave one scene out: test
on one of the five scenes (eth, hotel, univ, zara1, zara2), train on the files of the others;
each window observes 8 steps (3.2 s) and predicts 12 (4.8 s). The data has no license to ship:
the user names the folder that holds the files.

A window can also carry its neighbours: the other pedestrians seen at its last observed step,
nearest first, over the same observed frames (what a social model may look at).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqlab.errors import SeqlabError

# The five test scenes and the files (by name, without .txt) that belong to each.
SCENES = {
    "eth": ("biwi_eth",),
    "hotel": ("biwi_hotel",),
    "univ": ("students001", "students003"),
    "zara1": ("crowds_zara01",),
    "zara2": ("crowds_zara02",),
}


class Windows(NamedTuple):
    """Windows of observed + predicted steps, and what was left out."""

    positions: np.ndarray  # (N, observed + horizon, 2) metres
    scene: np.ndarray  # (N,) index into the list of files read
    skipped: int  # tracks too short (or broken by a gap) for one window
    neighbours: np.ndarray  # (N, M, observed, 2) metres, NaN in the rows of absent neighbours


def scene_files(folder: str | Path) -> list[Path]:
    """The .txt track files in `folder` (or its all_data/ subfolder, as the usual download has it)."""
    root = Path(folder)
    if not root.is_dir():
        raise SeqlabError(f"--data {folder}: no such folder")
    for candidate in (root, root / "all_data"):
        files = sorted(candidate.glob("*.txt"))
        if files:
            return files
    raise SeqlabError(f"--data {folder} holds no track files (*.txt with lines of frame pedestrian x y)")


def read_tracks(path: Path) -> dict[int, np.ndarray]:
    """pedestrian -> (T, 3) rows of frame, x, y in frame order; one line per bad row refused."""
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise SeqlabError(f"{path}:{number}: expected 4 columns (frame pedestrian x y), got {len(fields)}")
        try:
            values = [float(field) for field in fields]
        except ValueError:
            raise SeqlabError(f"{path}:{number}: not a number in {line.strip()!r}") from None
        if not all(np.isfinite(values)):
            raise SeqlabError(f"{path}:{number}: not a finite number in {line.strip()!r}")
        rows.append(values)
    if not rows:
        raise SeqlabError(f"{path} holds no tracks")
    table = np.array(rows)
    tracks = {}
    for pedestrian in np.unique(table[:, 1]):
        mine = table[table[:, 1] == pedestrian]
        tracks[int(pedestrian)] = mine[np.argsort(mine[:, 0])][:, [0, 2, 3]]
    return tracks


def frame_step(tracks: dict[int, np.ndarray]) -> float:
    """The file's frames between two annotations (0.4 s): the commonest gap within a track."""
    gaps = np.concatenate([np.diff(track[:, 0]) for track in tracks.values() if len(track) > 1] or [np.ones(1)])
    values, counts = np.unique(np.round(gaps, 6), return_counts=True)
    return float(values[counts.argmax()])


def nearest(grid: np.ndarray, rows: np.ndarray, column: int, count: int) -> np.ndarray:
    """(count, T, 2): the pedestrians other than `column` seen in grid (frames, pedestrians, 2)
    at the last of `rows` (T frame indices), nearest first, over those frames; NaN rows pad."""
    others = np.delete(grid[rows], column, axis=1)  # (T, P-1, 2)
    others = others[:, ~np.isnan(others[-1, :, 0])]  # seen at the last observed step
    distance = np.linalg.norm(others[-1] - grid[rows[-1], column], axis=-1)
    others = others[:, np.argsort(distance, kind="stable")[:count]]
    # Before a neighbour appears (or within its gaps), it is put where it is next seen: standing still.
    for t in range(len(rows) - 2, -1, -1):
        others[t] = np.where(np.isnan(others[t]), others[t + 1], others[t])
    out = np.full((count, len(rows), 2), np.nan)
    out[:others.shape[1]] = others.transpose(1, 0, 2)
    return out


def windows(tracks: dict[int, np.ndarray], length: int, observed: int = 2,
            neighbours: int = 0) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Every window of `length` consecutive annotations (stride 1) of each track, cut at gaps;
    for each, its `neighbours` nearest others over its first `observed` frames (nearest());
    and how many tracks gave no window."""
    step = frame_step(tracks)
    frames = np.unique(np.concatenate([track[:, 0] for track in tracks.values()]))
    grid = np.full((len(frames), len(tracks), 2), np.nan)  # every pedestrian at every frame
    for column, track in enumerate(tracks.values()):
        grid[np.searchsorted(frames, track[:, 0]), column] = track[:, 1:]
    out, near, skipped = [], [], 0
    for column, track in enumerate(tracks.values()):
        # runs of annotations one step apart
        breaks = np.flatnonzero(~np.isclose(np.diff(track[:, 0]), step)) + 1
        made = 0
        for run in np.split(track, breaks):
            rows = np.searchsorted(frames, run[:, 0])
            for begin in range(len(run) - length + 1):
                out.append(run[begin:begin + length, 1:])
                if neighbours:
                    near.append(nearest(grid, rows[begin:begin + observed], column, neighbours))
                made += 1
        skipped += made == 0
    return out, near, skipped


def load_windows(files: list[Path], length: int, observed: int = 2, neighbours: int = 0) -> Windows:
    cut, near, scene, skipped = [], [], [], 0
    for index, path in enumerate(files):
        made, close, short = windows(read_tracks(path), length, observed, neighbours)
        cut += made
        near += close
        scene += [index] * len(made)
        skipped += short
    positions = np.array(cut, dtype=np.float64).reshape(-1, length, 2)
    near_array = np.array(near, dtype=np.float64).reshape(len(positions), neighbours, observed, 2)
    return Windows(positions, np.array(scene, dtype=int), skipped, near_array)


def split_files(files: list[Path], scene: str) -> tuple[list[Path], list[Path]]:
    """(training files, test files) for leave-one-scene-out with `scene` held out."""
    if scene not in SCENES:
        raise SeqlabError(f"--scene {scene!r}: expected one of {', '.join(SCENES)}")
    test = [path for path in files if path.stem in SCENES[scene]]
    if not test:
        raise SeqlabError(f"no track file of scene {scene} ({', '.join(n + '.txt' for n in SCENES[scene])}) in the folder")
    return [path for path in files if path not in test], test


# ----------------------------------------------------------------------------- baselines
def constant_velocity(observed: np.ndarray, horizon: int) -> np.ndarray:
    """(N, horizon, 2): the last observed displacement repeated."""
    step = observed[:, -1] - observed[:, -2]
    return observed[:, -1, None] + step[:, None] * np.arange(1, horizon + 1)[None, :, None]


def linear_regression(observed: np.ndarray, horizon: int) -> np.ndarray:
    """(N, horizon, 2): a straight line in time fitted to the observed positions by least
    squares, extrapolated."""
    steps = observed.shape[1]
    t = np.arange(steps, dtype=np.float64)
    design = np.stack([np.ones(steps), t], axis=1)  # (T, 2)
    coefficients = np.linalg.lstsq(design, observed.transpose(1, 0, 2).reshape(steps, -1), rcond=None)[0]  # (2, N*2)
    future = np.stack([np.ones(horizon), np.arange(steps, steps + horizon)], axis=1) @ coefficients  # (K, N*2)
    return future.reshape(horizon, -1, 2).transpose(1, 0, 2)


def constant_velocity_samples(observed: np.ndarray, horizon: int, count: int, angle: float,
                              rng: np.random.Generator) -> np.ndarray:
    """(count, N, horizon, 2): constant velocity with the last step turned by an angle drawn
    from N(0, angle^2) (radians) for each sample; the first sample is not turned."""
    step = observed[:, -1] - observed[:, -2]  # (N, 2)
    turn = rng.normal(0.0, angle, (count, len(observed)))
    turn[0] = 0.0
    cos, sin = np.cos(turn)[..., None], np.sin(turn)[..., None]
    turned = np.concatenate([cos * step[..., :1] - sin * step[..., 1:], sin * step[..., :1] + cos * step[..., 1:]], -1)
    return observed[None, :, -1, None] + turned[:, :, None] * np.arange(1, horizon + 1)[None, None, :, None]


def best_of(samples: np.ndarray, future: np.ndarray) -> dict[str, float]:
    """Best-of-S ADE and FDE (metres) of samples (S, N, K, 2): for each window, the sample with
    the lowest ADE, and (separately) the one with the lowest FDE (Gupta et al. 2018)."""
    distance = np.linalg.norm(samples - future[None], axis=-1)  # (S, N, K)
    return {"ade": float(distance.mean(axis=2).min(axis=0).mean()), "fde": float(distance[:, :, -1].min(axis=0).mean())}


TURNS = np.radians([5, 10, 15, 20, 30, 45, 60, 90])  # the spreads fit_turn chooses from


def fit_turn(windows: np.ndarray, observed: int, count: int, rng: np.random.Generator) -> float:
    """The spread (radians) of constant_velocity_samples' turn with the lowest best-of-`count`
    ADE on `windows` (N, observed + horizon, 2): the training scenes', never the test scene's."""
    seen, future = windows[:, :observed], windows[:, observed:]
    scores = [best_of(constant_velocity_samples(seen, future.shape[1], count, angle, rng), future)["ade"] for angle in TURNS]
    return float(TURNS[int(np.argmin(scores))])
