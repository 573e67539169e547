"""Writing and reading raw tables: one row per API record exactly as received."""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, delete, select

from core.db import Database, insert_rows
from core.dialect import typed
from core.models import utcnow


def raw_params(**params: Any) -> str:
    """DevLake's `params` column: the scope as compact JSON, e.g. {"ConnectionId":1,"ScopeId":"X"}."""
    return json.dumps(params, separators=(",", ":"), sort_keys=False)


@dataclass(frozen=True)
class RawRecord:
    id: int
    params: str
    data: Any  # the decoded JSON record
    url: str | None


@dataclass(frozen=True)
class _Page:
    body: bytes
    path: str
    url: str | None
    records: int


@functools.lru_cache(maxsize=64)
def _split_statement(table: Table) -> Any:
    """SQLite: one raw row per element of the page's list, as the JSON text of the element."""
    return typed(
        f"INSERT INTO {table.name} (params, data, url, input, created_at) "
        "SELECT :params, value, :url, NULL, :now FROM json_each(CAST(:body AS TEXT), :path)",
        "now",
    )


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
        self._buffer: list[dict[str, Any] | _Page] = []
        self._pending = 0  # records in the buffer
        self._lock = threading.Lock()
        # SQLite splits a page into records itself (json_each, in C): no Python object per record
        self._split_pages = db.dialect == "sqlite"

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
        self._append(rows, len(rows))

    def add_page(self, records: list[Any], body: bytes, key: str, *, url: str | None = None) -> None:
        """The records of a page, `body` being the page as received and `records` its `key` list."""
        if not self._split_pages:
            self.add_many(records, url=url)
            return
        self._append([_Page(body, f"$.{key}", url, len(records))], len(records))

    def _append(self, entries: list[dict[str, Any] | _Page], records: int) -> None:
        with self._lock:
            self._buffer.extend(entries)
            self._pending += records
            if self._pending < self.batch_size:
                return
            entries, self._buffer, self._pending = self._buffer, [], 0
        self._write(entries)

    def flush(self) -> None:
        with self._lock:
            entries, self._buffer, self._pending = self._buffer, [], 0
        self._write(entries)

    def _write(self, entries: list[dict[str, Any] | _Page]) -> None:
        if not entries:
            return
        with self.db.session() as s:
            # in arrival order: runs of plain rows, runs of pages
            for is_page, run in itertools.groupby(entries, key=lambda e: isinstance(e, _Page)):
                batch = list(run)
                if is_page:
                    now = utcnow()
                    s.execute(
                        _split_statement(self.table),
                        [
                            {"params": self.params, "url": p.url, "now": now, "body": p.body, "path": p.path}
                            for p in batch
                        ],
                    )
                    self.count += sum(p.records for p in batch)  # type: ignore[union-attr]
                else:
                    insert_rows(s, self.table, batch)  # type: ignore[arg-type]
                    self.count += len(batch)

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
