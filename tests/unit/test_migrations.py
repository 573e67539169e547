"""The schema comes only from Alembic, and it goes up, down and up again on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from core.db import Database
from core.migrate import downgrade, head_revisions, is_up_to_date, upgrade
from core.models import Base
from tests.support.databases import throwaway_mysql


@pytest.fixture(params=["sqlite", "mysql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, _mysql_reason: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        if _mysql_reason:
            pytest.skip(f"MariaDB unavailable: {_mysql_reason}")
        with throwaway_mysql("il_mig") as url:
            yield url


def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        return set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    upgrade(empty_url)
    expected = set(Base.metadata.tables)
    assert expected <= _tables(empty_url)
    downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    upgrade(empty_url)
    assert expected <= _tables(empty_url)
    db = Database(empty_url)
    try:
        assert is_up_to_date(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM dora_benchmarks")).scalar() == 8
            reports = conn.execute(text("SELECT DISTINCT dora_report FROM dora_benchmarks")).scalars().all()
            assert sorted(reports) == ["2021", "2023"]
            assert conn.execute(text("SELECT COUNT(*) FROM calendar_months")).scalar() >= 12 * 20
            month = conn.execute(text("SELECT month FROM calendar_months WHERE month = '24/03'")).scalar()
            assert month == "24/03"
    finally:
        db.dispose()


def test_models_match_migrations(db: Database) -> None:
    """Every column the models declare exists in the migrated schema."""
    insp = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in insp.get_columns(table.name)}
        missing = {c.name for c in table.columns} - columns
        assert not missing, f"{table.name} lacks {missing}: add a migration"


def test_extension_columns_on_issues_and_incidents(db: Database) -> None:
    insp = inspect(db.engine)
    for table in ("issues", "incidents"):
        cols = {c["name"] for c in insp.get_columns(table)}
        assert {"environment", "service", "team", "commit_sha", "version"} <= cols


def test_datetime_has_milliseconds_on_mysql(db: Database) -> None:
    if db.dialect != "mysql":
        pytest.skip("MySQL-only column type")
    with db.engine.connect() as conn:
        ddl = conn.execute(text("SHOW CREATE TABLE issues")).fetchone()[1]
    assert "`created_date` datetime(3)" in ddl


def test_heads_known() -> None:
    assert head_revisions("sqlite://")


def _declared_indexes(table: Any, dialect: str) -> dict[str, list[str]]:
    out = {}
    for index in table.indexes:
        only = index._ddl_if  # Index.ddl_if(dialect=...): created on that backend only
        if only is not None and only.dialect is not None:
            names = (only.dialect,) if isinstance(only.dialect, str) else tuple(only.dialect)
            if dialect not in names:
                continue
        out[index.name] = [c.name for c in index.columns]
    return out


def test_indexes_match_migrations(db: Database) -> None:
    """The indexes the migrations create are the ones the models declare, and back."""
    insp = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        declared = _declared_indexes(table, db.dialect)
        migrated = {i["name"]: list(i["column_names"]) for i in insp.get_indexes(table.name)}
        for name, columns in declared.items():
            assert migrated.get(name) == columns, (
                f"{table.name}.{name}: declared {columns}, migrated {migrated.get(name)}"
            )
        undeclared = {n for n in migrated if n.startswith("ix_")} - set(declared)
        assert not undeclared, (
            f"{table.name}: {undeclared} created by a migration but not declared on the model"
        )
