"""Writing and reading raw tables: one row per API record exactly as received."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, delete, select

from core.db import Database, insert_rows, sqlite_write_in_one_step, stored_datetime
from core.models import utcnow

log = logging.getLogger("incidentlake.collect")


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
    records: tuple[bytes, ...]  # each record's JSON text as received
    url: str | None

    @property
    def count(self) -> int:
        return len(self.records)


def _unchanged(data: bytes) -> bytes:
    return data


SPLIT_BYTES = 64 * 1024 * 1024  # records per statement of a batch's pages, at most


@functools.lru_cache(maxsize=64)
def _split_statement(table: Table) -> str:
    """SQLite: one raw row per record of a run of pages, cut out of their records, joined into one
    BLOB, by byte offsets (substr on a BLOB copies bytes; nothing is parsed). `spans` holds
    [start (1-based), length, index of the page's URL in `urls`] per record: one statement per
    batch, run in one step as its own transaction (sqlite_write_in_one_step), so SQLite's write
    lock is never held waiting to get Python's GIL back (the process's writer semaphore through
    one such wait, after the step). (json_extract rather than ->>, which needs SQLite 3.38.)"""
    return (
        f"INSERT INTO {table.name} (params, data, url, input, created_at) "
        "SELECT :params, CAST(substr(:records, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')) "
        "AS TEXT), json_extract(:urls, '$[' || json_extract(j.value, '$[2]') || ']'), NULL, :now "
        "FROM json_each(:spans) j ORDER BY j.key"
    )


def _statement_runs(pages: list[_Page], limit: int = SPLIT_BYTES) -> Iterator[list[_Page]]:
    """Consecutive pages holding at most `limit` bytes of records together (a page larger than
    that alone): one BLOB per statement stays far below SQLite's length limit (1 GB)."""
    run: list[_Page] = []
    size = 0
    for page in pages:
        page_size = sum(map(len, page.records))
        if run and size + page_size > limit:
            yield run
            run, size = [], 0
        run.append(page)
        size += page_size
    if run:
        yield run


def _split_arguments(pages: list[_Page]) -> dict[str, Any]:
    """The records, spans and URLs of `_split_statement` for a run of pages."""
    spans, start = [], 1
    for index, page in enumerate(pages):
        for record in page.records:
            spans.append((start, len(record), index))
            start += len(record)
    return {
        "records": b"".join(itertools.chain.from_iterable(p.records for p in pages)),
        "spans": orjson.dumps(spans).decode(),
        "urls": orjson.dumps([p.url for p in pages]).decode(),
    }


