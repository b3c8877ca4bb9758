"""Time series to forecast: the environmental data sets shipped in installed packages, or a CSV.

    load_series("co2")                                   weekly Mauna Loa CO2 (statsmodels), with gaps
    load_series("seattle-weather", "temp_max,wind")      two daily series (vega_datasets)
    load_series("levels.csv", "level", "day")            a user's CSV, one value column and its dates

Every series comes back on a regular calendar: dates are checked (in order, none twice, evenly
spaced), timestamps missing from the calendar are inserted, and missing values inside the
series are filled by linear interpolation and marked (`observed` is False there), never dropped
in silence: `notes` says how many there were and what was done. Missing values at either end
are cut off (there is nothing to interpolate from), and the notes say so too.

Also here: calendar covariates for a model, and the rolling-origin protocol's origins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from seqlab.errors import SeqlabError


class SeriesError(SeqlabError):
    """A series that cannot be read or forecast as asked, with a one-line message."""


@dataclass
class Series:
    name: str  # "co2", "seattle-weather:wind", "levels.csv:level"
    values: np.ndarray  # (T,) float64, gaps filled
    observed: np.ndarray  # (T,) bool: False where the value was missing and was filled in
    dates: np.ndarray | None  # (T,) datetime64[s], or None for a series without dates
    frequency: str  # "hourly", "daily", "weekly", "monthly", "yearly", or "steps" (no dates)
    season: int  # the seasonal period in steps (1: none): seasonal naive and MASE's scale use it
    notes: list[str] = field(default_factory=list)  # what was missing and what was done

    def __len__(self) -> int:
        return len(self.values)

    @property
    def missing(self) -> int:
        return int((~self.observed).sum())


# --------------------------------------------------------------------------- built-in data sets
@dataclass(frozen=True)
class Source:
    """A data set that ships inside an installed package, and its forecasting protocol."""

    description: str
    read: Callable  # () -> pandas.DataFrame with a "date" column and the value columns
    column: str  # the default value column
    season: int
    horizon: int
    context: int
    test_origins: int
    validation_origins: int


def _co2():
    import statsmodels.api as sm

    frame = sm.datasets.co2.load_pandas().data
    return frame.rename_axis("date").reset_index()


def _sunspots():
    import pandas as pd
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    years = frame["YEAR"].astype(int).astype(str)
    return pd.DataFrame({"date": pd.to_datetime(years, format="%Y"), "sunactivity": frame["SUNACTIVITY"]})


def _elnino():
    import pandas as pd
    import statsmodels.api as sm

    # One row per year, one column per month: reshaped to one monthly series.
    frame = sm.datasets.elnino.load_pandas().data
    months = [column for column in frame.columns if column != "YEAR"]
    long = frame.melt(id_vars="YEAR", value_vars=months, var_name="month", value_name="sst")
    long["date"] = pd.to_datetime(
        long["YEAR"].astype(int).astype(str) + "-" + (long["month"].map({m: i + 1 for i, m in enumerate(months)})).astype(str),
        format="%Y-%m",
    )
    return long.sort_values("date")[["date", "sst"]].reset_index(drop=True)


def _vega(name: str):
    def read():
        from vega_datasets import local_data

        return local_data(name)  # shipped inside the package: no network

    return read


SOURCES: dict[str, Source] = {
    "co2": Source("weekly CO2 at Mauna Loa, ppm (statsmodels)", _co2, "co2", season=52, horizon=52, context=156,
                  test_origins=6, validation_origins=2),
    "sunspots": Source("yearly sunspot numbers (statsmodels)", _sunspots, "sunactivity", season=11, horizon=11,
                       context=44, test_origins=4, validation_origins=2),
    "elnino": Source("monthly Pacific sea-surface temperature, degrees C (statsmodels)", _elnino, "sst", season=12,
                     horizon=12, context=48, test_origins=6, validation_origins=3),
    "seattle-weather": Source("daily Seattle weather (vega_datasets)", _vega("seattle-weather"), "temp_max",
                              season=365, horizon=7, context=56, test_origins=20, validation_origins=10),
    "seattle-temps": Source("hourly Seattle temperature, F (vega_datasets)", _vega("seattle-temps"), "temp",
                            season=24, horizon=24, context=168, test_origins=14, validation_origins=7),
    "sf-temps": Source("hourly San Francisco temperature, F (vega_datasets)", _vega("sf-temps"), "temp",
                       season=24, horizon=24, context=168, test_origins=14, validation_origins=7),
}

# The protocol of a user's CSV, where the data set has no defaults of its own.
CSV_TEST_ORIGINS = 4
CSV_VALIDATION_ORIGINS = 2
SEASONS = {"hourly": 24, "daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1, "steps": 1}


def source_of(name: str) -> Source | None:
    return SOURCES.get(name)


# --------------------------------------------------------------------------- reading
def load_series(data: str, column: str = "", date_column: str = "", season: int | None = None) -> list[Series]:
    """The series named by `data` (a data set's name or a CSV file; several, comma-separated)
    and `column` (a value column; several, comma-separated; empty: the data set's own, or a CSV's
    one numeric column)."""
    names = [part.strip() for part in data.split(",") if part.strip()]
    if not names:
        raise SeriesError("--data is empty; give a data set (" + ", ".join(SOURCES) + ") or a CSV file")
    columns = [part.strip() for part in column.split(",") if part.strip()]
    series = []
    for name in names:
        frame, source_date, default = _read_frame(name, date_column)
        chosen = columns or [default or _only_numeric_column(frame, name, source_date)]
        several = len(names) > 1 or len(chosen) > 1 or column != ""
        for value_column in chosen:
            label = f"{name}:{value_column}" if several and not (value_column == default and len(chosen) == 1) else name
            series.append(_series_from_frame(frame, name, label, value_column, source_date, season))
    frequencies = {s.frequency for s in series}
    if len(frequencies) > 1:
        raise SeriesError(f"one model forecasts series of one frequency; these are {', '.join(sorted(frequencies))}")
    return series


def _read_frame(name: str, date_column: str):
    """(DataFrame, its date column or None, its default value column or None)."""
    import pandas as pd

    source = SOURCES.get(name)
    if source is not None:
        return source.read(), "date", source.column
    path = Path(name)
    if not path.is_file():
        raise SeriesError(f"--data {name}: no such data set or file; the data sets are {', '.join(SOURCES)}, "
                          f"or give a CSV file")
    try:
        # Strings, so that a value that is not a number can be named in the error.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SeriesError(f"cannot read {name} as CSV: {str(error).splitlines()[0] if str(error) else error}") from None
    if date_column and date_column not in frame.columns:
        raise SeriesError(f"{name} has no date column {date_column!r}; its columns: {', '.join(map(str, frame.columns))}")
    return frame, (date_column or None), None


def _only_numeric_column(frame, name: str, date_column: str | None) -> str:
    import pandas as pd

    candidates = [c for c in frame.columns if c != date_column
                  and pd.to_numeric(frame[c].replace("", None), errors="coerce").notna().any()]
    if len(candidates) != 1:
        raise SeriesError(f"{name}: say which column to forecast with --column; its columns: "
                          f"{', '.join(map(str, frame.columns))}")
    return candidates[0]


MISSING_TEXT = {"", "na", "nan", "n/a", "null", "none", "-", "?"}


def _numbers(frame, name: str, column: str) -> np.ndarray:
    """The column as floats, missing entries NaN; a value that is neither a number nor a
    missing marker is an error that names it."""
    import pandas as pd

    if column not in frame.columns:
        raise SeriesError(f"{name} has no column {column!r}; its columns: {', '.join(map(str, frame.columns))}")
    raw = frame[column]
    if raw.dtype == object or str(raw.dtype).startswith("str"):
        text = raw.astype(str).str.strip()
        missing = text.str.lower().isin(MISSING_TEXT)
        numbers = pd.to_numeric(text.where(~missing, None), errors="coerce")
        bad = numbers.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SeriesError(f"{name}: column {column!r} has a value that is not a number: {text.iloc[row]!r} "
                              f"(row {row + 2} of the file); use a number, or leave it empty for a missing value")
        return numbers.to_numpy(dtype=float)
    if not np.issubdtype(raw.dtype, np.number):
        raise SeriesError(f"{name}: column {column!r} is not numeric")
    return raw.to_numpy(dtype=float)


def _series_from_frame(frame, name: str, label: str, column: str, date_column: str | None,
                       season: int | None) -> Series:
    values = _numbers(frame, name, column)
    if len(values) == 0 or np.isnan(values).all():
        raise SeriesError(f"{label}: every value of column {column!r} is missing; nothing to forecast")
    notes: list[str] = []
    dates, frequency = None, "steps"
    if date_column is not None:
        dates, frequency, values, inserted = _regular_calendar(frame[date_column], values, label)
        if inserted:
            notes.append(f"{inserted} {_unit(frequency, inserted)} absent from the dates inserted as missing values")
    values, dates, trimmed = _trim_missing_ends(values, dates)
    notes.extend(f"{count} missing value(s) at the {end} cut off (nothing to interpolate from)" for end, count in trimmed if count)
    observed = ~np.isnan(values)
    gaps = int((~observed).sum())
    if gaps:
        values = _interpolate(values)
        notes.append(f"{gaps} missing value(s) inside the series (longest gap {_longest_run(~observed)}) filled by "
                     f"linear interpolation; forecasts are scored on observed values only")
    return Series(label, values, observed, dates, frequency, season or _season_of(name, frequency), notes)


def _unit(frequency: str, count: int) -> str:
    unit = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter",
            "yearly": "year"}.get(frequency, "step")
    return unit if count == 1 else unit + "s"


def _season_of(name: str, frequency: str) -> int:
    source = SOURCES.get(name)
    return source.season if source is not None else SEASONS[frequency]


def _regular_calendar(raw_dates, values: np.ndarray, label: str):
    """Check the dates and put the values on a regular calendar: (dates, frequency, values
    with NaN where a date was absent, how many were absent)."""
    import pandas as pd

    dates = pd.to_datetime(pd.Series(raw_dates), errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise SeriesError(f"{label}: {pd.Series(raw_dates).iloc[row]!r} (row {row + 2}) is not a date")
    dates = pd.DatetimeIndex(dates).as_unit("ns")  # asi8 in nanoseconds, whatever the source's unit
    if len(dates) < 3:
        raise SeriesError(f"{label}: {len(dates)} dates are too few to tell the series' frequency")
    steps = np.diff(dates.asi8)
    if (steps == 0).any():
        row = int(np.flatnonzero(steps == 0)[0]) + 1
        raise SeriesError(f"{label}: the date {dates[row].date() if dates[row].time() == pd.Timestamp(0).time() else dates[row]} "
                          f"appears twice (rows {row + 1} and {row + 2}); give each date once")
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0]) + 1
        raise SeriesError(f"{label}: the dates are not in order ({dates[row]} comes after {dates[row - 1]}, "
                          f"row {row + 2}); sort the file by date")
    frequency, offset = _frequency(dates, label)
    calendar = pd.date_range(dates[0], dates[-1], freq=offset)
    if not dates.isin(calendar).all():
        odd = dates[~dates.isin(calendar)][0]
        raise SeriesError(f"{label}: the dates are not evenly spaced ({odd} is off the {frequency} calendar)")
    regular = pd.Series(values, index=dates).reindex(calendar)
    return calendar.to_numpy().astype("datetime64[s]"), frequency, regular.to_numpy(dtype=float), len(calendar) - len(dates)


def _frequency(dates, label: str):
    """(name, pandas offset) of evenly spaced dates, from their most common step."""
    import pandas as pd

    steps, counts = np.unique(np.diff(dates.asi8), return_counts=True)
    step = pd.Timedelta(int(steps[counts.argmax()]), unit="ns")
    if step == pd.Timedelta(hours=1):
        return "hourly", "h"
    if step == pd.Timedelta(days=1):
        return "daily", "D"
    if step == pd.Timedelta(weeks=1):
        return "weekly", pd.Timedelta(weeks=1)
    if pd.Timedelta(days=28) <= step <= pd.Timedelta(days=31):
        return "monthly", "MS" if dates[0].is_month_start else "ME"
    if pd.Timedelta(days=89) <= step <= pd.Timedelta(days=92):
        return "quarterly", "QS" if dates[0].is_quarter_start else "QE"
    if pd.Timedelta(days=365) <= step <= pd.Timedelta(days=366):
        return "yearly", "YS" if dates[0].is_year_start else "YE"
    raise SeriesError(f"{label}: the dates step by {step}, which seqlab does not read (hourly, daily, weekly, "
                      f"monthly, quarterly or yearly); leave --date-column out to forecast in plain steps")


def _trim_missing_ends(values: np.ndarray, dates):
    present = np.flatnonzero(~np.isnan(values))
    first, last = present[0], present[-1]
    trimmed = [("start", int(first)), ("end", int(len(values) - 1 - last))]
    return values[first : last + 1], (None if dates is None else dates[first : last + 1]), trimmed


def _interpolate(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    filled = values.copy()
    filled[missing] = np.interp(np.flatnonzero(missing), np.flatnonzero(~missing), values[~missing])
    return filled


def _longest_run(mask: np.ndarray) -> int:
    longest = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


# --------------------------------------------------------------------------- covariates
def calendar_features(series: Series, length: int | None = None) -> np.ndarray:
    """(T, F) float32: where each step falls in the calendar, as sine and cosine pairs (so that
    31 December sits next to 1 January): the day of the year for sub-yearly data, the day of the
    week for daily, the hour of the day for hourly; for a series without dates, its position in
    the season. `length` extends past the series' end (the steps to forecast)."""
    import pandas as pd

    length = length or len(series)
    if series.dates is None:
        if series.season <= 1:
            return np.zeros((length, 0), dtype=np.float32)
        return _cycle(np.arange(length) % series.season, series.season)
    step = pd.Timestamp(series.dates[1]) - pd.Timestamp(series.dates[0]) if series.frequency in ("hourly", "daily", "weekly") else None
    if step is not None:
        stamps = pd.DatetimeIndex(pd.Timestamp(series.dates[0]) + step * np.arange(length))
    else:
        stamps = extend_dates(series, length - len(series), include_history=True)
    parts = []
    if series.frequency != "yearly":
        parts.append(_cycle(stamps.day_of_year.to_numpy() - 1, 365.25))
    if series.frequency == "daily":
        parts.append(_cycle(stamps.day_of_week.to_numpy(), 7))
    if series.frequency == "hourly":
        parts.append(_cycle(stamps.hour.to_numpy(), 24))
    return np.concatenate(parts, axis=1) if parts else np.zeros((length, 0), dtype=np.float32)


def _cycle(position: np.ndarray, period: float) -> np.ndarray:
    angle = 2 * np.pi * position / period
    return np.stack([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)


def extend_dates(series: Series, steps: int, include_history: bool = False):
    """The dates of the `steps` steps after the series' end (with its own dates before them if
    `include_history`), as a pandas DatetimeIndex; None for a series without dates."""
    import pandas as pd

    if series.dates is None:
        return None
    _, offset = _frequency(pd.DatetimeIndex(series.dates[:3]).as_unit("ns"), series.name)
    future = pd.date_range(pd.Timestamp(series.dates[-1]), periods=steps + 1, freq=offset)[1:]
    return pd.DatetimeIndex(series.dates).append(future) if include_history else future


# --------------------------------------------------------------------------- the protocol
@dataclass(frozen=True)
class Origins:
    """Where the forecasts of one series start, for the rolling-origin protocol. An origin t
    forecasts values[t : t + horizon] from values[:t]."""

    train_end: int  # training windows lie wholly before this step
    validation: list[int]  # every `stride` steps through the validation span: model selection, calibration
    test: list[int]  # the last `test_origins` windows, side by side, never seen in training or selection


def origin_stride(horizon: int) -> int:
    """Steps between the overlapping windows of the validation span (and of interval calibration)."""
    return max(1, horizon // 4)


def protocol_origins(series: Series, context: int, horizon: int, test_origins: int, validation_origins: int) -> Origins:
    """The test windows are the last `test_origins` spans of `horizon` steps; before them lie
    `validation_origins` spans for model selection; training sees only what comes before."""
    needed = context + horizon
    if len(series) < needed:
        raise SeriesError(f"{series.name} has {len(series)} values, fewer than context {context} + horizon {horizon} "
                          f"= {needed}; give a shorter --context or --horizon, or a longer series")
    train_end = len(series) - horizon * (test_origins + validation_origins)
    if train_end < needed + 1 or train_end <= series.season:
        raise SeriesError(
            f"{series.name} has {len(series)} values: too few for context {context} + horizon {horizon} and "
            f"{test_origins} test + {validation_origins} validation windows of {horizon} steps (training would get "
            f"{max(train_end, 0)} values); give a shorter --context or --horizon, or fewer --test-origins"
        )
    validation = list(range(train_end, len(series) - horizon * (test_origins + 1) + 1, origin_stride(horizon)))
    test = [len(series) - horizon * (k + 1) for k in reversed(range(test_origins))]
    return Origins(train_end, validation, test)
