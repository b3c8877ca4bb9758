"""`seqlab trajectory ball ...`: train, evaluate and show through the command line, and bad input
refused in one line."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from seqlab.tasks.trajectory import BALL, MODEL_NAME, PEDESTRIANS, load_pedestrians
from tests.helpers import one_line_error, run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ball") / "run"
    code, stdout, stderr = run(["trajectory", "ball", "train", "--preset", "tiny", "--size", "16", "--horizon", "4",
                                "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    assert "held-out FDE" in stdout
    return out / "best"


def test_evaluate_scores_the_model_beside_every_baseline_on_the_same_sequences(trained):
    code, stdout, stderr = run(["trajectory", "ball", "evaluate", "--checkpoint", str(trained), "--sequences", "40", "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert results["sequences"] == 40 and results["horizon"] == 4 and results["world"]["size"] == 16
    assert set(results["rows"]) == {MODEL_NAME, "constant velocity", "Kalman (constant acceleration)", "true physics (floor)"}
    assert all(0 <= row["ade"] and 0 <= row["fde"] < 16 for row in results["rows"].values())
    code, table, _ = run(["trajectory", "ball", "evaluate", "--checkpoint", str(trained), "--sequences", "40", "--hidden", "0.3"])
    assert code == 0 and "below the Kalman filter's" in table and "true physics (floor)" in table


def test_show_writes_an_animation_of_seen_and_future_frames_and_a_strip(trained, tmp_path):
    gif, png = tmp_path / "ball.gif", tmp_path / "ball.png"
    for out in (gif, png):
        code, stdout, stderr = run(["trajectory", "ball", "show", "--checkpoint", str(trained), "--index", "3", "--out", str(out)])
        assert code == 0, stderr
        assert f"wrote {out}" in stdout
    with Image.open(gif) as animation:
        assert animation.n_frames == 10 + 4 and animation.size == (16 * 8, 16 * 8)
    with Image.open(png) as strip:
        assert strip.size == ((10 + 1) * 16 * 8, 16 * 8)


def test_training_batches_are_fresh_and_repeatable():
    config = BALL.default_config("tiny")
    data = BALL.load_data(config)
    first, second = (iter(BALL.batches(config, data)) for _ in range(2))
    a, b = next(first), next(second)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert not (next(first)[1] == a[1]).all()


@pytest.mark.parametrize("options, expected", [
    (["--horizon", "0"], "--horizon must be from 1"),
    (["--size", "-32"], "--size must be from 8"),
    (["--observed", "1"], "--observed must be from 2"),
    (["--balls", "0"], "--balls must be from 1"),
    (["--hidden", "1.5"], "--hidden must be from 0"),
    (["--batch-size", "0"], "--batch-size must be from 1"),
])
def test_bad_training_options_get_one_line(options, expected, tmp_path):
    code, _, stderr = run(["trajectory", "ball", "train", "--preset", "tiny", "--out", str(tmp_path / "run"), *options])
    one_line_error(code, stderr, expected)


def test_a_model_is_not_shown_frames_or_balls_it_was_not_trained_on(trained, tmp_path):
    code, _, stderr = run(["trajectory", "ball", "evaluate", "--checkpoint", str(trained), "--size", "32"])
    one_line_error(code, stderr, "reads 16x16 frames")
    code, _, stderr = run(["trajectory", "ball", "evaluate", "--checkpoint", str(trained), "--balls", "2"])
    one_line_error(code, stderr, "follows 1 ball")
    code, _, stderr = run(["trajectory", "ball", "show", "--checkpoint", str(trained), "--out", str(tmp_path / "ball.txt")])
    one_line_error(code, stderr, ".gif or .png")
    code, _, stderr = run(["trajectory", "ball", "evaluate", "--checkpoint", str(tmp_path / "nothing")])
    assert code == 2 and stderr.startswith("seqlab: error: ") and stderr.count("\n") == 1


# ------------------------------------------------------------------------------- pedestrians
@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A folder of synthetic ETH/UCY files: pedestrians walking curved paths in every scene."""
    folder = tmp_path_factory.mktemp("eth-ucy")
    rng = np.random.default_rng(0)
    for name in ("biwi_eth", "biwi_hotel", "students001", "crowds_zara01", "crowds_zara02"):
        lines = []
        for pedestrian in range(6):
            heading, turn, speed = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.05), rng.uniform(0.3, 0.6)
            x, y = rng.uniform(0, 10, 2)
            for t in range(30):
                lines.append(f"{10 * t}\t{pedestrian}\t{x:.3f}\t{y:.3f}")
                heading += turn
                x, y = x + speed * np.cos(heading), y + speed * np.sin(heading)
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n")
    (folder / "crowds_zara03.txt").write_text("0\t1\t1.0\t1.0\n10\t1\t1.4\t1.0\n")  # too short: skipped, counted
    return folder