class RawWriter:
    """Buffers records of one scope and inserts them in batches, in order, on a writer thread of
    its own; thread-safe.

    Records are stored as the JSON text received so re-extraction never needs the network. The
    collector hands a full batch over and goes on fetching while it is written (on SQLite the
    insert may first wait for the one write lock, held by the extract running beside it); at most
    `queued` batches wait, so memory stays bounded and a slow database slows the collector down.
    `flush` writes the rest, waits for every batch and raises the first write error.
    """

    def __init__(
        self, db: Database, table: Table, params: str, *, batch_size: int = 500, queued: int = 8
    ) -> None:
        self.db = db
        self.table = table
        self.params = params
        self.batch_size = batch_size
        self.queued = queued
        self.count = 0
        self._buffer: list[dict[str, Any] | _Page] = []
        self._pending = 0  # records in the buffer
        self._lock = threading.Lock()
        self._handoff = threading.Lock()  # batches reach the writer thread in the order they filled
        self._pool: ThreadPoolExecutor | None = None
        self._writes: deque[Future[None]] = deque()
        # SQLite cuts a page into records itself (in C): no Python object or bound row per record
        self._split_pages = db.dialect == "sqlite"
        # MySQL/MariaDB get each record's UTF-8 bytes: PyMySQL sends bytes as a hex literal, some
        # twenty times cheaper than escaping the text character by character (which held the
        # GIL for ~12 s per 100,000 PagerDuty incidents); a utf8mb4 column keeps them as the
        # text they encode (another character set would keep them unconverted, so it is sent
        # text). A hex literal is twice the record's size: records of a few KB, well within
        # max_allowed_packet. SQLite would keep bytes as a BLOB, so it is given text.
        as_bytes = db.dialect != "sqlite" and db.stores_utf8mb4(table.name, "data")
        self._data: Callable[[bytes], str | bytes] = _unchanged if as_bytes else bytes.decode

    def add(self, record: Any, *, url: str | None = None, input: Any = None) -> None:
        self.add_many([record], url=url, input=input)

    def add_many(self, records: list[Any], *, url: str | None = None, input: Any = None) -> None:
        dumps, data = orjson.dumps, self._data
        rows = [self._row(r if isinstance(r, str) else data(dumps(r)), url, input) for r in records]
        self._append(rows, len(rows))

    def _row(self, data: str | bytes, url: str | None, input: Any) -> dict[str, Any]:
        # created_at is filled once per batch, by the insert's column default
        return {"params": self.params, "data": data, "url": url, "input": input}

    def add_json(self, records: list[bytes], *, url: str | None = None) -> None:
        """Records given as the JSON text received (e.g. a RecordPage's), stored as they are."""
        if not self._split_pages:
            self._append([self._row(self._data(r), url, None) for r in records], len(records))
            return
        self._append([_Page(tuple(records), url)], len(records))  # the caller may reuse its list

    def _append(self, entries: list[dict[str, Any] | _Page], records: int) -> None:
        with self._handoff:
            with self._lock:
                self._buffer.extend(entries)
                self._pending += records
                if self._pending < self.batch_size:
                    return
                entries, self._buffer, self._pending = self._buffer, [], 0
            self._submit(entries)

    def _submit(self, entries: list[dict[str, Any] | _Page]) -> None:
        """Queue a batch for the writer thread (caller holds _handoff); wait while too many are queued."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-writer")
        self._writes.append(self._pool.submit(self._write, entries))
        while self._writes and (self._writes[0].done() or len(self._writes) > self.queued):
            self._writes.popleft().result()  # raises a failed write's error here, early

    def flush(self) -> None:
        with self._handoff:
            with self._lock:
                entries, self._buffer, self._pending = self._buffer, [], 0
            pool, writes, self._pool, self._writes = self._pool, self._writes, None, deque()
        if pool is None:
            self._write(entries)
            return
        writes.append(pool.submit(self._write, entries))
        pool.shutdown(wait=True)  # no thread outlives a flush
        for write in writes:
            write.result()  # the first failed write's error

    def _write(self, entries: list[dict[str, Any] | _Page]) -> None:
        # in arrival order: runs of plain rows, runs of pages
        for is_page, run in itertools.groupby(entries, key=lambda e: isinstance(e, _Page)):
            batch = list(run)
            if is_page:
                self._write_pages(batch)  # type: ignore[arg-type]
            else:
                with self.db.session() as s:
                    insert_rows(s, self.table, batch)  # type: ignore[arg-type]
                self.count += len(batch)

    def _write_pages(self, pages: list[_Page]) -> None:
        """SQLite: each run of pages in one statement, a transaction of its own (rows of a batch
        committed apart are as safe: raw rows are only appended, and the collector's state
        advances after all of them)."""
        with self.db.engine.connect() as conn:
            now = stored_datetime(conn, utcnow())
            for run in _statement_runs(pages):
                arguments = {"params": self.params, "now": now, **_split_arguments(run)}
                sqlite_write_in_one_step(conn, _split_statement(self.table), arguments)
                self.count += sum(p.count for p in run)

    def delete_all(self) -> int:
        """Forget this scope's raw rows (a full sync collects them again)."""
        with self.db.session() as s:
            result = s.execute(delete(self.table).where(self.table.c.params == self.params))
            return int(getattr(result, "rowcount", 0) or 0)

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:  # what arrived before an error is kept
            self.flush()
        except Exception:
            if exc_type is None:
                raise
            # the block's own error is what the caller sees
            log.warning("raw writer for %s: a batch failed as well", self.table.name, exc_info=True)


def iter_raw(
    db: Database, table: Table, params: str, *, after_id: int = 0, batch_size: int = 1000
) -> Iterator[list[RawRecord]]:
    """Stream a scope's raw rows in id order, in batches (keyset pagination, never all in memory)."""
    last = after_id
    while True:
        with db.reading() as s:
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
