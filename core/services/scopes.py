"""Scopes of a connection (PagerDuty services, Datadog filters, …), validated by the plugin."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from core.db import Database, upsert
from core.models import Connection, Scope, utcnow
from core.plugin import ScopeBase
from core.registry import PluginRegistry
from core.services.connections import blueprints_using
from core.services.errors import Conflict, InvalidInput, NotFound
from core.services.validation import invalid, validate_model


class ScopeService:
    def __init__(self, db: Database, registry: PluginRegistry) -> None:
        self.db = db
        self.registry = registry

    def put(self, plugin: str, connection_id: int, body: Any) -> list[ScopeBase]:
        """Create or replace the given scopes (DevLake's `{"data": [...]}` body)."""
        p = self.registry.get(plugin)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise InvalidInput.field("data", "must be a list of scopes")
        scopes: list[ScopeBase] = []
        for i, item in enumerate(body["data"]):
            try:
                scopes.append(p.scope_model.model_validate(item))
            except ValidationError as exc:
                raise invalid(exc, prefix=f"data.{i}") from None
        ids = [s.id for s in scopes]
        if len(set(ids)) != len(ids):
            raise InvalidInput.field("data", "the same scope id appears twice")
        now = utcnow()
        with self.db.session() as s:
            self._connection(s, plugin, connection_id)
            upsert(
                s,
                Scope,
                [
                    {
                        "plugin": plugin,
                        "connection_id": connection_id,
                        "scope_id": sc.id,
                        "name": sc.name,
                        "data": sc.model_dump(by_alias=True, mode="json"),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for sc in scopes
                ],
            )
        return scopes

    def list(
        self, plugin: str, connection_id: int, *, page: int = 1, page_size: int = 100, search: str | None = None
    ) -> tuple[list[ScopeBase], int]:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            self._connection(s, plugin, connection_id)
            q = select(Scope).where(Scope.plugin == plugin, Scope.connection_id == connection_id)
            if search:
                q = q.where(Scope.name.contains(search))
            count = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(Scope.scope_id).offset((page - 1) * page_size).limit(page_size))
            return [p.scope_model.model_validate(r.data) for r in rows], count

    def get(self, plugin: str, connection_id: int, scope_id: str) -> ScopeBase:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            return p.scope_model.model_validate(self._row(s, plugin, connection_id, scope_id).data)

    def all_for(self, plugin: str, connection_id: int) -> list[ScopeBase]:
        return self.list(plugin, connection_id, page_size=1_000_000)[0]

    def patch(self, plugin: str, connection_id: int, scope_id: str, body: Any) -> ScopeBase:
        p = self.registry.get(plugin)
        if not isinstance(body, dict):
            raise InvalidInput.field("body", "must be a JSON object")
        with self.db.session() as s:
            row = self._row(s, plugin, connection_id, scope_id)
            merged = {**(row.data or {}), **body, "id": scope_id}
            scope = validate_model(p.scope_model, merged)
            row.data = scope.model_dump(by_alias=True, mode="json")
            row.name = scope.name
            return scope

    def delete(self, plugin: str, connection_id: int, scope_id: str) -> ScopeBase:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            row = self._row(s, plugin, connection_id, scope_id)
            users = blueprints_using(s, plugin, connection_id, scope_id)
            if users:
                raise Conflict(f"scope {scope_id} is used by blueprint(s) " + ", ".join(map(repr, users)))
            scope = p.scope_model.model_validate(row.data)
            s.delete(row)
            return scope

    def _connection(self, s: Any, plugin: str, connection_id: int) -> Connection:
        row = s.get(Connection, (plugin, connection_id))
        if row is None:
            raise NotFound(f"{plugin} connection {connection_id} not found")
        return row

    def _row(self, s: Any, plugin: str, connection_id: int, scope_id: str) -> Scope:
        row = s.get(Scope, (plugin, connection_id, scope_id))
        if row is None:
            raise NotFound(f"{plugin} scope {scope_id} of connection {connection_id} not found")
        return row
