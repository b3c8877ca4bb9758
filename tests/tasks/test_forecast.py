"""The forecast task on the frame: train, evaluate beside the baselines, plot, predict; the
protocol's numbers; bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.forecast.baselines import seasonal_naive_values
from seqlab.tasks import forecast as forecast_task
from tests.helpers import one_line_error, run

TINY = ["--preset", "tiny", "--no-progress"]


@pytest.fixture(scope="module")
def waves(tmp_path_factory) -> Path:
    """Two daily series with a weekly cycle, a trend and a few gaps, as a user's CSV."""
    rng = np.random.default_rng(0)
    days = np.arange(240)
    a = 10 + 0.01 * days + 3 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 0.3, 240)
    b = 5 + 2 * np.cos(2 * np.pi * days / 7) + rng.normal(0, 0.3, 240)
    dates = np.datetime64("2021-01-01") + days
    lines = ["date,a,b"] + [f"{d},{'' if i in (50, 51, 150) else f'{x:.3f}'},{y:.3f}" for i, (d, x, y) in enumerate(zip(dates, a, b))]
    path = tmp_path_factory.mktemp("data") / "waves.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, waves) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run(["forecast", "train", *TINY, "--data", str(waves), "--column", "a,b", "--date-column",
                                "date", "--horizon", "7", "--context", "14", "--steps", "40", "--out", str(out)])
    assert code == 0, stderr
    assert "2 series" in stdout and "horizon 7, context 14, season 7" in stdout
    assert "waves.csv:a: 3 missing value(s) inside the series (longest gap 2)" in stdout  # a's gaps, reported
    assert not any(":b: " in line for line in stdout.splitlines()[1:])  # b has no gaps, so no note
    return out / "best"


def test_checkpoint_holds_the_protocol_and_series(trained):
    config = json.loads((trained / "config.json").read_text(encoding="utf-8"))
    data = config["forecast"]["data"]["data"]
    assert config["kind"] == "forecaster" and config["series"] == [f"{data}:a", f"{data}:b"]
    assert config["protocol"] == {"horizon": 7, "context": 14, "test_origins": 4, "validation_origins": 2}
    assert config["model"]["horizon"] == 7 and config["model"]["input_size"] == 2 + 4  # value, observed, 2 calendar cycles
    assert "val_mase" in config["metrics"]