@pytest.fixture(scope="module")
def walker(scenes, tmp_path_factory):
    out = tmp_path_factory.mktemp("pedestrians") / "run"
    code, stdout, stderr = run(["trajectory", "pedestrians", "train", "--data", str(scenes), "--scene", "zara1",
                                "--preset", "tiny", "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    assert "test scene zara1" in stdout and "1 tracks too short" in stdout
    return out / "best"


def test_pedestrians_evaluate_the_left_out_scene_beside_both_baselines(walker, scenes):
    code, stdout, stderr = run(["trajectory", "pedestrians", "evaluate", "--checkpoint", str(walker), "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert results["scene"] == "zara1" and results["windows"] == 6 * (30 - 19)
    assert set(results["rows"]) == {"LSTM enc-dec", "constant velocity", "linear regression"}
    assert results["rows"]["constant velocity"]["fde"] < results["rows"]["linear regression"]["fde"]  # curved walks


def test_pedestrians_show_draws_the_scene(walker, scenes, tmp_path):
    out = tmp_path / "scene.png"
    code, stdout, stderr = run(["trajectory", "pedestrians", "show", "--checkpoint", str(walker), "--data", str(scenes),
                                "--count", "3", "--out", str(out)])
    assert code == 0, stderr
    with Image.open(out) as image:
        assert image.width > 100


def test_a_social_gaussian_model_is_scored_best_of_20_beside_sampled_constant_velocity(scenes, tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = run(["trajectory", "pedestrians", "train", "--data", str(scenes), "--scene", "eth", "--preset", "tiny",
                                "--social", "attention", "--head", "gaussian", "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    code, stdout, stderr = run(["trajectory", "pedestrians", "evaluate", "--checkpoint", str(out / "best"), "--json"])
    assert code == 0, stderr
    rows = json.loads(stdout)["rows"]
    assert set(rows) == {"LSTM enc-dec + attention, Gaussian", "constant velocity", "linear regression"}
    for name in ("LSTM enc-dec + attention, Gaussian", "constant velocity"):
        assert rows[name]["best_ade"] < rows[name]["ade"] and rows[name]["best_fde"] < rows[name]["fde"]
    assert "best_ade" not in rows["linear regression"]
    code, table, _ = run(["trajectory", "pedestrians", "evaluate", "--checkpoint", str(out / "best")])
    assert code == 0 and "best of 20" in table
    code, stdout, stderr = run(["trajectory", "pedestrians", "show", "--checkpoint", str(out / "best"), "--count", "2",
                                "--out", str(tmp_path / "draws.png")])
    assert code == 0 and (tmp_path / "draws.png").stat().st_size > 0, stderr


def test_training_windows_turn_with_their_neighbours(scenes):
    config = PEDESTRIANS.default_config("tiny")
    config = replace(config, data=replace(config.data, data=str(scenes), scene="hotel"))
    data = load_pedestrians(config.data)
    observed, future, near = next(iter(PEDESTRIANS.batches(config, data)))
    assert near.shape == (observed.shape[0], 8, 8, 2)
    assert torch.allclose(observed[:, -1], torch.zeros(2))  # centred on the last observed point
    # where a neighbour is, seen along the walker's last step, is as in the scene, whatever the turn
    step = data.train[:, 7] - data.train[:, 6]  # (N, 2)
    scene = np.einsum("nmd,nd->nm", data.train_neighbours[:, :, -1] - data.train[:, 7:8], step)  # (N, M)
    turned = torch.einsum("bmd,bd->bm", near[:, :, -1], observed[:, -1] - observed[:, -2]).numpy()  # (B, M)
    assert all(np.isclose(scene, along, atol=1e-4).any() for along in turned[~np.isnan(turned)])


@pytest.mark.parametrize("options, expected", [
    (["--scene", "mars"], "--scene invalid choice"),
    (["--social", "gossip"], "--social invalid choice"),
    (["--horizon", "0"], "--horizon must be from 1"),
    (["--observed", "1"], "--observed must be from 2"),
])
def test_bad_pedestrian_options_get_one_line(options, expected, scenes, tmp_path):
    code, _, stderr = run(["trajectory", "pedestrians", "train", "--data", str(scenes), "--preset", "tiny",
                           "--out", str(tmp_path / "run"), *options])
    one_line_error(code, stderr, expected)


def test_bad_pedestrian_folders_get_one_line(scenes, tmp_path):
    for data, expected in ((tmp_path / "missing", "no such folder"), (tmp_path, "no track files")):
        code, _, stderr = run(["trajectory", "pedestrians", "train", "--data", str(data), "--preset", "tiny",
                               "--out", str(tmp_path / "run")])
        one_line_error(code, stderr, expected)
    code, _, stderr = run(["trajectory", "pedestrians", "train", "--preset", "tiny", "--out", str(tmp_path / "run")])
    one_line_error(code, stderr, "--data: give the folder")
    code, _, stderr = run(["trajectory", "pedestrians", "train", "--data", str(scenes), "--horizon", "40",
                           "--preset", "tiny", "--out", str(tmp_path / "run")])
    one_line_error(code, stderr, "no track of 48 steps")


def test_the_shipped_ball_model_beats_the_kalman_filter_and_nears_the_floor():
    code, stdout, stderr = run(["trajectory", "ball", "evaluate", "--sequences", "100", "--json"])
    assert code == 0, stderr
    rows = json.loads(stdout)["rows"]
    assert rows[MODEL_NAME]["fde"] < 0.3 * rows["Kalman (constant acceleration)"]["fde"]
    assert rows[MODEL_NAME]["fde"] < 2 * rows["true physics (floor)"]["fde"]


def test_no_shipped_pedestrian_model_is_one_line():
    code, _, stderr = run(["trajectory", "pedestrians", "evaluate"])
    one_line_error(code, stderr, "train one: seqlab trajectory pedestrians train")
