"""SqlDialect.iso_timestamp: the same stored timestamps on SQLite and MySQL/MariaDB."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import text

from core.db import Database
from core.dialect import SqlDialect

CASES = [
    ("2024-11-23T04:55:17Z", datetime(2024, 11, 23, 4, 55, 17)),
    ("2024-11-23T04:55:17.123Z", datetime(2024, 11, 23, 4, 55, 17, 123000)),
    ("2022-11-03T06:23:06.000000Z", datetime(2022, 11, 3, 6, 23, 6)),
    ("2024-01-01T10:00:00+05:00", datetime(2024, 1, 1, 5, 0, 0)),
    ("2024-01-01T00:30:00-01:30", datetime(2024, 1, 1, 2, 0, 0)),
    ("2024-01-01T00:00:00.5-05:30", datetime(2024, 1, 1, 5, 30, 0, 500000)),
    ("2024-03-05T06:07:08", datetime(2024, 3, 5, 6, 7, 8)),  # no zone: UTC
    ("junk", None),
    ("12345", None),  # not read as a Julian day
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_iso_timestamp(db: Database, value: str | None, expected: datetime | None) -> None:
    expr = SqlDialect.of(db.dialect).iso_timestamp(":v")
    with db.reading() as s:
        got = s.execute(text(f"SELECT {expr}"), {"v": value}).scalar()
    if isinstance(got, str):  # SQLite: the text SQLAlchemy writes for a DATETIME column
        got = datetime.fromisoformat(got)
    assert got == expected


def test_sqlite_whole_seconds_match_strftime() -> None:
    """The whole-second shortcut (datetime()) writes exactly what strftime('%f') writes."""
    expr = SqlDialect.of("sqlite").iso_timestamp(":v")
    full = "strftime('%Y-%m-%d %H:%M:%f', :v) || '000'"
    conn = sqlite3.connect(":memory:")
    for value in ["2024-11-23T04:55:17Z", "2024-02-29T23:59:59+01:00", "2024-11-23 04:55", "2024-11-23"]:
        ours, reference = conn.execute(f"SELECT {expr}, {full}", {"v": value}).fetchone()
        assert ours == reference
