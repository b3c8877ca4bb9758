"""Reading series: the shipped data sets, a user's CSV, gaps filled and reported, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.data.series import SeriesError, calendar_features, load_series, protocol_origins


def test_co2_is_weekly_with_its_gaps_filled_and_reported():
    (co2,) = load_series("co2")
    assert co2.frequency == "weekly" and co2.season == 52 and len(co2) == 2284
    assert co2.missing == 59 and not np.isnan(co2.values).any()
    assert any("59 missing" in note and "interpolation" in note for note in co2.notes)
    gap = np.flatnonzero(~co2.observed)[0]  # a filled value lies between its neighbours
    assert min(co2.values[gap - 1], co2.values[gap + 1]) - 1 <= co2.values[gap] <= max(co2.values[gap - 1], co2.values[gap + 1]) + 1


def test_elnino_is_reshaped_to_one_monthly_series():
    (sst,) = load_series("elnino")
    assert sst.frequency == "monthly" and len(sst) == 61 * 12
    assert str(sst.dates[0])[:7] == "1950-01" and str(sst.dates[13])[:7] == "1951-02"


def test_hourly_temps_insert_the_absent_hour():
    (temps,) = load_series("sf-temps")
    assert temps.frequency == "hourly" and len(temps) == 8760 and temps.missing == 1
    assert any("1 hour absent" in note for note in temps.notes)
    assert calendar_features(temps).shape == (8760, 4)  # day of year, hour of day


def test_several_columns_are_several_series():
    series = load_series("seattle-weather", "temp_max,wind")
    assert [s.name for s in series] == ["seattle-weather:temp_max", "seattle-weather:wind"]
    assert all(s.frequency == "daily" and s.season == 365 for s in series)


def write(tmp_path, text: str):
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_with_dates_gaps_and_missing_ends(tmp_path):
    rows = ["day,level", "2020-01-01,", "2020-01-02,1.0", "2020-01-03,NA", "2020-01-05,4.0", "2020-01-06,5"]
    (series,) = load_series(write(tmp_path, "\n".join(rows)), "level", "day")
    assert series.frequency == "daily" and len(series) == 5  # 01-02 .. 01-06, the 4th inserted
    assert series.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert series.observed.tolist() == [True, False, False, True, True]
    notes = " ".join(series.notes)
    assert "1 day absent" in notes and "1 missing value(s) at the start cut off" in notes and "2 missing" in notes


@pytest.mark.parametrize("text, column, dates, message", [
    ("a,b\n1,2\n", "c", "", "has no column 'c'"),
    ("a\n1\nx\n3\n", "a", "", "not a number: 'x' (row 3"),
    ("a\n\nNA\n", "a", "", "every value of column 'a' is missing"),
    ("d,a\n2020-01-02,1\n2020-01-01,2\n2020-01-03,3\n", "a", "d", "not in order"),
    ("d,a\n2020-01-01,1\n2020-01-01,2\n2020-01-02,3\n", "a", "d", "appears twice"),
    ("d,a\n2020-01-01,1\nsoon,2\n2020-01-02,3\n", "a", "d", "is not a date"),
    ("a,b\n1,2\n", "a", "when", "no date column 'when'"),
])
def test_bad_csv_is_one_clear_error(tmp_path, text, column, dates, message):
    with pytest.raises(SeriesError, match=None) as error:
        load_series(write(tmp_path, text), column, dates)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_protocol_holds_out_the_end_and_refuses_a_short_series(tmp_path):
    (series,) = load_series(write(tmp_path, "a\n" + "\n".join(str(i % 7) for i in range(200))), "a")
    origins = protocol_origins(series, context=30, horizon=10, test_origins=4, validation_origins=2)
    assert origins.test == [160, 170, 180, 190] and origins.train_end == 140
    assert origins.validation[0] == 140 and origins.validation[-1] + 10 <= 160  # before the test, never in it
    with pytest.raises(SeriesError, match="fewer than context 190 \\+ horizon 20"):
        protocol_origins(series, context=190, horizon=20, test_origins=1, validation_origins=1)
    with pytest.raises(SeriesError, match="too few"):
        protocol_origins(series, context=100, horizon=20, test_origins=3, validation_origins=2)
