"""Throwaway databases for tests: a SQLite file and a MariaDB/MySQL database per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MYSQL_SERVER_URL = os.environ.get("INCIDENTLAKE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
REQUIRE_MYSQL = os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(
    os.environ.get("INCIDENTLAKE_TEST_REQUIRE_MYSQL")
)


def mysql_available() -> str | None:
    """None when the MariaDB server answers, else the reason it does not."""
    try:
        engine = create_engine(MYSQL_SERVER_URL, pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@contextmanager
def throwaway_mysql(prefix: str = "il_test") -> Iterator[str]:
    """A fresh utf8mb4 database, dropped afterwards; yields its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = create_engine(MYSQL_SERVER_URL)
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield make_url(MYSQL_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


@contextmanager
def throwaway_sqlite(directory: str) -> Iterator[str]:
    path = os.path.join(directory, f"il_{uuid.uuid4().hex[:8]}.db")
    yield f"sqlite:///{path}"
