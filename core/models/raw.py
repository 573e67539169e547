"""Raw tables `_raw_<plugin>_<entity>`: API records exactly as received."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from core.models.base import Base, BigIntId, JsonType, LongText, UTCDateTime, utcnow


def raw_table(plugin: str, entity: str) -> Table:
    """Declare (once) the raw table of a plugin's entity on the shared metadata."""
    name = f"_raw_{plugin}_{entity}"
    if name in Base.metadata.tables:
        return Base.metadata.tables[name]
    return Table(
        name,
        Base.metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("params", String(255), nullable=False),
        Column("data", LongText, nullable=False),
        Column("url", Text()),
        Column("input", JsonType),
        Column("created_at", UTCDateTime(), default=utcnow),
        Index(f"ix_{name}_params", "params"),
    )
