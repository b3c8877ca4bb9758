"""ETH/UCY tracks: read, cut into windows, split by scene; bad files refused in one line; the
baselines exact where their model of walking is."""

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.trajectory import pedestrians


def write_scene(folder, name, tracks, separator="\t"):
    """tracks: pedestrian -> list of (frame, x, y)."""
    lines = [f"{frame}{separator}{pedestrian}.0{separator}{x}{separator}{y}"
             for pedestrian, rows in tracks.items() for frame, x, y in rows]
    (folder / f"{name}.txt").write_text("\n".join(sorted(lines, key=lambda line: float(line.split()[0]))) + "\n")


def walk(start_frame, steps, x0=0.0, vx=0.4, step=10):
    return [(start_frame + step * t, x0 + vx * t, 1.0) for t in range(steps)]


def test_tracks_are_cut_into_windows_at_gaps_and_short_ones_counted(tmp_path):
    broken = walk(0, 25) + walk(400, 20)  # a gap: two runs, 25 and 20 steps long
    write_scene(tmp_path, "biwi_eth", {1: broken, 2: walk(0, 5)}, separator=" ")
    windows = pedestrians.load_windows(pedestrians.scene_files(tmp_path), 20)
    assert windows.positions.shape == ((25 - 19) + (20 - 19), 20, 2)
    assert windows.skipped == 1  # pedestrian 2: 5 steps
    assert np.allclose(np.diff(windows.positions[0, :, 0]), 0.4)  # consecutive annotations, 0.4 m apart


def test_leave_one_scene_out_tests_on_the_scene_and_trains_on_the_rest(tmp_path):
    for name in ("biwi_eth", "biwi_hotel", "students001", "students003", "crowds_zara01"):
        write_scene(tmp_path, name, {1: walk(0, 20)})
    train, test = pedestrians.split_files(pedestrians.scene_files(tmp_path), "univ")
    assert [path.stem for path in test] == ["students001", "students003"]
    assert {path.stem for path in train} == {"biwi_eth", "biwi_hotel", "crowds_zara01"}
    with pytest.raises(SeqlabError, match="zara2"):
        pedestrians.split_files(pedestrians.scene_files(tmp_path), "zara2")


@pytest.mark.parametrize("line, expected", [("10\t1\t2.0", "expected 4 columns"), ("10\t1\tx\t2.0", "not a number"),
                                            ("10 1 nan 2.0", "not a finite number")])
def test_malformed_rows_are_refused_with_file_and_line(tmp_path, line, expected):
    (tmp_path / "biwi_eth.txt").write_text("0\t1\t1.0\t1.0\n" + line + "\n")
    with pytest.raises(SeqlabError, match=f"biwi_eth.txt:2: {expected}"):
        pedestrians.read_tracks(tmp_path / "biwi_eth.txt")


def test_a_folder_without_track_files_is_refused(tmp_path):
    with pytest.raises(SeqlabError, match="no track files"):
        pedestrians.scene_files(tmp_path)
    with pytest.raises(SeqlabError, match="no such folder"):
        pedestrians.scene_files(tmp_path / "missing")


def test_constant_velocity_and_linear_regression_are_exact_on_a_straight_walk():
    observed = np.stack([np.arange(8) * 0.4, np.arange(8) * -0.2], axis=-1)[None]  # (1, 8, 2)
    expected = np.stack([np.arange(8, 20) * 0.4, np.arange(8, 20) * -0.2], axis=-1)[None]
    assert np.allclose(pedestrians.constant_velocity(observed, 12), expected)
    assert np.allclose(pedestrians.linear_regression(observed, 12), expected)
    # a last step off the line moves constant velocity, hardly the regression
    observed[0, -1] += [0.0, 0.4]
    assert np.abs(pedestrians.constant_velocity(observed, 12) - expected).max() > 4
    assert np.abs(pedestrians.linear_regression(observed, 12) - expected).max() < 2


def test_each_window_carries_its_nearest_neighbours_over_its_observed_frames(tmp_path):
    near = [(10 * t, 0.4 * t, 2.0) for t in range(20)]  # 1 m beside the walker, all along
    far = [(10 * t, 0.4 * t, 5.0) for t in range(3, 20)]  # 4 m away, appears at the walker's 4th step
    gone = [(10 * t, 0.0, 0.0) for t in range(4)]  # leaves before the last observed step
    write_scene(tmp_path, "biwi_eth", {1: walk(0, 20), 2: near, 3: far, 4: gone})
    windows = pedestrians.load_windows(pedestrians.scene_files(tmp_path), 20, observed=8, neighbours=3)
    mine = [i for i, window in enumerate(windows.positions) if np.allclose(window[:, 1], 1.0)]
    assert windows.neighbours.shape == (len(windows.positions), 3, 8, 2)
    seen = windows.neighbours[mine[0]]  # the walker's only window: frames 0..70 observed
    assert np.allclose(seen[0, :, 1], 2.0) and np.allclose(seen[0, :, 0], 0.4 * np.arange(8))  # nearest first
    assert np.allclose(seen[1, :, 1], 5.0)
    assert np.allclose(seen[1, :3], seen[1, 3])  # before it appeared: where it was first seen
    assert np.isnan(seen[2]).all()  # pedestrian 4 left: a padded row, not a neighbour


def test_sampled_constant_velocity_turns_its_step_and_keeps_the_first_draw_straight():
    observed = np.stack([np.arange(8) * 0.4, np.zeros(8)], axis=-1)[None]  # (1, 8, 2), walking along x
    drawn = pedestrians.constant_velocity_samples(observed, 12, 20, np.radians(30), np.random.default_rng(0))
    assert drawn.shape == (20, 1, 12, 2)
    assert np.allclose(drawn[0], pedestrians.constant_velocity(observed, 12))
    speeds = np.linalg.norm(np.diff(drawn[:, 0], axis=1), axis=-1)
    assert np.allclose(speeds, 0.4) and np.abs(drawn[1:, 0, -1, 1]).max() > 0.5  # turned, same speed
    future = pedestrians.constant_velocity(observed, 12)
    assert pedestrians.best_of(drawn, future[0]) == {"ade": 0.0, "fde": 0.0}


def test_the_turn_is_chosen_wide_for_turning_walkers_and_narrow_for_straight_ones():
    rng = np.random.default_rng(0)
    t = np.arange(20)
    straight = np.stack([0.4 * t, 0 * t], -1)[None].repeat(50, 0)
    headings = np.cumsum(rng.normal(0, 0.15, (50, 20)), axis=1) * (t >= 7)  # turn after the observed steps
    turning = np.cumsum(0.4 * np.stack([np.cos(headings), np.sin(headings)], -1), axis=1)
    assert pedestrians.fit_turn(straight, 8, 20, rng) == pedestrians.TURNS[0]
    assert pedestrians.fit_turn(turning, 8, 20, rng) > pedestrians.TURNS[2]
