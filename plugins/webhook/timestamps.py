"""Instants as senders write them: Unix epochs in s/ms/µs/ns, or ISO 8601 strings.

Everything is normalised to naive UTC (the form every timestamp column stores) and kept
within what both SQLite and MySQL's DATETIME can hold, so a bad value is a 400, not a 500.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9999, 12, 31)
_EPOCH = datetime(1970, 1, 1)

# An epoch below 1e11 read as seconds is before year 5138; the same number read as
# milliseconds is before 1973. Each following unit is 1000x finer, hence the bands.
_UNITS = ((1e11, 1.0), (1e14, 1e-3), (1e17, 1e-6))
_NANOS = 1e-9


def epoch_seconds(value: float) -> float:
    """Seconds since the epoch for a number in s, ms, µs or ns (told apart by magnitude)."""
    for bound, scale in _UNITS:
        if value < bound:
            return value * scale
    return value * _NANOS


def from_epoch(value: Any) -> datetime:
    """A positive number (int or finite float) of s/ms/µs/ns → naive UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a Unix timestamp (s, ms or ns)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value <= 0:
        raise ValueError("must be a positive Unix timestamp")
    try:
        if isinstance(value, int):
            result = _EPOCH + _exact(value)
        else:
            result = _EPOCH + timedelta(seconds=epoch_seconds(value))
    except OverflowError:
        raise ValueError("timestamp out of range") from None
    return in_range(result)


def _exact(value: int) -> timedelta:
    """Integer epochs in integer arithmetic: a float would drop milliseconds by year 2243."""
    if value < _UNITS[0][0]:
        return timedelta(seconds=value)
    if value < _UNITS[1][0]:
        return timedelta(milliseconds=value)
    if value < _UNITS[2][0]:
        return timedelta(microseconds=value)
    return timedelta(microseconds=value // 1000)


def from_iso(value: str) -> datetime:
    """An ISO 8601 / RFC 3339 string → naive UTC; a string without offset is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an RFC 3339 timestamp such as 2020-01-01T12:00:00+00:00") from None
    return normalize(parsed)


def normalize(value: datetime) -> datetime:
    """Aware → naive UTC; naive is taken as UTC; out-of-range instants are refused."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("timestamp out of range") from None
    return in_range(value)


def in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("timestamp out of range (1970-01-01 … 9999-12-31)")
    return value


def parse_instant(value: Any) -> datetime:
    """Whatever a sender may use for an instant: epoch number, numeric string or ISO string."""
    if isinstance(value, datetime):
        return normalize(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit():
            if len(stripped) > 20:
                raise ValueError("timestamp out of range")
            return from_epoch(int(stripped))
        return from_iso(stripped)
    return from_epoch(value)


def whole_minutes(start: datetime, end: datetime) -> int:
    """Whole minutes from start to end (truncated, as DevLake's lead time)."""
    return int((end - start).total_seconds() // 60)


def epoch_millis(value: datetime) -> int:
    """Milliseconds since the epoch: the precision both backends keep."""
    delta = value - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
