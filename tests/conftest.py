"""Every database test runs on SQLite and on MariaDB (a throwaway database per run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from core.config import Settings
from core.context import AppContext
from core.db import Database
from core.migrate import upgrade
from core.models import Base
from core.registry import PluginRegistry
from tests.support.databases import REQUIRE_MYSQL, mysql_available, throwaway_mysql
from tests.support.fake_plugin import FakePlugin

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDED_TABLES = {"dora_benchmarks", "calendar_months", "alembic_version"}
BACKENDS = ["sqlite", "mysql"]
PluginRegistry.discover()  # imports every plugin, so its tables are on the metadata for cleanup


@pytest.fixture(scope="session")
def _mysql_reason() -> str | None:
    reason = mysql_available()
    if reason and REQUIRE_MYSQL:
        pytest.exit(f"MariaDB is required (CI) but unreachable: {reason}", returncode=3)
    return reason


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory, _mysql_reason: str | None) -> Iterator[dict[str, str]]:
    """One migrated database per backend for the whole run."""
    urls: dict[str, str] = {}
    sqlite_path = tmp_path_factory.mktemp("db") / "test.db"
    urls["sqlite"] = f"sqlite:///{sqlite_path}"
    upgrade(urls["sqlite"])
    if _mysql_reason is None:
        with throwaway_mysql() as url:
            upgrade(url)
            urls["mysql"] = url
            yield urls
    else:
        yield urls


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str], _mysql_reason: str | None) -> str:
    if request.param not in migrated_urls:
        pytest.skip(f"MariaDB unavailable: {_mysql_reason}")
    return migrated_urls[request.param]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database, emptied after the test (seed tables kept)."""
    database = Database(db_url)
    try:
        yield database
    finally:
        with database.session() as s:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in SEEDED_TABLES:
                    s.execute(delete(table))
        database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=db_url, encryption_secret="test-secret-for-unit-tests-only")


@pytest.fixture
def registry() -> PluginRegistry:
    reg = PluginRegistry.discover()
    reg.register(FakePlugin())
    return reg


@pytest.fixture
def ctx(settings: Settings, db: Database, registry: PluginRegistry) -> AppContext:
    return AppContext.build(settings, db=db, registry=registry)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return Path(os.environ.get("INCIDENTLAKE_SHARED_DIR", SHARED))
