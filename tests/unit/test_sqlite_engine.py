"""SQLite engines: process-wide settings made before the first connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from core.db import Database, fill_temporary

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
