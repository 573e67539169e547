"""Small SQL fragments that differ between SQLite and MySQL/MariaDB.

Metrics are written as SQL text that mirrors DevLake's dashboard queries; the few date
operations they need are spelled per backend here, so the same text runs on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.dialect import SqlDialect

BULK_CACHE_KIB = 512 * 1024  # SQLite page cache of the stage's connection while it runs
QUERY_CACHE_KIB = 64 * 1024


@dataclass(frozen=True)
class Dialect(SqlDialect):
    """The metrics' date arithmetic on top of the shared spellings (`core.dialect`)."""

    def millis_between(self, start: str, end: str) -> str:
        if self.mysql:
            return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) DIV 1000)"
        return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER)"

    def clamp(self, expr: str, lo: str, hi: str) -> str:
        """`expr` held within [lo, hi], computed once."""
        return f"LEAST(GREATEST({expr}, {lo}), {hi})" if self.mysql else f"MIN(MAX({expr}, {lo}), {hi})"

    def int_div(self, a: str, b: str) -> str:
        """Integer division of two integers, truncated toward zero on both backends."""
        return f"({a} DIV {b})" if self.mysql else f"({a} / {b})"

    @property
    def straight_join(self) -> str:
        """SELECT modifier joining tables in the order written: MariaDB may otherwise start a
        million-row join from a small temporary table it has no statistics for."""
        return "STRAIGHT_JOIN" if self.mysql else ""

    @property
    def datetime_type(self) -> str:
        """The column type of stored timestamps (`UTCDateTime`), for temporary tables."""
        return "DATETIME(3)" if self.mysql else "DATETIME"

    def day(self, ts: str) -> str:
        """The calendar day of a timestamp, comparable with `add_days` results."""
        return f"DATE({ts})" if self.mysql else f"date({ts})"

    def add_days(self, day: str, n: str) -> str:
        if self.mysql:
            return f"DATE_ADD({day}, INTERVAL {n} DAY)"
        return f"date({day}, '+' || ({n}) || ' days')"

    def week_start(self, day: str) -> str:
        """Monday of the day's week (DevLake: DATE_ADD(day, INTERVAL -WEEKDAY(day) DAY))."""
        if self.mysql:
            return f"DATE_ADD({day}, INTERVAL -WEEKDAY({day}) DAY)"
        return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"

    def month_start(self, day: str) -> str:
        if self.mysql:
            return f"DATE_ADD({day}, INTERVAL -DAY({day}) + 1 DAY)"
        return f"date({day}, 'start of month')"

    def month_key(self, ts: str) -> str:
        """'YYYY-MM' of a timestamp or day."""
        return f"DATE_FORMAT({ts}, '%Y-%m')" if self.mysql else f"strftime('%Y-%m', {ts})"

    def stored_month(self, column: str) -> str:
        """The month of a stored timestamp column, as a key `month_label` reads: SQLite keeps
        ISO text, so a prefix will do; on MySQL the integer YYYYMM (a quarter of a million
        DATE_FORMAT calls cost a fifth of a metric query)."""
        return f"EXTRACT(YEAR_MONTH FROM {column})" if self.mysql else f"substr({column}, 1, 7)"

    def year_div_6(self, day: str) -> str:
        """DevLake's `DATE_FORMAT(month, '%Y-%m') DIV 6`: MySQL reads '2024-03' as 2024."""
        if self.mysql:
            return f"(YEAR({day}) DIV 6)"
        return f"(CAST(strftime('%Y', {day}) AS INTEGER) / 6)"

    def bulk_session_settings(self) -> list[str]:
        """For a connection about to sort and join a million rows in one statement.

        MariaDB keeps an intermediate result in memory only up to tmp_table_size (16 MB by
        default) and writes the rest to disk; the stage's one-pass linking holds a row per
        incident, so let it use memory as needed (the server still caps it, per session).
        SQLite's page cache is 2 MB by default and its sorts spill to temporary files:
        inserting a million rows into tables whose indexes are not in insertion order (the
        relationships by deployment, the incidents by resolution) then rereads pages all the
        time. `session_settings` restores the previous values afterwards (they belong to the
        pooled connection).
        """
        if not self.mysql:
            return [f"PRAGMA cache_size = {-BULK_CACHE_KIB}", "PRAGMA temp_store = MEMORY"]
        return ["SET SESSION tmp_table_size = 1073741824, max_heap_table_size = 1073741824"]

    def query_session_settings(self) -> list[str]:
        """For a metrics query: its sorts and groupings of a period's rows stay in memory.

        Six months of a million incidents are a quarter of a million rows to group and rank:
        more than MariaDB's 2 MB sort buffer and 16 MB in-memory temporary tables.
        """
        if not self.mysql:
            return [f"PRAGMA cache_size = {-QUERY_CACHE_KIB}", "PRAGMA temp_store = MEMORY"]
        return [
            "SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456, "
            "sort_buffer_size = 67108864"
        ]

    def create_temp(self, name: str, select: str) -> str:
        return f"CREATE TEMPORARY TABLE {name} AS {select}"

    def binary(self, expr: str) -> str:
        """Compare ids byte-wise on both backends (SQLite's default), not case-insensitively."""
        return f"{expr} COLLATE utf8mb4_bin" if self.mysql else expr


def month_label(key: object) -> str:
    """'YYYY-MM' from a `stored_month` key (YYYYMM, as a number or text); other keys as they are."""
    text_key = str(key)
    return f"{text_key[:4]}-{text_key[4:]}" if len(text_key) == 6 and text_key.isdigit() else text_key


@contextmanager
def session_settings(s: Session, statements: list[str]) -> Iterator[None]:
    """Apply settings to the session's connection, and put them back afterwards."""
    saved: list[str] = []
    for statement in statements:
        if statement.startswith("SET SESSION "):  # MySQL: put the connection's values back too
            for part in statement.removeprefix("SET SESSION ").split(","):
                name = part.split("=")[0].strip()
                saved.append(f"SET SESSION {name} = {s.execute(text(f'SELECT @@SESSION.{name}')).scalar()}")
        if not statement.startswith("PRAGMA "):
            s.execute(text(statement))
            continue
        name = statement.split()[1]
        before = f"PRAGMA {name} = {s.execute(text(f'PRAGMA {name}')).scalar()}"
        try:
            s.execute(text(statement))
        except OperationalError:  # temp_store is fixed once the connection has a temporary table
            continue
        saved.append(before)
    try:
        yield
    finally:
        for statement in saved:
            try:
                s.execute(text(statement))
            except OperationalError:  # likewise; an in-memory temp store is harmless
                pass