def test_evaluate_scores_the_model_beside_every_baseline(trained):
    code, stdout, stderr = run(["forecast", "evaluate", "--checkpoint", str(trained), "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert set(results["overall"]) == {"LSTM", "naive", "seasonal naive", "ETS", "Theta", "ARIMA", "climatology"}
    assert len(results["series"]) == 2 and results["test_values"] == 2 * 4 * 7 - 0  # no gap in the test windows
    for scores in results["overall"].values():
        assert scores["mase"] > 0 and 0 <= scores["coverage80"] <= scores["coverage95"] <= 1
    # A weekly cycle: seasonal naive beats naive by far, as it must on these series.
    assert results["overall"]["seasonal naive"]["mase"] < 0.6 * results["overall"]["naive"]["mase"]
    code, stdout, _ = run(["forecast", "evaluate", "--checkpoint", str(trained), "--no-baselines"])
    assert code == 0 and "LSTM" in stdout and "ARIMA" not in stdout and "all series" in stdout


def test_plot_and_predict(trained, tmp_path):
    png = tmp_path / "plots" / "f.png"
    code, stdout, stderr = run(["forecast", "plot", "--checkpoint", str(trained), "--out", str(png)])
    assert code == 0, stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = tmp_path / "ahead.csv"
    code, stdout, stderr = run(["forecast", "predict", "--checkpoint", str(trained), "--csv", str(csv)])
    assert code == 0, stderr
    rows = csv.read_text(encoding="utf-8").strip().split("\n")
    assert rows[0] == "series,when,median,low95,low80,high80,high95" and len(rows) == 1 + 2 * 7
    first = rows[1].split(",")
    assert first[1] == "2021-08-29"  # the day after the data's last (2021-01-01 + 240 days)
    low95, low80, median, high80, high95 = map(float, [first[3], first[4], first[2], first[5], first[6]])
    assert low95 <= low80 <= median <= high80 <= high95


def test_calibration_stretches_intervals_to_their_share():
    rng = np.random.default_rng(1)
    actual = rng.normal(0, 1, (200, 5))
    narrow = np.stack([np.full((200, 5), q) for q in (-0.5, -0.2, 0.0, 0.2, 0.5)], axis=-1)  # far too narrow
    observed = np.ones((200, 5), dtype=bool)
    factors = forecast_task.interval_factors(narrow, actual, observed)
    widened = forecast_task.widen(narrow, factors)
    inside80 = ((actual >= widened[..., 1]) & (actual <= widened[..., 3])).mean()
    inside95 = ((actual >= widened[..., 0]) & (actual <= widened[..., 4])).mean()
    assert factors[80] > 4 and 0.79 <= inside80 <= 0.83 and 0.94 <= inside95 <= 0.97
    assert forecast_task.interval_factors(widened * 3, actual, observed) == {80: 1.0, 95: 1.0}  # widen only


def test_calibration_reads_only_the_windows_that_ended_before_the_origin():
    """The rolling calibration: calm windows first, then a stormy spell; an origin before the
    storm's windows end keeps the intervals, one after them stretches them."""
    horizon, rng = 4, np.random.default_rng(2)
    origins = np.arange(100, 140, 2)  # windows [o, o + 4)
    spread = np.where(origins[:, None] < 120, 0.1, 3.0) * np.ones((1, horizon))
    actual = rng.normal(0, 1, (len(origins), horizon)) * spread
    quantiles = np.stack([np.full_like(actual, q) for q in (-2.0, -1.3, 0.0, 1.3, 2.0)], axis=-1)  # fits the calm
    calibration = forecast_task.Calibration(origins, quantiles, actual, np.ones_like(actual, dtype=bool))
    assert calibration.factors(120) == {80: 1.0, 95: 1.0}  # the last window it knows began at 116, ended at 120
    assert calibration.factors(126)[80] == 1.0 or calibration.factors(126)[80] < calibration.factors(142)[80]
    assert calibration.factors(142)[80] > 1.5 and calibration.factors(142)[95] > 1.5


def test_evaluation_calibrates_each_test_window_on_what_was_known_at_its_origin(trained):
    """At the first test origin the factors come from the validation windows alone, as they
    did before; at each later one also from the test windows that ended before it."""
    setup = forecast_task.set_up(forecast_task.TASK.load(str(trained), "cpu"))
    prepared, protocol = setup.prepared, setup.prepared.protocol
    _, validation = forecast_task.origin_windows(prepared, "validation", protocol.context, protocol.horizon)
    first = prepared.origins[0].test[0]
    rows = slice(0, len(prepared.origins[0].validation))  # the first series' validation windows
    expected = forecast_task.interval_factors(forecast_task.forecast(setup.model, validation)[rows],
                                              validation.actual[rows], validation.observed[rows])
    assert setup.factors(0, first) == expected
    later = setup.calibrations[0].origins + protocol.horizon <= prepared.origins[0].test[-1]
    assert later.sum() > len(prepared.origins[0].validation)  # the earlier test windows join in
    results = forecast_task.evaluate_forecaster(forecast_task.TASK.load(str(trained), "cpu"), baselines=False)
    assert len(results["interval_factors"]["80"]) == 2 * protocol.test_origins  # two series


def test_the_model_learns_a_cycle(waves):
    """150 steps on a noisy weekly cycle: on validation, better than the in-sample seasonal naive
    error (MASE < 1; the noise alone puts a perfect model near 0.7) and far better than untrained."""
    config = forecast_task.TASK.default_config("tiny")
    from dataclasses import replace

    config = replace(config, data=replace(config.data, data=str(waves), column="b", date_column="date", horizon=7,
                                          context=21),
                     model=replace(config.model, hidden_size=16),
                     train=replace(config.train, steps=150, eval_every=150, progress=False))
    data = forecast_task.TASK.prepare(config, forecast_task.TASK.load_data(config))
    model, result = forecast_task.TASK.fit(config, data, announce=False)
    assert result.metrics["val_mase"] < 0.9
    untrained = forecast_task.TASK.fit(replace(config, train=replace(config.train, steps=1, eval_every=1)), data,
                                       announce=False)[1]
    assert untrained.metrics["val_mase"] > 1.5 * result.metrics["val_mase"]


@pytest.mark.parametrize("argv, message", [
    (["--data", "WAVES", "--column", "c"], "has no column 'c'"),
    (["--data", "WAVES", "--column", "a", "--horizon", "0"], "--horizon must be from 1"),
    (["--data", "WAVES", "--column", "a", "--context", "230", "--horizon", "20"], "fewer than context 230 + horizon 20"),
    (["--data", "nowhere"], "no such data set or file"),
    (["--data", "co2", "--horizon", "500", "--context", "100"], "too few"),
])
def test_bad_input_is_one_line(argv, message, waves, tmp_path):
    argv = [str(waves) if word == "WAVES" else word for word in argv]
    code, _, stderr = run(["forecast", "train", *TINY, "--out", str(tmp_path / "x"), *argv])
    one_line_error(code, stderr, message)


@pytest.mark.parametrize("text, message", [
    ("date,a\n2021-01-01,1\n2021-01-01,2\n2021-01-02,3\n", "appears twice"),
    ("date,a\n2021-01-02,1\n2021-01-01,2\n2021-01-03,3\n", "not in order"),
    ("date,a\n2021-01-01,1\n2021-01-02,lots\n2021-01-03,3\n", "not a number: 'lots'"),
    ("date,a\n2021-01-01,\n2021-01-02,NA\n2021-01-03,\n", "every value of column 'a' is missing"),
])
def test_bad_csv_is_one_line(text, message, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    code, _, stderr = run(["forecast", "train", *TINY, "--out", str(tmp_path / "x"), "--data", str(path),
                           "--column", "a", "--date-column", "date"])
    one_line_error(code, stderr, message)


def test_plot_wants_a_png(trained, tmp_path):
    code, _, stderr = run(["forecast", "plot", "--checkpoint", str(trained), "--out", str(tmp_path / "f.jpg")])
    one_line_error(code, stderr, "give a .png file name")


def test_anchored_windows_carry_the_seasonal_naive_forecast(waves):
    """Each window's anchor is the value one season before each step, scaled as its context;
    training windows start where a whole season lies before them."""
    series = forecast_task.load_series(str(waves), "b", "date")
    protocol = forecast_task.Protocol(horizon=10, context=5, test_origins=2, validation_origins=2)
    prepared = forecast_task.prepare_series(series, protocol, "seasonal")
    assert prepared.first_origin == 7  # the season (7 days) is longer than the context (5)
    windows = forecast_task.make_windows(prepared, [(0, 30), (0, 100)], 5, 10)
    values = series[0].values
    for row, origin in enumerate((30, 100)):
        raw = windows.anchor[row].numpy() * windows.sd[row] + windows.mean[row]
        expected = [values[origin - 7 + step % 7] for step in range(10)]
        assert np.allclose(raw, expected, atol=1e-4)
    batch = next(forecast_task.training_batches(prepared, 8, seed=0))
    assert batch[3].shape == (8, 10)
    assert forecast_task.make_windows(forecast_task.prepare_series(series, protocol), [(0, 30)], 5, 10).anchor is None
    assert np.allclose(seasonal_naive_values(np.array([1.0, 2.0, 3.0]), 2, 1), [3.0, 3.0])


def test_climatology_anchored_windows_carry_the_mean_of_earlier_seasons(waves):
    series = forecast_task.load_series(str(waves), "b", "date")
    protocol = forecast_task.Protocol(horizon=10, context=5, test_origins=2, validation_origins=2)
    prepared = forecast_task.prepare_series(series, protocol, "climatology")
    assert prepared.first_origin == 7
    windows = forecast_task.make_windows(prepared, [(0, 30), (0, 100)], 5, 10)
    values = series[0].values
    for row, origin in enumerate((30, 100)):
        raw = windows.anchor[row].numpy() * windows.sd[row] + windows.mean[row]
        # A week's season: each step is the mean of that weekday
        # in every earlier whole week before the origin.
        places = [origin + step - 7 * np.arange(1, 30) for step in range(10)]
        expected = [values[p[(p >= 0) & (p < origin)]].mean() for p in places]
        assert np.allclose(raw, expected, atol=1e-4)


def test_an_anchored_model_trains_evaluates_and_predicts(waves, tmp_path):
    out = tmp_path / "anchored"
    code, stdout, stderr = run(["forecast", "train", *TINY, "--data", str(waves), "--column", "b", "--date-column",
                                "date", "--horizon", "7", "--context", "14", "--anchor", "seasonal", "--out", str(out)])
    assert code == 0, stderr
    code, stdout, stderr = run(["forecast", "evaluate", "--checkpoint", str(out / "best"), "--no-baselines", "--json"])
    assert code == 0, stderr
    # 20 steps are too few to learn much, but the anchor alone is seasonal naive on a clean weekly cycle.
    assert json.loads(stdout)["overall"]["LSTM"]["mase"] < 1.5
    code, _, stderr = run(["forecast", "predict", "--checkpoint", str(out / "best")])
    assert code == 0, stderr


def test_each_data_set_trains_with_its_own_preset_by_default():
    for key in forecast_task.PRESETS:
        if key not in ("default", "tiny"):
            name, _, horizon = key.rpartition("-") if key.rpartition("-")[2].isdigit() else (key, "", "")
            assert forecast_task.preset_for(name, int(horizon) if horizon else None) == key
    assert forecast_task.preset_for("my.csv") == "default"
    assert forecast_task.preset_for("seattle-weather", 14) == "default"  # its own presets are for 7 and 30 days
    from argparse import Namespace

    choose = forecast_task.TASK.choose_preset
    assert choose(Namespace(preset=None, **{"data.data": "elnino", "data.horizon": None})) == "elnino"
    assert choose(Namespace(preset=None, **{"data.data": "seattle-weather", "data.horizon": 7})) == "seattle-weather-7"
    assert choose(Namespace(preset="tiny", **{"data.data": "elnino", "data.horizon": None})) == "tiny"
    assert forecast_task.TASK.default_config("elnino").model.anchor == "climatology"


def test_a_transformed_model_reads_square_roots_and_forecasts_the_values(waves, tmp_path):
    """With --transform sqrt the inputs and the training targets are the square roots of the
    values, the anchor is computed on them, and the forecasts come back on the values' own scale."""
    series = forecast_task.load_series(str(waves), "b", "date")
    protocol = forecast_task.Protocol(horizon=7, context=14, test_origins=2, validation_origins=2)
    plain = forecast_task.prepare_series(series, protocol, "seasonal")
    rooted = forecast_task.prepare_series(series, protocol, "seasonal", "sqrt")
    windows = forecast_task.make_windows(rooted, [(0, 60)], 14, 7)
    values = series[0].values
    roots = np.sqrt(values)
    assert np.allclose(windows.inputs[0, :, 0].numpy() * windows.sd[0] + windows.mean[0], roots[46:60], atol=1e-4)
    assert np.allclose(windows.targets[0] * windows.sd[0] + windows.mean[0], roots[60:67])
    assert np.allclose(windows.actual[0], values[60:67])  # scores read the values themselves
    assert np.allclose(windows.anchor[0].numpy() * windows.sd[0] + windows.mean[0], roots[53:60], atol=1e-4)
    assert not np.allclose(forecast_task.make_windows(plain, [(0, 60)], 14, 7).inputs, windows.inputs)

    out = tmp_path / "rooted"
    code, _, stderr = run(["forecast", "train", *TINY, "--data", str(waves), "--column", "b", "--date-column", "date",
                           "--horizon", "7", "--context", "14", "--anchor", "seasonal", "--transform", "sqrt",
                           "--out", str(out)])
    assert code == 0, stderr
    setup = forecast_task.set_up(forecast_task.TASK.load(str(out / "best"), "cpu"))
    assert setup.model.config.transform == "sqrt"
    _, test = forecast_task.origin_windows(setup.prepared, "test", 14, 7)
    quantiles = forecast_task.forecast(setup.model, test)
    # The anchored network starts as seasonal naive on the roots; squared back, the median is
    # near seasonal naive on the values (the series' level is about 5, its roots about 2.2).
    naive = np.stack([values[o - 7 : o] for o in setup.prepared.origins[0].test])
    assert np.abs(quantiles[..., 2] - naive).mean() < 1.0
    assert (np.diff(quantiles, axis=-1) >= 0).all()
    # Intervals are stretched on the model's scale: however far, squared back they stay >= 0.
    pairs = [(0, origin) for origin in setup.prepared.origins[0].test]
    setup.factors = lambda index, origin: {80: 50.0, 95: 50.0}
    stretched = setup.calibrated(pairs)
    assert (stretched >= 0).all() and (stretched[..., 4] > quantiles[..., 4]).all()
    assert (stretched[..., 0] < quantiles[..., 0]).any()  # stretched down as far as zero
    assert np.allclose(stretched[..., 2], quantiles[..., 2])  # the median stays


@pytest.mark.parametrize("transform, message", [("sqrt", "needs values >= 0"), ("log", "needs values > 0"),
                                                ("cube", "invalid choice")])
def test_a_transform_the_values_cannot_take_is_one_line(transform, message, tmp_path):
    path = tmp_path / "signed.csv"
    path.write_text("a\n" + "\n".join(str(np.sin(i / 3)) for i in range(200)) + "\n", encoding="utf-8")
    code, _, stderr = run(["forecast", "train", *TINY, "--out", str(tmp_path / "x"), "--data", str(path),
                           "--column", "a", "--transform", transform])
    one_line_error(code, stderr, message)


def test_anchors_read_the_recent_values_the_baselines_read(waves):
    """An anchor is the baseline's own point forecast: from the last MAX_HISTORY values only."""
    from seqlab.forecast.baselines import climatology_values

    series = forecast_task.load_series(str(waves), "b", "date")
    protocol = forecast_task.Protocol(horizon=7, context=14, test_origins=2, validation_origins=2)
    prepared = forecast_task.prepare_series(series, protocol, "climatology")
    origin = 200
    windows = forecast_task.make_windows(prepared, [(0, origin)], 14, 7)
    values = series[0].values
    limit = forecast_task.MAX_HISTORY
    try:
        forecast_task.MAX_HISTORY = 30  # so that this short series is longer than the baselines' history
        limited = forecast_task.make_windows(prepared, [(0, origin)], 14, 7)
    finally:
        forecast_task.MAX_HISTORY = limit
    raw = lambda w: w.anchor[0].numpy() * w.sd[0] + w.mean[0]  # noqa: E731
    assert np.allclose(raw(windows), climatology_values(values[:origin], 7, 7), atol=1e-4)
    assert np.allclose(raw(limited), climatology_values(values[origin - 30 : origin], 7, 7), atol=1e-4)
    assert not np.allclose(raw(limited), raw(windows), atol=1e-3)
