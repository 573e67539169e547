"""Run Grafana panel SQL outside Grafana: expand its macros and variables as Grafana would.

Grafana's MySQL data source turns `$__timeFilter(x)` into `x BETWEEN FROM_UNIXTIME(from)
AND FROM_UNIXTIME(to)` with both ends inclusive and the session in UTC. Our periods are
[from, to); at the database's millisecond precision that is exactly BETWEEN from AND
to - 1 ms, which is what we substitute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(?!__)(\w+)")


def panels(path: Path) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard file, rows' nested panels included."""

    def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in items:
            yield p
            yield from walk(p.get("panels", []))

    yield from walk(json.loads(path.read_text())["panels"])


def panel_sql(path: Path, panel_id: int) -> str:
    for p in panels(path):
        if p.get("id") == panel_id:
            return str(p["targets"][0]["rawSql"])
    raise KeyError(f"panel {panel_id} not in {path.name}")


def _epoch(ts: datetime) -> str:
    return f"FROM_UNIXTIME({ts.replace(tzinfo=UTC).timestamp():.3f})"


def expand(sql: str, start: datetime, end: datetime, variables: dict[str, str]) -> str:
    """The SQL Grafana would send for the period [start, end) and these variable values."""
    last = end - timedelta(milliseconds=1)
    out, i = [], 0
    marker = "$__timeFilter("
    while (j := sql.find(marker, i)) >= 0:
        out.append(sql[i:j])
        depth, k = 1, j + len(marker)
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[k], 0)
            k += 1
        column = sql[j + len(marker) : k - 1]
        out.append(f"{column} BETWEEN {_epoch(start)} AND {_epoch(last)}")
        i = k
    out.append(sql[i:])
    sql = "".join(out).replace("$__timeFrom()", _epoch(start)).replace("$__timeTo()", _epoch(last))

    def var(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise KeyError(f"no value for dashboard variable ${name}")
        return variables[name]

    return _VAR.sub(var, sql)


def run(conn: Connection, sql: str) -> list[dict[str, Any]]:
    """Run expanded panel SQL in a UTC session, as Grafana's MySQL data source does."""
    conn.exec_driver_sql("SET time_zone = '+00:00'")
    return [dict(r._mapping) for r in conn.execute(text(sql.replace(":", "\\:")))]
