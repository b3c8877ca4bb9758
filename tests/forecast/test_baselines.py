"""Scores and classical baselines: MASE's scale, coverage, and each baseline on a known series."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.forecast.baselines import classical_baselines, climatology_values, seasonal_naive
from seqlab.forecast.metrics import QUANTILES, score, seasonal_scale


def test_mase_of_seasonal_naive_on_a_pure_cycle_is_zero_and_coverage_counts():
    cycle = np.tile([1.0, 2.0, 3.0, 4.0], 10)
    quantiles = seasonal_naive(cycle[:32], 8, 4)
    assert np.allclose(quantiles[:, QUANTILES.index(0.5)], cycle[32:])
    scores = score(cycle[None, 32:], quantiles[None], np.array([seasonal_scale(cycle[:32] + np.arange(32), 4)]),
                   np.ones((1, 8), dtype=bool))
    assert scores["mase"] == 0 and scores["coverage80"] == 1 and scores["smape"] == 0


def test_score_counts_observed_values_only():
    actual = np.array([[1.0, 100.0]])
    quantiles = np.repeat(np.array([[[0.5, 0.8, 1.0, 1.2, 1.5]]]), 2, axis=1)
    observed = np.array([[True, False]])
    scores = score(actual, quantiles, np.array([1.0]), observed)
    assert scores["mase"] == 0 and scores["coverage95"] == 1  # the filled-in 100 is no actual value


def test_every_baseline_forecasts_a_seasonal_trend_with_intervals():
    rng = np.random.default_rng(0)
    t = np.arange(160)
    history = 0.05 * t + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.1, 160)
    future = 0.05 * np.arange(160, 172) + np.sin(2 * np.pi * np.arange(160, 172) / 12)
    for baseline in classical_baselines():
        quantiles = baseline.forecast(history, 12, 12)
        assert quantiles.shape == (12, 5) and (np.diff(quantiles, axis=1) >= 0).all(), baseline.name
        assert baseline.failures == 0, (baseline.name, baseline.notes)
        error = np.abs(quantiles[:, 2] - future).mean()
        if baseline.name not in ("naive", "seasonal naive", "climatology"):  # the others model the trend and the season
            assert error < 0.5, (baseline.name, error)


@pytest.mark.parametrize("history", [np.ones(50), np.r_[np.ones(49), 2.0]])
def test_a_constant_history_has_a_scale(history):
    assert seasonal_scale(history, 7) > 0


def test_climatology_is_the_mean_of_earlier_seasons_around_each_step():
    # Monthly (no neighbours): each step is the mean of the same month in every earlier year.
    years = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]).ravel()  # two "years" of 3 months
    assert np.allclose(climatology_values(years, 3, 3), [2.0, 3.0, 4.0])
    # Daily with a year's season: a day's value is the mean of the 31 days around it (+-15) in
    # the years before, so one freak day a year ago moves the forecast by 1/31 of itself. The
    # first 15 days have one whole year of neighbours before them, the next two.
    days = np.zeros(2 * 365)
    days[365 + 10] = 31.0
    forecast = climatology_values(days, 40, 365)
    assert np.allclose(forecast[:15], 1.0) and np.allclose(forecast[15:26], 0.5) and np.allclose(forecast[26:], 0.0)
    # It never reads past the end of the history: changing the future changes nothing.
    history = np.random.default_rng(0).normal(size=50)
    assert np.allclose(climatology_values(history, 12, 12), climatology_values(np.concatenate([history, [9.0] * 12])[:50], 12, 12))
    # Less than a season of history: its mean.
    assert np.allclose(climatology_values(np.array([1.0, 3.0]), 2, 12), [2.0, 2.0])
