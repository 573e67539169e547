"""Alembic environment: the URL comes from core.migrate (or INCIDENTLAKE_DB_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import core.models  # noqa: F401  (registers core tables on the metadata)
from core.config import get_settings
from core.db import make_engine
from core.models.base import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("db_url") or get_settings().db_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
