"""SQLite engines: process-wide settings made before the first connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_first_engine_turns_sqlite_allocation_statistics_off(tmp_path: Path) -> None:
    """Fresh process: the first engine switches SQLite's allocation counting (one global
    mutex) off, and connections work as before."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["True", "0"]


def test_an_open_connection_leaves_sqlite_as_it_is(tmp_path: Path) -> None:
    script = SCRIPT.replace(
        "db = Database", "import sqlite3; keep = sqlite3.connect(':memory:')\ndb = Database"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    flag, used = out.stdout.split()
    assert flag == "False" and int(used) > 0
