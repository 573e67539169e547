"""Engine, sessions and the one upsert helper every write in the project goes through."""

from __future__ import annotations

import functools
import itertools
import random
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.schema import Column

from core.models.base import UTCDateTime
from core.sqlite_checkpoint import JOURNAL_LIMIT_BYTES, WalCheckpointer

# SQLite accepts 32766 bound parameters per statement; stay well below.
_SQLITE_MAX_VARS = 30000
DEFAULT_BATCH = 1000
# MySQL/MariaDB: 1213 deadlock victim, 1205 lock wait timeout (the session then rolls back).
_MYSQL_RETRYABLE = {1205, 1213}
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or opened; the message says which and why."""


SQLITE_CONFIG_MEMSTATUS = 9  # sqlite3.h
_SQLITE_CONFIG_LOCK = threading.Lock()


@functools.cache
def sqlite_without_memory_statistics() -> bool:
    """Turn off SQLite's allocation statistics for this process; True once they are off.

    SQLite counts every allocation under one process-wide mutex (SQLITE_CONFIG_MEMSTATUS,
    on by default), so threads that sort or parse side by side (the `/dora` queries, a
    collector and the extractor following it) take turns instead of using both cores: two
    metric queries took 0.87 s together against 0.55 s each, and 0.52 s with it off. The
    setting can only change while SQLite holds nothing, so this runs before this process's
    first engine and does nothing if a connection is already open (memory is in use), if
    the library was built with statistics off (then that test proves nothing), or if the
    sqlite3 module's library does not export the calls. Not on macOS, whose arm64 calling
    convention passes sqlite3_config's variadic argument where ctypes does not put it.
    """
    if sys.platform == "darwin":
        return False
    with _SQLITE_CONFIG_LOCK:
        try:
            import _sqlite3
            import ctypes

            lib = ctypes.CDLL(_sqlite3.__file__)  # resolves to the SQLite the sqlite3 module uses
            if lib.sqlite3_compileoption_used(b"DEFAULT_MEMSTATUS=0"):
                return False
            lib.sqlite3_memory_used.restype = ctypes.c_int64
            if lib.sqlite3_memory_used() != 0 or lib.sqlite3_shutdown() != 0:
                return False
            changed = lib.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == 0
            return lib.sqlite3_initialize() == 0 and changed
        except (ImportError, OSError, AttributeError):
            return False


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for our workload on SQLite (WAL, immediate transactions) or MySQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        sqlite_without_memory_statistics()
        # SQLite has one writer at a time; a waiting connection polls in sleeps of up to 100 ms.
        # This process's threads queue on a semaphore instead and start the moment the writer
        # before them finishes (held from BEGIN to the end of COMMIT/ROLLBACK, like SQLite's
        # own lock; other processes still meet SQLite's lock, and after 60 s we fall back to it).
        writer = threading.Semaphore(1)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 60, "factory": _WriterConnection},
            **kwargs,
        )
        file = sqlite_file(parsed)
        # URI file names (file:…) keep SQLite's own checkpoints
        checkpointer = WalCheckpointer(file, engine) if file and not file.startswith("file:") else None
        if checkpointer is not None:
            _CHECKPOINTERS[engine] = checkpointer
            event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN IMMEDIATE: deferred
            # transactions that later write can deadlock each other under concurrency.
            dbapi_conn.isolation_level = None
            dbapi_conn.writer = writer
            cur = dbapi_conn.cursor()
            # 64 KB pages (a new database only; an existing one keeps its size): raw tables hold
            # records of a few KB, and bulk writes and scans touch far fewer pages
            cur.execute("PRAGMA page_size=65536")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            if checkpointer is not None:  # it checkpoints; commits never do (sqlite_checkpoint)
                checkpointer.ensure_running()  # also after a dispose, when the engine is used again
                cur.execute("PRAGMA wal_autocheckpoint=0")
                cur.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT_BYTES}")
            # set-based extract/convert fill temporary tables per batch: keep them off the disk
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            dbapi_conn = conn.connection.driver_connection
            dbapi_conn.acquire_writer()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer()
                raise

        @event.listens_for(engine.pool, "checkin")  # after the pool's reset (a rollback) ran
        def _sqlite_checkin(dbapi_connection: Any, _record: Any) -> None:
            if dbapi_connection is not None:
                dbapi_connection.release_writer()

        return engine
    if backend in ("mysql", "mariadb"):
        query = dict(parsed.query)
        query.setdefault("charset", "utf8mb4")
        parsed = parsed.set(query=query)
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_recycle", 3600)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        return create_engine(parsed, isolation_level="READ COMMITTED", **kwargs)
    raise DatabaseUnavailable(f"unsupported database backend {backend!r}")


class _WriterConnection(sqlite3.Connection):
    """A SQLite connection that holds its engine's writer semaphore from BEGIN IMMEDIATE until
    its COMMIT or ROLLBACK has run, or it is closed (the pool closes an invalidated connection
    without a rollback). (SQLAlchemy's commit event fires before the COMMIT: a writer released
    there met SQLite's lock still held by the COMMIT writing its pages to the log, and slept in
    SQLite's busy handler, 1 ms, then 2, then 5, …, while the lock sat free.) A COMMIT that
    fails releases it too; the next writer then waits in SQLite's busy handler until the
    rollback that follows ends the transaction."""

    writer: threading.Semaphore | None = None
    _holds = False

    def acquire_writer(self) -> None:
        if not self._holds and self.writer is not None:
            self._holds = self.writer.acquire(timeout=60)

    def release_writer(self) -> None:
        if self._holds:
            self._holds = False
            self.writer.release()  # type: ignore[union-attr]  # held: it was acquired

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer()


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()
_READERS: dict[str, Engine] = {}
_READERS_LOCK = threading.Lock()
READER_MMAP_BYTES = 2**30


def sqlite_file(url: URL) -> str | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return None if url.query.get("mode") == "memory" else url.database


def reader_engine(url: URL, **kwargs: Any) -> Engine:
    """Plain read connections to a SQLite file (no BEGIN IMMEDIATE, so no write lock): in WAL
    mode they read side by side with each other and with the writer."""
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _reader_connect)
    return engine


def sqlite_reader_engine(bind: Any) -> Engine | None:
    """One unpooled reader engine per SQLite file, shared by the process (None for :memory:):
    nothing stays open once a request is answered."""
    url = bind.engine.url  # an Engine, or a Connection a session was bound to
    if sqlite_file(url) is None:
        return None
    key = url.render_as_string(hide_password=False)
    with _READERS_LOCK:
        engine = _READERS.get(key)
        if engine is None:
            engine = _READERS[key] = reader_engine(url, poolclass=NullPool)
    return engine


def _reader_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout = 60000")
    # read the file's pages in place rather than copying each into a fresh page cache
    dbapi_connection.execute(f"PRAGMA mmap_size = {READER_MMAP_BYTES}")


def fill_temporary(conn: Connection, statements: Sequence[str], params: Mapping[str, Any]) -> None:
    """Run SQL that reads the database and writes only temporary tables, before `conn` begins
    its transaction.

    On SQLite it runs in autocommit, so it neither waits for nor holds the database's one
    write lock (a temporary table is the connection's own); the transaction that follows
    on the same connection reads the table. MySQL/MariaDB run it in a transaction of its
    own (temporary tables outlive it there too).
    """
    if conn.dialect.name != "sqlite":
        with conn.begin():
            for statement in statements:
                conn.execute(text(statement), dict(params))
        return
    driver = conn.connection.driver_connection  # isolation_level None: autocommit
    for statement in statements:
        driver.execute(statement, dict(params))


def sqlite_write_in_one_step(conn: Connection, statement: str, params: Mapping[str, Any]) -> None:
    """SQLite: one write statement as a transaction of its own, in a single call into SQLite.

    BEGIN IMMEDIATE, the statement and COMMIT are three calls, and after each one the thread
    must get Python's GIL back while it holds the write lock: up to a switch interval (5 ms)
    when the collector's threads are busy in Python. In autocommit the statement takes the
    lock, writes and commits within one call, so it waits for the GIL once, not three times.
    The engine's writer semaphore is held around it like around any transaction. Datetime
    values must already be in their stored form (see `stored_datetime`).
    """
    driver = conn.connection.driver_connection
    if driver.in_transaction:  # it would join that transaction and give its semaphore away
        raise RuntimeError("a write in one step needs a connection outside any transaction")
    driver.acquire_writer()
    try:
        driver.execute(statement, params)
    finally:
        driver.release_writer()


def stored_datetime(conn: Connection, value: Any) -> Any:
    """A datetime as the UTCDateTime columns store it on this connection's database (on SQLite
    the text SQLAlchemy writes, e.g. '2026-01-02 03:04:05.000000')."""
    process = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(value) if process else value


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with one clear line when the database cannot be used."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        raise DatabaseUnavailable(
            f"cannot connect to database {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from None


class Database:
    """Engine + session factory; the one object handed to services, tasks and routes."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._reader: Engine | None = None
        self._reader_lock = threading.Lock()
        self._utf8mb4: dict[tuple[str, str], bool] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessionmaker() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def stores_utf8mb4(self, table: str, column: str) -> bool:
        """MySQL/MariaDB: whether `table.column` keeps utf8mb4 text (asked once per column).
        A database created with another default character set has tables in it."""
        key = (table, column)
        if key not in self._utf8mb4:
            with self.reading() as s:
                charset = s.execute(
                    text(
                        "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c"
                    ),
                    {"t": table, "c": column},
                ).scalar()
            self._utf8mb4[key] = charset == "utf8mb4"
        return self._utf8mb4[key]

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads. On a SQLite file it is a plain read transaction on a
        connection of its own: it neither waits for nor holds the write lock, so a subtask
        looking up a watermark or its next batch does not queue behind a bulk write (WAL
        readers see every commit made before they begin)."""
        reader = self._read_engine()
        with Session(reader, expire_on_commit=False) if reader is not None else self.sessionmaker() as s:
            yield s  # closing ends the read transaction; loaded objects stay readable

    def _read_engine(self) -> Engine | None:
        """Pooled reader connections to the SQLite file (a new connection would first read the
        whole schema); None for MySQL and in-memory SQLite, whose sessions read as they are."""
        if sqlite_file(self.engine.url) is None:
            return None
        with self._reader_lock:
            if self._reader is None:
                self._reader = reader_engine(self.engine.url, pool_size=4, max_overflow=16)
            return self._reader

    def dispose(self) -> None:
        if self._reader is not None:
            self._reader.dispose()
        self.engine.dispose()


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _pk_names(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def upsert(
    session: Session,
    table: Table | Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    update: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Insert rows, or update them where the primary key exists; returns rows sent.

    `table` is a Table or an ORM class. `update` restricts the columns overwritten on
    conflict (default: every non-key column present in the rows; `created_at` is kept).
    Runs in batches with the DB-API's executemany, which both sqlite3 and PyMySQL turn
    into fast multi-row statements. Idempotent: running it twice gives the same rows.
    """
    tbl: Table = getattr(table, "__table__", table)
    pk = _pk_names(tbl)
    dialect = session.get_bind().dialect.name
    total = 0
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return 0
    cols = list(first.keys())
    update_cols = [c for c in (update if update is not None else cols) if c not in pk and c != "created_at"]
    if "updated_at" in tbl.c and "updated_at" not in update_cols:
        update_cols.append("updated_at")  # filled by the column default on every insert
    if dialect == "sqlite":
        size = max(1, min(batch_size, _SQLITE_MAX_VARS // max(1, len(cols))))
    else:
        size = batch_size
    stmt = _upsert_stmt(dialect, tbl, tuple(pk), tuple(update_cols))
    plan = _BulkPlan(session, tbl, stmt, cols)
    for chunk in batched(itertools.chain([first], it), size):
        plan.execute(chunk)
        total += len(chunk)
    return total


def insert_rows(session: Session, table: Table | Any, rows: list[Mapping[str, Any]]) -> int:
    """Plain batched INSERT (append-only tables such as raw tables), on the same fast path."""
    if not rows:
        return 0
    tbl: Table = getattr(table, "__table__", table)
    plan = _BulkPlan(session, tbl, _insert_stmt(tbl), list(rows[0].keys()))
    for chunk in batched(rows, DEFAULT_BATCH):
        plan.execute(chunk)
    return len(rows)


class _BulkPlan:
    """Compile an INSERT once and run executemany on the DB-API cursor with pre-processed values.

    SQLAlchemy's per-row parameter handling costs more than the database itself on large
    batches; this keeps its SQL and its type conversions (bind processors) but applies them in
    one tight loop. Python-side column defaults (created_at, updated_at) are filled per batch.
    """

    def __init__(self, session: Session, tbl: Table, stmt: Any, cols: list[str]) -> None:
        self.session = session
        dialect = session.get_bind().dialect
        self.defaults, self.sql, self.positional, self.order, self.processors = _compile_plan(
            dialect, tbl, stmt, tuple(cols)
        )

    def execute(self, chunk: list[Mapping[str, Any]]) -> None:
        # defaults are one value per batch: convert them once, not once per row
        extra = {}
        for name, d in self.defaults.items():
            value = d.arg(None) if d.is_callable else d.arg  # type: ignore[union-attr]
            proc = self.processors[self.order.index(name)]
            extra[name] = value if value is None or proc is None else proc(value)
        # one tight comprehension per batch: this loop runs for every value written
        conn = self.session.connection()
        if not self.positional:
            getters = [(n, p) for n, p in zip(self.order, self.processors, strict=True) if n not in extra]
            conn.exec_driver_sql(
                self.sql,
                [
                    {
                        **{n: (v if (v := row.get(n)) is None or p is None else p(v)) for n, p in getters},
                        **extra,
                    }
                    for row in chunk
                ],
            )
            return
        # positional: (name, processor, constant); a default's slot has no name
        slots = [
            (None, None, extra[n]) if n in extra else (n, p, None)
            for n, p in zip(self.order, self.processors, strict=True)
        ]
        conn.exec_driver_sql(
            self.sql,
            [
                tuple(
                    [
                        c if n is None else (v if (v := row.get(n)) is None or p is None else p(v))
                        for n, p, c in slots
                    ]
                )
                for row in chunk
            ],
        )


@functools.lru_cache(maxsize=512)
def _compile_plan(dialect: Any, tbl: Table, stmt: Any, cols: tuple[str, ...]) -> tuple[Any, ...]:
    """Compiled SQL and bind processors, cached: one-row upserts (API writes) would otherwise
    spend most of their time compiling the same statement again."""
    defaults = {
        c.name: c.default
        for c in tbl.columns
        if c.name not in cols
        and c.default is not None
        and (getattr(c.default, "is_scalar", False) or getattr(c.default, "is_callable", False))
    }
    keys = list(cols) + list(defaults)
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or []) if compiled.positional else keys
    processors = [
        tbl.c[name].type.dialect_impl(dialect).bind_processor(dialect) if name in tbl.c else None
        for name in order
    ]
    return defaults, str(compiled), compiled.positional, order, processors


@functools.lru_cache(maxsize=128)
def _insert_stmt(tbl: Table) -> Any:
    return tbl.insert()  # one object per table, so the compiled plan cache hits


@functools.lru_cache(maxsize=512)
def _upsert_stmt(dialect: str, tbl: Table, pk: tuple[str, ...], update_cols: tuple[str, ...]) -> Any:
    if dialect == "sqlite":
        ins = sqlite.insert(tbl)
        if not update_cols:
            return ins.on_conflict_do_nothing(index_elements=pk)
        return ins.on_conflict_do_update(index_elements=pk, set_={c: ins.excluded[c] for c in update_cols})
    if dialect in ("mysql", "mariadb"):
        ins = mysql.insert(tbl)
        if not update_cols:
            # a no-op assignment keeps the existing row, as ON CONFLICT DO NOTHING does
            first_pk: Column[Any] = tbl.c[pk[0]]
            return ins.on_duplicate_key_update({first_pk.name: first_pk})
        return ins.on_duplicate_key_update({c: ins.inserted[c] for c in update_cols})
    raise DatabaseUnavailable(f"upsert not supported on {dialect}")


def is_lock_conflict(exc: BaseException) -> bool:
    """True when the database aborted a transaction only because another one held a lock."""
    if not isinstance(exc, DBAPIError):
        return False
    args = getattr(exc.orig, "args", ()) or ()
    if args and args[0] in _MYSQL_RETRYABLE:
        return True
    return "database is locked" in str(exc.orig).lower()


def retry_on_deadlock(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.02) -> T:
    """Run `fn` (one whole transaction) again when it lost a deadlock or a lock wait.

    Concurrent upserts of the same new keys can deadlock on MySQL/MariaDB (gap and
    insert-intention locks); the victim's transaction is rolled back whole, so running it
    again is safe. Jittered exponential backoff keeps the retries from colliding again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts or not is_lock_conflict(exc):
                raise
            time.sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")
