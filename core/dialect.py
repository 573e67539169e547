"""SQL spellings that differ between SQLite and MySQL/MariaDB, for set-based statements.

Extractors and converters that move whole batches with one INSERT … SELECT (instead of a
Python loop per row) are written once as SQL text; the few expressions that differ per
backend — reading JSON, parsing ISO-8601 timestamps, upsert clauses — come from here.
The database does the per-row work in C, outside Python's GIL, so it also overlaps with
the collectors of other tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import bindparam, text

from core.models.base import UTCDateTime

# ISO-8601 date-time with optional fraction and zone, as APIs send them; fields in range, as
# MySQL's CAST raises (strict mode, in a write) where SQLite's strftime() gives NULL
_ISO_MYSQL = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)


def typed(sql: str, *datetimes: str) -> Any:
    """text() with the named datetime parameters typed, so SQLite gets its stored format."""
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in datetimes))


@dataclass(frozen=True)
class SqlDialect:
    """Expressions for one backend: `sqlite` or `mysql` (MariaDB included)."""

    name: str

    @classmethod
    def of(cls, dialect_name: str) -> Self:
        return cls("mysql" if dialect_name in ("mysql", "mariadb") else "sqlite")

    @property
    def mysql(self) -> bool:
        return self.name == "mysql"

    # -- JSON documents stored as text (raw tables) ------------------------------------------

    def json_fields_table(
        self, name: str, source: str, doc: str, keep: dict[str, str], fields: dict[str, tuple[str, str]]
    ) -> list[str]:
        """Statements filling temporary table `name` with one row per row of `source`.

        `source` is "FROM … WHERE …" naming the JSON column `doc`; `keep` maps columns to plain
        expressions; `fields` maps columns to (JSON path, kind): kind "value" is the scalar at the
        path (NULL when absent or null), "json" the JSON text of an object or list, "type" the
        lower-case JSON type name there ("integer", "text"/"string", "object", …; NULL when the
        path is absent, "null" for a JSON null), "timestamp"
        the scalar as `iso_timestamp` stores it.

        The values are extracted first and converted from the stored values: a conversion naming
        its value several times would otherwise extract it again each time (on MariaDB, which
        merges a derived table into the outer query, in a second table: a third less time per
        batch). SQLite parses each document once: its JSON functions keep a row's parsed
        document for the next call on the same text, so one call per field costs less than one
        multi-path call whose array must be parsed again (0.315 s against 0.36 s per 30,000
        PagerDuty incidents). On SQLite the table is filled outside the write lock
        (fill_temporary), so converting there keeps that work off the lock too.
        """
        kept = ", ".join(f"{expr} AS {col}" for col, expr in keep.items())
        passed = ", ".join(f"x.{col}" for col in keep)
        converted = ", ".join(
            (self.iso_timestamp(f"x.{col}") if kind == "timestamp" else f"x.{col}") + f" AS {col}"
            for col, (_, kind) in fields.items()
        )
        if self.mysql:

            def field(path: str, kind: str) -> str:
                if kind == "json":
                    return f"JSON_QUERY({doc}, '{path}')"
                if kind == "type":
                    return f"LOWER(JSON_TYPE(JSON_EXTRACT({doc}, '{path}')))"
                return f"JSON_VALUE({doc}, '{path}')"

            values = f"{name}_values"
            cols = ", ".join(f"{field(path, kind)} AS {col}" for col, (path, kind) in fields.items())
            return [
                self.drop_temp(values),
                f"CREATE TEMPORARY TABLE {values} AS SELECT {kept}, {cols} {source}",
                self.drop_temp(name),
                f"CREATE TEMPORARY TABLE {name} AS SELECT {passed}, {converted} FROM {values} x",
                self.drop_temp(values),
            ]
        extracted = ", ".join(
            f"{'json_type' if kind == 'type' else 'json_extract'}({doc}, '{path}') AS {col}"
            for col, (path, kind) in fields.items()
        )
        return [
            self.drop_temp(name),
            f"CREATE TEMP TABLE {name} AS WITH x AS MATERIALIZED (SELECT {kept}, {extracted} {source}) "
            f"SELECT {passed}, {converted} FROM x",
        ]

    def drop_temp(self, name: str) -> str:
        return f"DROP TEMPORARY TABLE IF EXISTS {name}" if self.mysql else f"DROP TABLE IF EXISTS temp.{name}"

    def iso_timestamp(self, expr: str) -> str:
        """ISO-8601 text as a stored UTC timestamp (to the millisecond); anything else → NULL.

        Zone offsets are applied; a timestamp without a zone is taken as UTC.
        """
        if self.mysql:
            base = (
                f"REPLACE(REGEXP_SUBSTR({expr}, '^[0-9-]{{10}}[T ][0-9:]{{8}}([.][0-9]{{1,3}})?'), 'T', ' ')"
            )
            zone = f"REGEXP_SUBSTR({expr}, '[+-][0-9]{{2}}:[0-9]{{2}}$')"
            # a day past its month's end (02-30) is junk too; CASE orders the tests, so LAST_DAY
            # only meets a month in range
            in_month = (
                f"(SUBSTRING({expr}, 9, 2) <= '28' OR CAST(SUBSTRING({expr}, 9, 2) AS UNSIGNED) <= "
                f"DAYOFMONTH(LAST_DAY(CONCAT(SUBSTRING({expr}, 1, 7), '-01'))))"
            )
            return (
                f"(CASE WHEN {expr} REGEXP '{_ISO_MYSQL}' THEN CASE WHEN {in_month} THEN "
                f"CASE WHEN {zone} <> '' THEN CONVERT_TZ(CAST({base} AS DATETIME(3)), {zone}, '+00:00') "
                f"ELSE CAST({base} AS DATETIME(3)) END END END)"
            )
        # strftime()/datetime() are NULL for text that is no date (numbers would be read as
        # Julian days, hence the shape test); SQLAlchemy stores microseconds: pad so the text
        # compares like the values it writes. Without a fraction, datetime() gives the same
        # text as strftime('%f') at a fifth of the cost (most APIs send whole seconds).
        # SQLite takes any day up to 31 and prints it back (02-30 would be stored, then fail to
        # read): past the 28th, the date must survive normalizing ('+0 days')
        in_month = f"(substr({expr}, 9, 2) <= '28' OR date(substr({expr}, 1, 10), '+0 days') = substr({expr}, 1, 10))"
        return (
            f"(CASE WHEN {expr} LIKE '____-__-__%' AND {in_month} THEN CASE WHEN instr({expr}, '.') "
            f"THEN strftime('%Y-%m-%d %H:%M:%f', {expr}) || '000' ELSE datetime({expr}) || '.000000' END END)"
        )

    def json_table(self, doc: str, alias: str, columns: dict[str, str]) -> str:
        """A FROM-clause item: one row per element of the JSON array `doc` (NULL: no rows).

        `columns` maps a name to a path inside the element; read them with `json_column`.
        Elements that are no objects give NULL columns.
        """
        if self.mysql:
            cols = ", ".join(f"{name} TEXT PATH '{sub}'" for name, sub in columns.items())
            return f"JSON_TABLE({doc}, '$[*]' COLUMNS ({cols})) AS {alias}"
        return f"json_each({doc}) AS {alias}"

    def json_column(self, alias: str, name: str, sub: str) -> str:
        """Column `name` (at `sub` in the element) of a `json_table` item."""
        if self.mysql:
            return f"{alias}.{name}"
        return (
            f"(CASE WHEN {alias}.type = 'object' AND json_type({alias}.value, '{sub}') "
            f"NOT IN ('object', 'array', 'null') THEN json_extract({alias}.value, '{sub}') END)"
        )

    # -- arithmetic and text ---------------------------------------------------------------------

    def minutes_between(self, start: str, end: str) -> str:
        """Whole minutes from start to end, truncated toward zero (MySQL's TIMESTAMPDIFF)."""
        if self.mysql:
            return f"TIMESTAMPDIFF(MINUTE, {start}, {end})"
        # julianday is exact to ~40 µs; rounding to whole milliseconds removes float noise
        return f"(CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER) / 60000)"

    def concat(self, *parts: str) -> str:
        if self.mysql:
            return f"CONCAT({', '.join(parts)})"
        return "(" + " || ".join(parts) + ")"

    def as_text(self, expr: str) -> str:
        """A number as text; on MySQL a coercible string, so comparing it with a column uses
        the column's collation whatever the connection's is."""
        return f"CONCAT({expr})" if self.mysql else f"CAST({expr} AS TEXT)"

    # -- writes ----------------------------------------------------------------------------------

    def delete_in(self, table: str, column: str, keys: str, where: str | None = None) -> str:
        """DELETE the rows of `table` (alias `d`) whose `column` is among `keys` (a one-column
        SELECT naming its column `k`), and that meet `where`.

        MariaDB runs the IN (subquery) of a single-table DELETE once per row of the table; a
        multi-table DELETE joins instead, through the index.
        """
        if self.mysql:
            cond = f" WHERE {where}" if where else ""
            return f"DELETE d FROM {table} d JOIN ({keys}) AS keyset ON d.{column} = keyset.k{cond}"
        cond = f" AND {where}" if where else ""
        return f"DELETE FROM {table} AS d WHERE d.{column} IN ({keys}){cond}"

    def upsert_clause(self, key: Iterable[str], update: Iterable[str]) -> str:
        """What follows INSERT … SELECT … so rows whose key exists are updated (later rows win)."""
        cols = list(update)
        if self.mysql:
            if not cols:
                first = next(iter(key))
                return f"ON DUPLICATE KEY UPDATE {first} = {first}"
            return "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in cols)
        target = ", ".join(key)
        if not cols:
            return f"ON CONFLICT ({target}) DO NOTHING"
        return f"ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in cols)


def insert_select(d: SqlDialect, model: Any, columns: dict[str, str], rest: str) -> Any:
    """INSERT INTO model (columns) SELECT expressions `rest`, updating rows whose key exists.

    The set-based counterpart of `core.db.upsert`: `columns` maps each column to its SQL
    expression; `created_at` is kept on update; a `:now` parameter is typed as a timestamp.
    """
    table = getattr(model, "__table__", model)
    key = [c.name for c in table.primary_key.columns]
    update = [c for c in columns if c not in key and c != "created_at"]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns.values())} {rest} "
        f"{d.upsert_clause(key, update)}"
    )
    return typed(sql, "now")
