"""The classical forecasters every recurrent forecast stands beside, fitted afresh at each origin
on the history before it (statsmodels), each with its own prediction intervals:

- naive: the last value; intervals from the one-step changes, widening as sqrt(h).
- seasonal naive: the value one season back; intervals from the seasonal changes.
- ETS: exponential smoothing with additive errors and a damped additive trend (statsmodels'
  ETSModel); with an additive season when the period is short (<= 24), and for a long period
  (weekly data's 52, daily data's 365) on the STL-adjusted series, its seasonal part carried
  forward (Hyndman & Athanasopoulos's STL-ETS).
- Theta: statsmodels' ThetaModel (Assimakopoulos & Nikolopoulos 2000; the M3 winner), with
  additive deseasonalisation.
- climatology: the mean of every earlier season at the same position, each year's value
  averaged over a few neighbouring steps (a month's days, +-15, for a year of days): what
  meteorologists forecast beyond a week or two, and the anchor of `--anchor climatology`.
- ARIMA: ARIMA errors with Fourier terms for the season (dynamic harmonic regression), the
  differencing from a KPSS test and (p, q) by AIC among a few small orders, chosen once at the
  first origin a run fits and refitted at every origin.

Fits read at most MAX_HISTORY recent values: enough for these models, and it keeps a whole
evaluation to seconds. A fit that fails falls back to seasonal naive, and is counted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from seqlab.forecast.metrics import interval_quantiles, normal_quantiles

MAX_HISTORY = 1000
SHORT_SEASON = 24  # ETS's own seasonal states up to this period; STL above it
ARIMA_ORDERS = ((1, 1), (2, 1), (2, 2), (3, 0), (1, 0))
MAX_FOURIER = 4


def naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    sd = np.std(np.diff(history), ddof=1)
    return normal_quantiles(np.full(horizon, history[-1]), sd * np.sqrt(np.arange(1, horizon + 1)))


def seasonal_naive_values(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(horizon,) the value one season before each step (the last value when there is no
    season): seasonal naive's point forecast, and the anchor of `--anchor seasonal`."""
    if season <= 1:
        return np.full(horizon, history[-1])
    return history[len(history) - season + np.arange(horizon) % season]


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    if season <= 1 or len(history) <= season + 1:
        return naive(history, horizon, season)
    steps = np.arange(horizon)
    mean = seasonal_naive_values(history, horizon, season)
    sd = np.std(history[season:] - history[:-season], ddof=1)
    return normal_quantiles(mean, sd * np.sqrt(steps // season + 1))


def climatology_values(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(horizon,) for each step, the mean over every earlier season of the values at its place
    in the season, each a mean of the 2 * season // 24 + 1 steps around it (one step for
    monthly or hourly data, 31 days for daily data with a year's season: one year's single
    day is mostly weather, not climate). Only values before the end of `history` are read; a
    step with no whole earlier season before it gets the last season's mean."""
    n = len(history)
    if season <= 1 or n < season:
        return np.full(horizon, history[-max(1, min(n, season)):].mean())
    width = climatology_width(season)
    cumulative = np.concatenate([[0.0], np.cumsum(history, dtype=np.float64)])
    seasons_back = np.arange(1, n // season + 2)  # (K,)
    centres = n + np.arange(horizon)[:, None] - season * seasons_back[None, :]  # (H, K)
    whole = (centres - width >= 0) & (centres + width < n)  # the neighbourhood lies inside the history
    low, high = np.clip(centres - width, 0, n), np.clip(centres + width + 1, 0, n)
    means = (cumulative[high] - cumulative[low]) / (2 * width + 1)
    counts = whole.sum(axis=1)
    fallback = history[-season:].mean()
    return np.where(counts > 0, (means * whole).sum(axis=1) / np.maximum(counts, 1), fallback)


def climatology_width(season: int) -> int:
    """How many steps either side of a place in the season climatology averages over."""
    return season // 24


ANCHOR_FORECASTS = {"seasonal": seasonal_naive_values, "climatology": climatology_values}  # --anchor's forecasts


def climatology(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    mean = climatology_values(history, horizon, season)
    # The spread of the last seasons about what climatology said of them from the years before:
    # the anomalies it leaves, taken as the same at every lead (climatology has no memory).
    seasons = min(3, len(history) // season - 1) if season > 1 else 0
    if seasons < 1:
        return naive(history, horizon, season)
    start = len(history) - seasons * season
    errors = history[start:] - np.concatenate([climatology_values(history[:origin], season, season)
                                               for origin in range(start, len(history), season)])
    return normal_quantiles(mean, np.full(horizon, np.std(errors, ddof=1)))


def ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal_states = 1 < season <= SHORT_SEASON and len(history) >= 2 * season + 10
    adjusted, carried = _without_long_season(history, horizon, season) if not seasonal_states else (history, 0.0)
    import pandas as pd

    # A pandas Series: ETSModel's prediction results index their output by the input's index.
    model = ETSModel(pd.Series(adjusted), error="add", trend="add", damped_trend=True,
                     seasonal="add" if seasonal_states else None, seasonal_periods=season if seasonal_states else None)
    fit = model.fit(disp=False, maxiter=200)
    prediction = fit.get_prediction(start=len(adjusted), end=len(adjusted) + horizon - 1)
    bounds = {}
    for level in (80, 95):
        frame = prediction.summary_frame(alpha=1 - level / 100)
        bounds[level] = (frame["pi_lower"].to_numpy() + carried, frame["pi_upper"].to_numpy() + carried)
    return interval_quantiles(np.asarray(prediction.predicted_mean) + carried, bounds)


def _without_long_season(history: np.ndarray, horizon: int, season: int):
    """(the history less its STL seasonal part, that part carried over the horizon); the
    history itself when there is no season to take out."""
    if season <= 1 or len(history) < 2 * season + 1:
        return history, 0.0
    from statsmodels.tsa.seasonal import STL

    seasonal = STL(history, period=season).fit().seasonal
    steps = np.arange(horizon)
    return history - seasonal, seasonal[len(history) - season + steps % season]


def theta(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    deseasonalize = season > 1 and len(history) >= 2 * season
    fit = ThetaModel(history, period=season if deseasonalize else 1, deseasonalize=deseasonalize,
                     method="additive").fit()
    mean = np.asarray(fit.forecast(horizon))
    bounds = {}
    for level in (80, 95):
        frame = fit.prediction_intervals(horizon, alpha=1 - level / 100)
        bounds[level] = (np.asarray(frame["lower"]), np.asarray(frame["upper"]))
    return interval_quantiles(mean, bounds)


@dataclass
class Arima:
    """ARIMA with Fourier terms; the order is chosen at the first fit and kept."""

    order: tuple[int, int, int] | None = None

    def __call__(self, history: np.ndarray, horizon: int, season: int) -> np.ndarray:
        from statsmodels.tsa.arima.model import ARIMA

        pairs = min(season // 2, MAX_FOURIER) if season > 1 else 0
        exog = _fourier(len(history) + horizon, season, pairs)
        past, future = (exog[: len(history)], exog[len(history):]) if pairs else (None, None)
        if self.order is None:
            self.order = self._choose(history, past)
        trend = "t" if self.order[1] == 1 else "c"
        fit = ARIMA(history, exog=past, order=self.order, trend=trend).fit()
        forecast = fit.get_forecast(horizon, exog=future)
        bounds = {level: tuple(np.asarray(forecast.conf_int(alpha=1 - level / 100)).T) for level in (80, 95)}
        return interval_quantiles(np.asarray(forecast.predicted_mean), bounds)

    def _choose(self, history: np.ndarray, exog) -> tuple[int, int, int]:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.stattools import kpss

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # KPSS warns when its p-value is off its table
            d = 1 if kpss(history, regression="c", nlags="auto")[1] < 0.05 else 0
        best, best_aic = (1, d, 1), np.inf
        for p, q in ARIMA_ORDERS:
            try:
                aic = ARIMA(history, exog=exog, order=(p, d, q), trend="t" if d else "c").fit().aic
            except (ValueError, np.linalg.LinAlgError):
                continue
            if aic < best_aic:
                best, best_aic = (p, d, q), aic
        return best


def _fourier(length: int, season: int, pairs: int) -> np.ndarray:
    t = np.arange(length)[:, None]
    k = np.arange(1, pairs + 1)[None, :]
    angle = 2 * np.pi * k * t / season
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


@dataclass
class Baseline:
    """One classical forecaster over a run's origins: its forecasts, its failures, its time."""

    name: str
    forecaster: object
    failures: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> np.ndarray:
        """(horizon, Q) quantiles from the last MAX_HISTORY values of `history`."""
        import time

        started = time.perf_counter()
        recent = history[-MAX_HISTORY:]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence chatter, once per fit
                quantiles = self.forecaster(recent, horizon, season)
            if not np.isfinite(quantiles).all():
                raise ValueError("non-finite forecast")
        except (ValueError, np.linalg.LinAlgError, IndexError) as error:
            self.failures += 1
            self.notes.append(str(error).splitlines()[0] if str(error) else type(error).__name__)
            quantiles = seasonal_naive(recent, horizon, season)
        self.seconds += time.perf_counter() - started
        return np.sort(quantiles, axis=1)  # an interval never inside out


def classical_baselines() -> list[Baseline]:
    """A fresh set (ARIMA keeps the order it chooses): one per series."""
    return [Baseline("naive", naive), Baseline("seasonal naive", seasonal_naive), Baseline("ETS", ets),
            Baseline("Theta", theta), Baseline("ARIMA", Arima()), Baseline("climatology", climatology)]
