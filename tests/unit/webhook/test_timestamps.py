"""Instants in every form senders use end as the same naive UTC value."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.webhook.timestamps import epoch_millis, from_epoch, parse_instant, whole_minutes

STARTED = datetime(2023, 8, 31, 14, 26, 14)


@pytest.mark.parametrize(
    "value",
    [1693491974, 1693491974000, 1693491974000000, 1693491974000000000, 1693491974.0, "1693491974000000000"],
)
def test_epoch_units_are_told_apart_by_magnitude(value: object) -> None:
    assert parse_instant(value) == STARTED


@pytest.mark.parametrize(
    "value",
    ["2023-08-31T14:26:14Z", "2023-08-31T14:26:14+00:00", "2023-08-31T16:26:14+02:00", "2023-08-31T14:26:14"],
)
def test_iso_strings_are_utc(value: str) -> None:
    assert parse_instant(value) == STARTED


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        True,
        None,
        float("inf"),
        float("nan"),
        10**400,
        "9" * 30,
        "soon",
        "0001-01-01T00:00:00+23:59",
        [],
        {},
    ],
)
def test_bad_instants_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_instant(value)


def test_nanoseconds_keep_microseconds() -> None:
    assert from_epoch(1693491974123456789) == datetime(2023, 8, 31, 14, 26, 14, 123456)


@given(st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(5000, 1, 1)))
def test_same_instant_in_s_ms_ns_gives_the_same_millisecond(moment: datetime) -> None:
    """From 1974 on (milliseconds before March 1973 look like seconds) to year 5000."""
    millis = epoch_millis(moment)
    seconds = millis // 1000
    assert epoch_millis(from_epoch(seconds)) == seconds * 1000
    assert epoch_millis(from_epoch(millis)) == millis
    assert epoch_millis(from_epoch(millis * 1_000_000)) == millis


def test_whole_minutes_truncate() -> None:
    assert whole_minutes(STARTED, datetime(2023, 8, 31, 14, 27, 13)) == 0
    assert whole_minutes(STARTED, datetime(2023, 8, 31, 15, 26, 14)) == 60
