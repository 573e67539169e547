"""Incremental state per (plugin, connection, scope, entity): saved only after success."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.db import Database, upsert
from core.models import CollectorState, utcnow


@dataclass
class Watermark:
    """What a previous successful run got to."""

    time_after: datetime | None = None
    latest_success_start: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def covers(self, requested_after: datetime | None) -> bool:
        """False when a run now asks for older history than this state was collected from."""
        if self.time_after is None:
            return True
        return requested_after is not None and requested_after >= self.time_after


class StateStore:
    def __init__(self, db: Database, plugin: str, connection_id: int, scope_id: str) -> None:
        self.db = db
        self.key = {"plugin": plugin, "connection_id": connection_id, "scope_id": scope_id}

    def load(self, entity: str) -> Watermark | None:
        with self.db.reading() as s:
            row = s.get(CollectorState, (*self.key.values(), entity))
            if row is None:
                return None
            return Watermark(row.time_after, row.latest_success_start, dict(row.state or {}))

    def save(self, entity: str, mark: Watermark) -> None:
        with self.db.session() as s:
            upsert(
                s,
                CollectorState,
                [
                    {
                        **self.key,
                        "entity": entity,
                        "time_after": mark.time_after,
                        "latest_success_start": mark.latest_success_start,
                        "state": mark.state,
                        "updated_at": utcnow(),
                    }
                ],
            )

    def clear(self, entity: str | None = None) -> None:
        with self.db.session() as s:
            q = s.query(CollectorState).filter_by(**self.key)
            if entity is not None:
                q = q.filter_by(entity=entity)
            q.delete()

    def raw_id(self, entity: str) -> int:
        """A raw-id watermark (for incremental extract/convert); 0 when none."""
        mark = self.load(entity)
        return int(mark.state.get("rawId", 0)) if mark else 0

    def save_raw_id(self, entity: str, raw_id: int) -> None:
        self.save(entity, Watermark(state={"rawId": raw_id}, latest_success_start=utcnow()))
