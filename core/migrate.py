"""Schema upgrades through Alembic: the only way the schema changes."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_url"] = db_url
    return cfg


def upgrade(db_url: str, revision: str = "heads") -> None:
    """Upgrade to every head: plugins may ship their own migration branches."""
    command.upgrade(alembic_config(db_url), revision)


def downgrade(db_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(db_url), revision)


def head_revisions(db_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())


def current_revisions(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_up_to_date(db: Database) -> bool:
    return current_revisions(db) == head_revisions(db.url)
