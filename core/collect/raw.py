"""Writing and reading raw tables: one row per API record exactly as received."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, delete, select

from core.db import Database, insert_rows


def raw_params(**params: Any) -> str:
    """DevLake's `params` column: the scope as compact JSON, e.g. {"ConnectionId":1,"ScopeId":"X"}."""
    return json.dumps(params, separators=(",", ":"), sort_keys=False)


@dataclass(frozen=True)
class RawRecord:
    id: int
    params: str
    data: Any  # the decoded JSON record
    url: str | None


class RawWriter:
    """Buffers records of one scope and inserts them in batches; thread-safe.

    Records are stored as the JSON text received so re-extraction never needs the network.
    """

    def __init__(self, db: Database, table: Table, params: str, *, batch_size: int = 500) -> None:
        self.db = db
        self.table = table
        self.params = params
        self.batch_size = batch_size
        self.count = 0
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, record: Any, *, url: str | None = None, input: Any = None) -> None:
        self.add_many([record], url=url, input=input)

    def add_many(self, records: list[Any], *, url: str | None = None, input: Any = None) -> None:
        params, dumps = self.params, orjson.dumps
        # created_at is filled once per batch, by the insert's column default
        rows = [
            {
                "params": params,
                "data": r if isinstance(r, str) else dumps(r).decode(),
                "url": url,
                "input": input,
            }
            for r in records
        ]
        with self._lock:
            self._buffer.extend(rows)
            if len(self._buffer) < self.batch_size:
                return
            rows, self._buffer = self._buffer, []
        self._write(rows)

    def flush(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
        self._write(rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.db.session() as s:
            insert_rows(s, self.table, rows)
        self.count += len(rows)

    def delete_all(self) -> int:
        """Forget this scope's raw rows (a full sync collects them again)."""
        with self.db.session() as s:
            result = s.execute(delete(self.table).where(self.table.c.params == self.params))
            return int(getattr(result, "rowcount", 0) or 0)

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.flush()


def iter_raw(
    db: Database, table: Table, params: str, *, after_id: int = 0, batch_size: int = 1000
) -> Iterator[list[RawRecord]]:
    """Stream a scope's raw rows in id order, in batches (keyset pagination, never all in memory)."""
    last = after_id
    while True:
        with db.session() as s:
            rows = s.execute(
                select(table.c.id, table.c.params, table.c.data, table.c.url)
                .where(table.c.params == params, table.c.id > last)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
        if not rows:
            return
        yield [RawRecord(r.id, r.params, _decode(r.data), r.url) for r in rows]
        last = rows[-1].id


def _decode(data: str | Mapping[str, Any]) -> Any:
    return orjson.loads(data) if isinstance(data, str | bytes) else data
