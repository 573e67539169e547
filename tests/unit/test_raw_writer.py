"""RawWriter: records stored as received, in order, written on its own thread, errors surfaced."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from sqlalchemy import event, select, text

from core.collect import RawWriter, iter_raw, raw_params
from core.collect.raw import _Page, _statement_runs
from core.db import Database
from plugins.pagerduty.models import RAW_INCIDENTS

PARAMS = raw_params(ConnectionId=1, ScopeId="PTEST")


def _stored(db: Database) -> list[tuple[str, str | None]]:
    with db.session() as s:
        t = RAW_INCIDENTS
        return [
            (r.data, r.url)
            for r in s.execute(select(t.c.data, t.c.url).where(t.c.params == PARAMS).order_by(t.c.id))
        ]


def test_json_records_are_stored_byte_for_byte_in_arrival_order(db: Database) -> None:
    pages = [
        [
            b'{"incident_number": %d, "title": "caf\\u00e9 \xe2\x98\x95",  "spaced" : [1, 2]}' % (p * 100 + i)
            for i in range(100)
        ]
        for p in range(23)
    ]
    with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=250, queued=2) as writer:
        for p, page in enumerate(pages):
            writer.add_json(page, url=f"/incidents?offset={p * 100}")
        writer.add_json([])
    stored = _stored(db)
    assert [data for data, _ in stored] == [r.decode() for page in pages for r in page]
    # a batch's pages go in one statement: each record keeps its own page's URL
    assert [url for _, url in stored] == [
        f"/incidents?offset={p * 100}" for p in range(23) for _ in range(100)
    ]
    assert writer.count == 2300
    decoded = [r.data["incident_number"] for batch in iter_raw(db, RAW_INCIDENTS, PARAMS) for r in batch]
    assert decoded == list(range(2300))


def test_records_and_json_text_mix_in_order(db: Database) -> None:
    with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=2) as writer:
        writer.add({"n": 1})
        writer.add_json([b'{"n":2}', b'{"n":3}'])
        writer.add_many([{"n": 4}, '{"n":5}'])
    assert [orjson.loads(data)["n"] for data, _ in _stored(db)] == [1, 2, 3, 4, 5]


def test_a_batch_of_pages_is_one_insert_keeping_each_page_url(db: Database) -> None:
    """A batch's pages go in one statement (on SQLite one step, a transaction of its own: no
    BEGIN or COMMIT around it); an empty page or one without a URL in the middle shifts nothing."""
    inserts: list[str] = []
    traced: list[str] = []  # SQLite: what each connection ran, as SQLite saw it

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO _RAW_PAGERDUTY_INCIDENTS"):
            inserts.append(statement)

    def trace(dbapi_conn: Any, *_: object) -> None:
        dbapi_conn.set_trace_callback(traced.append)

    def untrace(dbapi_conn: Any, *_: object) -> None:
        dbapi_conn.set_trace_callback(None)

    sqlite = db.dialect == "sqlite"
    listeners = [("before_cursor_execute", count)]
    if sqlite:
        listeners += [("checkout", trace), ("checkin", untrace)]
    for name, fn in listeners:
        event.listen(db.engine, name, fn)
    try:
        with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=6, queued=1) as writer:
            page = [b'{"n":1}', b'{"n":2}']
            writer.add_json(page, url="/a")
            page.clear()  # the writer keeps what it was given, not the caller's list
            writer.add_json([], url="/empty")
            writer.add_json([b'{"n":3}'], url=None)
            writer.add_json([b'{"n":4}', b'{"n":5}', b'{"n":6}'], url="/b")
    finally:
        for name, fn in listeners:
            event.remove(db.engine, name, fn)
    stored = [(orjson.loads(data)["n"], url) for data, url in _stored(db)]
    assert stored == [(1, "/a"), (2, "/a"), (3, None), (4, "/b"), (5, "/b"), (6, "/b")]
    if sqlite:
        assert [t.split(" (")[0] for t in traced] == ["INSERT INTO _raw_pagerduty_incidents"]
    else:
        assert len(inserts) == 1  # MySQL/MariaDB: one executemany of the batch's rows


def test_a_statement_takes_pages_up_to_a_size() -> None:
    pages = [_Page((b"x" * 40, b"y" * 40), None), _Page((b"z" * 30,), None), _Page((b"w" * 200,), None)]
    assert [len(run) for run in _statement_runs(pages, limit=110)] == [2, 1]
    assert [len(run) for run in _statement_runs(pages, limit=100)] == [1, 1, 1]
    assert list(_statement_runs([], limit=100)) == []


def test_quotes_backslashes_and_non_ascii_come_back_as_the_same_text(db: Database) -> None:
    """MySQL/MariaDB are sent each record's bytes (not escaped text); both must store text."""
    record = {"title": 'it\'s a "quote", a \\ backslash,\na new line, caf\u00e9 \U0001f525 and \u0000'}
    with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=1) as writer:
        writer.add_many([record])
        writer.add_json([orjson.dumps(record)])
    stored = [data for data, _ in _stored(db)]
    assert all(isinstance(data, str) for data in stored)
    assert [orjson.loads(data) for data in stored] == [record, record]
    assert stored[1] == orjson.dumps(record).decode()


