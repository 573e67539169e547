"""Band edges, periods and SQL spellings: the small pieces the DORA figures rest on."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from core.dora import levels as lv
from core.dora.dialect import Dialect
from core.dora.filters import IncidentFilter
from core.dora.window import Window, parse_when, window_from


@pytest.mark.parametrize(
    ("rate", "report", "level"),
    [
        (0.0, "2023", "elite"),
        (0.05, "2023", "elite"),
        (0.05004, "2023", "elite"),  # MySQL's 4-decimal quotient is 0.0500, as DevLake compares it
        (0.0501, "2023", "high"),
        (0.15, "2023", "medium"),
        (0.1501, "2023", "low"),
        (0.15, "2021", "elite"),
        (0.2, "2021", "high"),
        (0.3, "2021", "medium"),
        (0.31, "2021", "low"),
    ],
)
def test_change_failure_rate_bands(rate: float, report: str, level: str) -> None:
    assert lv.cfr_level(rate, report) == level


@pytest.mark.parametrize(
    ("minutes", "level"),
    [
        (0, "elite"),
        (59, "elite"),
        (60, "high"),
        (1439, "high"),
        (1440, "medium"),
        (10079, "medium"),
        (10080, "low"),
    ],
)
def test_restore_bands(minutes: int, level: str) -> None:
    assert lv.restore_level(minutes) == level


def test_frequency_bands_follow_devlake_per_report() -> None:
    assert lv.frequency_level(5, 20, 100, "2023") == "elite"
    assert lv.frequency_level(1, 4, 20, "2023") == "high"
    assert lv.frequency_level(0, 1, 5, "2023") == "medium"
    assert lv.frequency_level(0, 0, 5, "2023") == "low"
    assert lv.frequency_level(1, 4, 20, "2021") == "high"
    assert lv.frequency_level(0, 1, 5, "2021") == "high"
    assert lv.frequency_level(0, 0, 1, "2021") == "medium"
    assert lv.frequency_level(0, 0, 0, "2021") == "low"
    assert lv.frequency_level(0, 0, None, "2021") == "low"


def test_window_months_days_and_defaults() -> None:
    w = Window(datetime(2024, 1, 31, 12), datetime(2024, 3, 1))
    assert w.months() == ["2024-01", "2024-02"]
    assert (w.first_day.isoformat(), w.last_day.isoformat(), w.days) == ("2024-01-31", "2024-02-29", 30)
    default = Window.default(datetime(2024, 3, 15, 8))
    assert default.start == datetime(2023, 10, 1) and default.end == datetime(2024, 3, 15, 8)
    assert window_from("2024-01-01", None, now=datetime(2024, 3, 15)).end == datetime(2024, 3, 15)
    assert window_from(None, "2023-01-01", now=datetime(2024, 3, 15)).start < datetime(2023, 1, 1)
    assert parse_when("2024-01-01T02:00:00+02:00", "from") == datetime(2024, 1, 1)
    with pytest.raises(ValueError, match="from must be before to"):
        Window(datetime(2024, 1, 2), datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="to: not an ISO"):
        parse_when("soon", "to")


def test_filter_predicate_is_case_insensitive_and_skips_empty_lists() -> None:
    f = IncidentFilter.model_validate({"priorities": ["P1", " P1 ", "p2"], "services": []})
    assert f.priorities == ["P1", "p2"]
    sql, params = f.predicate("i", "k")
    assert sql == "LOWER(i.priority) IN (:k_priority_0, :k_priority_1)"
    assert params == {"k_priority_0": "p1", "k_priority_1": "p2"}
    assert IncidentFilter().predicate("i", "k") == ("1 = 1", {})
    with pytest.raises(ValueError):
        IncidentFilter.model_validate({"priorities": [""]})


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        ("2024-01-01 00:00:00.500000", "2024-01-01 00:01:00.400000", 0),  # 59.9 s
        ("2024-01-01 00:00:00.000000", "2024-01-01 01:00:00.000000", 60),
        ("2024-01-01 01:00:00.000000", "2024-01-01 00:00:30.000000", -59),  # truncated toward zero
        ("2023-12-31 23:59:59.999000", "2024-03-01 00:00:00.000000", 86400),
    ],
)
def test_sqlite_minutes_truncate_like_timestampdiff(start: str, end: str, minutes: int) -> None:
    d = Dialect("sqlite")
    got = (
        sqlite3.connect(":memory:")
        .execute(f"SELECT {d.minutes_between(':s', ':e')}", {"s": start, "e": end})
        .fetchone()[0]
    )
    assert got == minutes


def test_sqlite_week_and_month_starts() -> None:
    d = Dialect("sqlite")
    conn = sqlite3.connect(":memory:")
    for day, monday in [
        ("2024-01-01", "2024-01-01"),
        ("2024-01-07", "2024-01-01"),
        ("2024-03-13", "2024-03-11"),
    ]:
        assert conn.execute(f"SELECT {d.week_start(':d')}", {"d": day}).fetchone()[0] == monday
    assert conn.execute(f"SELECT {d.month_start(':d')}", {"d": "2024-02-29"}).fetchone()[0] == "2024-02-01"
    assert conn.execute(f"SELECT {d.add_days(':d', '3')}", {"d": "2024-02-27"}).fetchone()[0] == "2024-03-01"
