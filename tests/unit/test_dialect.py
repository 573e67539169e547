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
    ("2024-13-01T00:00:00Z", None),  # fields out of range: no date, on both databases
    ("2024-01-45T00:00:00Z", None),
    ("2024-01-01T25:00:00Z", None),
    ("2024-01-01T00:61:00Z", None),
    ("2024-02-30T00:00:00Z", None),  # a day past its month's end
    ("2023-02-29T00:00:00Z", None),
    ("2024-04-31T00:00:00Z", None),
    ("2024-02-29T12:00:00Z", datetime(2024, 2, 29, 12, 0)),
    ("2024-01-31T23:00:00-02:00", datetime(2024, 2, 1, 1, 0)),
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


def test_mysql_writes_junk_timestamps_as_null(db: Database) -> None:
    """A write (strict mode) of a timestamp-shaped non-date stores NULL instead of failing the
    statement, like SQLite; a day past its month's end (02-30) included."""
    if db.dialect == "sqlite":
        pytest.skip("MySQL/MariaDB strict mode")
    expr = SqlDialect.of(db.dialect).iso_timestamp(":v")
    values = ["2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-45T00:00:00Z", "2024-02-29T12:00:00Z"]
    with db.session() as s:
        s.execute(text("DROP TEMPORARY TABLE IF EXISTS iso_probe"))
        s.execute(text("CREATE TEMPORARY TABLE iso_probe (n INT, ts DATETIME(3))"))
        for n, value in enumerate(values):
            s.execute(text(f"INSERT INTO iso_probe (n, ts) SELECT :n, {expr}"), {"n": n, "v": value})
        stored = [row.ts for row in s.execute(text("SELECT ts FROM iso_probe ORDER BY n"))]
        s.execute(text("DROP TEMPORARY TABLE iso_probe"))
    assert stored == [None, None, None, datetime(2024, 2, 29, 12, 0)]
