"""SQLite engines: process-wide settings made before the first connection."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import _CHECKPOINTERS, Database, fill_temporary, sqlite_write_in_one_step, stored_datetime

SCRIPT = """
import ctypes, sys, _sqlite3
from core.db import Database, sqlite_without_memory_statistics
lib = ctypes.CDLL(_sqlite3.__file__)
lib.sqlite3_memory_used.restype = ctypes.c_int64
db = Database(sys.argv[1])
with db.engine.connect() as conn:
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    # statistics off: SQLite no longer counts what the open connection holds
    print(sqlite_without_memory_statistics(), lib.sqlite3_memory_used())
"""


def _fresh_process(script: str, tmp_path: Path) -> list[str]:
    """What `script` prints in a new Python process, given a SQLite URL."""
    out = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return out.stdout.split()


def test_first_engine_turns_sqlite_allocation_statistics_off(tmp_path: Path) -> None:
    """Fresh process: the first engine switches SQLite's allocation counting (one global
    mutex) off, and connections work as before."""
    assert _fresh_process(SCRIPT, tmp_path) == ["True", "0"]


def test_an_open_connection_leaves_sqlite_as_it_is(tmp_path: Path) -> None:
    script = SCRIPT.replace(
        "db = Database", "import sqlite3; keep = sqlite3.connect(':memory:')\ndb = Database"
    )
    flag, used = _fresh_process(script, tmp_path)
    assert flag == "False" and int(used) > 0


def test_fill_temporary_runs_beside_the_writer(tmp_path: Path) -> None:
    """Parsing into a temporary table neither waits for nor takes SQLite's write lock, and the
    transaction that follows on the same connection reads the table."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE src (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO src VALUES (1), (2)")
    with db.session() as writer, db.engine.connect() as conn:
        writer.execute(text("INSERT INTO src VALUES (3)"))  # holds the write lock until the end
        fill_temporary(conn, ["CREATE TEMP TABLE picked AS SELECT x FROM src WHERE x > :lo"], {"lo": 1})
        assert conn.connection.driver_connection.execute("SELECT x FROM picked").fetchall() == [(2,)]
    with db.engine.connect() as conn:
        fill_temporary(conn, ["CREATE TEMP TABLE again AS SELECT x FROM src WHERE x > :lo"], {"lo": 1})
        with conn.begin():
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM again").scalar() == 2
    db.dispose()


def test_commits_leave_the_log_to_the_checkpoint_thread(tmp_path: Path) -> None:
    """Commits never checkpoint; the engine's thread does, once the log passes its threshold,
    and it stops with the database."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    checkpointer = _CHECKPOINTERS[db.engine]
    checkpointer.threshold = 1024 * 1024
    wal = Path(f"{tmp_path / 'c.db'}-wal")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        conn.commit()
        for _ in range(40):  # 40 commits of 64 KB pages: past the threshold
            with conn.begin():
                conn.exec_driver_sql("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints >= 1
    # the rows' pages were copied from the log into the database file (4 MB of rows)
    assert (tmp_path / "c.db").stat().st_size > 3_000_000 and wal.exists()
    # an unchanged log is not checkpointed again
    time.sleep(0.3)
    done = checkpointer.checkpoints
    time.sleep(0.3)
    assert checkpointer.checkpoints == done
    db.engine.dispose()  # as migrations do: the thread stops with the engine's pool ...
    assert not checkpointer.running
    with db.engine.connect() as conn:  # ... and starts again when the engine is used again
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 40
    assert checkpointer.running
    db.dispose()
    assert not checkpointer.running


def test_memory_databases_have_no_checkpoint_thread() -> None:
    db = Database("sqlite://")
    assert db.engine not in _CHECKPOINTERS
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    db.dispose()


def _database_with(file: Path, ddl: str) -> Database:
    db = Database(f"sqlite:///{file}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    return db


def _free(writer: threading.Semaphore) -> bool:
    """Whether no connection holds the writer semaphore (looked at without taking it)."""
    if not writer.acquire(blocking=False):
        return False
    writer.release()
    return True


def test_the_writer_semaphore_is_held_until_commit_and_rollback_have_run(tmp_path: Path) -> None:
    """The next writer of this process starts only once COMMIT (or ROLLBACK) has run: released
    before it, the next BEGIN IMMEDIATE met SQLite's lock and slept in its busy handler."""
    db = _database_with(tmp_path / "w.db", "CREATE TABLE t (x INTEGER)")
    seen: list[tuple[str, bool]] = []
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        writer = driver.writer

        def trace(statement: str) -> None:
            if statement in ("COMMIT", "ROLLBACK"):
                seen.append((statement, _free(writer)))

        driver.set_trace_callback(trace)
        for end in (conn.commit, conn.rollback):
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")  # begins: BEGIN IMMEDIATE
            end()
            assert writer.acquire(blocking=False)  # released once it has run
            writer.release()
        driver.set_trace_callback(None)
    assert seen == [("COMMIT", False), ("ROLLBACK", False)]
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 1
    db.dispose()


def test_an_invalidated_connection_gives_the_writer_semaphore_back(tmp_path: Path) -> None:
    """The pool closes an invalidated connection without a rollback: closing releases it."""
    db = _database_with(tmp_path / "i.db", "CREATE TABLE t (x INTEGER)")
    conn = db.engine.connect()
    conn.exec_driver_sql("INSERT INTO t VALUES (1)")  # BEGIN IMMEDIATE: holds the semaphore
    writer = conn.connection.driver_connection.writer
    assert not writer.acquire(blocking=False)
    conn.invalidate()
    conn.close()
    assert writer.acquire(blocking=False)  # free again: the next writer would not wait 60 s
    writer.release()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 1  # the first was rolled back
    db.dispose()


def test_a_write_in_one_step_holds_the_semaphore_only_around_its_statement(tmp_path: Path) -> None:
    """One call into SQLite, no BEGIN or COMMIT: the statement is its own transaction, run
    under the writer semaphore, which is free again afterwards — after a failed one too."""
    db = _database_with(tmp_path / "o.db", "CREATE TABLE t (x INTEGER PRIMARY KEY, at TEXT)")
    traced: list[tuple[str, bool]] = []
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        writer = driver.writer

        driver.set_trace_callback(lambda statement: traced.append((statement, _free(writer))))
        at = stored_datetime(conn, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))  # whole seconds too
        sqlite_write_in_one_step(conn, "INSERT INTO t VALUES (:x, :at)", {"x": 1, "at": at})
        assert _free(writer)  # given back after the statement
        with pytest.raises(sqlite3.IntegrityError):
            sqlite_write_in_one_step(conn, "INSERT INTO t VALUES (:x, :at)", {"x": 1, "at": at})
        driver.set_trace_callback(None)
        assert _free(writer)  # given back after the failed statement too
    assert [free for _, free in traced] == [False, False]  # both ran holding it; nothing else ran
    with db.engine.connect() as conn:  # committed: the pool's rollback at check-in kept it
        assert conn.exec_driver_sql("SELECT x, at FROM t").all() == [(1, "2026-01-02 03:04:05.000000")]
    with db.engine.begin() as conn:  # inside a transaction it would join it and give the semaphore away
        conn.exec_driver_sql("INSERT INTO t VALUES (2, NULL)")
        with pytest.raises(RuntimeError, match="outside any transaction"):
            sqlite_write_in_one_step(conn, "INSERT INTO t VALUES (3, NULL)", {})
    db.dispose()
