"""Scores of probabilistic forecasts, as the forecasting competitions compute them.

Every forecaster here, recurrent or classical, gives the same five quantiles per step
(QUANTILES): the median is the point forecast, (0.1, 0.9) the 80% interval and (0.025, 0.975)
the 95% interval. Scores count observed values only (a value filled into a gap is no actual).

- MASE (Hyndman & Koehler 2006): mean absolute error over the horizon, divided by the mean
  absolute error of the seasonal naive forecast inside the history before the origin; below
  1 beats that in-sample yardstick. Averaged over origins.
- sMAPE (M4's definition): 200 |y - f| / (|y| + |f|), in percent; 0 where both are 0.
- coverage: the share of actual values inside each interval.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
MEDIAN = QUANTILES.index(0.5)
INTERVALS = {80: (QUANTILES.index(0.1), QUANTILES.index(0.9)), 95: (QUANTILES.index(0.025), QUANTILES.index(0.975))}
Z = {80: 1.2815516, 95: 1.9599640}  # standard normal quantiles of the intervals' upper ends


def seasonal_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (naive when the history
    is too short for a season): MASE's denominator."""
    lag = season if len(history) > season + 1 and season > 1 else 1
    errors = np.abs(history[lag:] - history[:-lag])
    scale = float(errors.mean()) if len(errors) else 0.0
    return scale if scale > 0 else 1.0  # a constant history: absolute errors, unscaled


def score(actual: np.ndarray, quantiles: np.ndarray, scales: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """actual (N, H), quantiles (N, H, Q), scales (N,), observed (N, H) bool -> the scores."""
    median = quantiles[..., MEDIAN]
    errors = np.abs(actual - median)
    counted = observed.sum(axis=1)
    per_origin = np.where(counted > 0, (errors * observed).sum(axis=1) / np.maximum(counted, 1), np.nan) / scales
    denominator = np.abs(actual) + np.abs(median)
    smape = np.where(denominator > 0, 200 * errors / np.where(denominator > 0, denominator, 1), 0.0)
    results = {"mase": float(np.nanmean(per_origin)), "smape": float(smape[observed].mean())}
    for level, (low, high) in INTERVALS.items():
        inside = (actual >= quantiles[..., low]) & (actual <= quantiles[..., high])
        results[f"coverage{level}"] = float(inside[observed].mean())
    results["pinball"] = float(pinball(actual, quantiles, observed, scales))
    return results


def pinball(actual: np.ndarray, quantiles: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> float:
    """Mean pinball (quantile) loss over the quantiles, each origin's errors divided by its
    scale as MASE's are: a proper score of the whole predictive distribution."""
    levels = np.asarray(QUANTILES)
    difference = (actual[..., None] - quantiles) / scales[:, None, None]  # (N, H, Q)
    loss = np.maximum(levels * difference, (levels - 1) * difference).mean(axis=-1)  # (N, H)
    return float(loss[observed].mean())


def normal_quantiles(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(H,) means and standard deviations -> (H, Q) quantiles of normal forecasts."""
    offsets = np.array([-Z[95], -Z[80], 0.0, Z[80], Z[95]])
    return mean[:, None] + sd[:, None] * offsets[None, :]


def interval_quantiles(mean: np.ndarray, bounds: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(H,) point forecasts and {80: (low, high), 95: (low, high)} -> (H, Q)."""
    return np.stack([bounds[95][0], bounds[80][0], mean, bounds[80][1], bounds[95][1]], axis=1)