def test_a_data_column_in_another_character_set_is_sent_text(db: Database) -> None:
    """Bytes would be stored unconverted in a latin1 column (café as cafÃ©): text is sent."""
    if db.dialect == "sqlite":
        pytest.skip("MySQL/MariaDB column character sets")
    alter = f"ALTER TABLE {RAW_INCIDENTS.name} MODIFY data LONGTEXT CHARACTER SET {{}} NOT NULL"
    with db.session() as s:
        s.execute(text(alter.format("latin1")))
    try:
        record = {"title": "caf\u00e9"}
        with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=1) as writer:
            writer.add_many([record])
            writer.add_json([orjson.dumps(record)])
        assert [orjson.loads(data) for data, _ in _stored(db)] == [record, record]
    finally:
        with db.session() as s:
            s.execute(text(alter.format("utf8mb4")))


def test_no_writer_thread_outlives_a_flush(db: Database) -> None:
    writer = RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=1)
    writer.add_json([b'{"n":1}'])
    assert any(t.name.startswith("raw-writer") for t in threading.enumerate())
    writer.flush()
    assert not any(t.name.startswith("raw-writer") for t in threading.enumerate())
    writer.add_json([b'{"n":2}'])  # usable again after a flush
    writer.flush()
    assert len(_stored(db)) == 2


def test_a_failed_write_is_raised_and_later_batches_still_land(db: Database) -> None:
    writer = RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=1, queued=100)
    original = writer._write
    calls = {"n": 0}

    def flaky(entries: list) -> None:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        original(entries)

    writer._write = flaky  # type: ignore[method-assign]
    errors = []
    for n in range(4):
        try:
            writer.add_json([b'{"n":%d}' % n])
        except RuntimeError as exc:  # raised by a later hand-over when the write already failed
            errors.append(str(exc))
    try:
        writer.flush()
    except RuntimeError as exc:  # or by the flush
        errors.append(str(exc))
    assert errors == ["disk full"]
    assert [orjson.loads(data)["n"] for data, _ in _stored(db)] == [0, 2, 3]


def test_an_error_inside_the_writer_block_keeps_what_arrived(db: Database) -> None:
    try:
        with RawWriter(db, RAW_INCIDENTS, PARAMS, batch_size=1) as writer:
            writer.add_json([b'{"n":1}', b'{"n":2}'])
            raise KeyError("page 3 failed")
    except KeyError:
        pass
    assert [orjson.loads(data)["n"] for data, _ in _stored(db)] == [1, 2]
    assert not any(t.name.startswith("raw-writer") for t in threading.enumerate())
