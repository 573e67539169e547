"""Connections of every plugin: validated by the plugin's model, secrets encrypted at rest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.crypto import SecretBox, is_masked, mask
from core.db import Database
from core.http.errors import AuthError, HttpError
from core.logs import register_secret
from core.models import Blueprint, Connection, Scope
from core.plugin import ConnectionBase, ConnectionTestError, Plugin, RemoteScopePage
from core.registry import PluginRegistry
from core.services.errors import Conflict, InvalidInput, NotFound, UpstreamError
from core.services.validation import validate_model


@dataclass
class ConnectionRecord:
    plugin: str
    id: int
    model: ConnectionBase
    created_at: datetime | None
    updated_at: datetime | None
    once: dict[str, Any] = dataclasses.field(default_factory=dict)  # shown in the create response only


class ConnectionService:
    def __init__(self, db: Database, registry: PluginRegistry, box: SecretBox) -> None:
        self.db = db
        self.registry = registry
        self.box = box

    # -- reading -----------------------------------------------------------------------
    def list(self, plugin: str) -> list[ConnectionRecord]:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            rows = s.scalars(select(Connection).where(Connection.plugin == plugin).order_by(Connection.id))
            return [self._record(p, row) for row in rows]

    def get(self, plugin: str, connection_id: int) -> ConnectionRecord:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            return self._record(p, self._row(s, plugin, connection_id))

    def model(self, plugin: str, connection_id: int) -> ConnectionBase:
        return self.get(plugin, connection_id).model

    # -- writing -----------------------------------------------------------------------
    def create(self, plugin: str, payload: Any) -> ConnectionRecord:
        p = self.registry.get(plugin)
        model = validate_model(p.connection_model, _object(payload))
        for attempt in range(5):
            try:
                with self.db.session() as s:
                    self._check_name_free(s, plugin, model.name, None)
                    next_id = (s.scalar(select(func.max(Connection.id)).where(Connection.plugin == plugin)) or 0) + 1
                    row = Connection(plugin=plugin, id=next_id, name=model.name)
                    self._store(p, row, model)
                    s.add(row)
                    s.flush()
                    record = self._record(p, row)
                    record.once = p.on_connection_created(s, next_id, model)
                    return record
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def patch(self, plugin: str, connection_id: int, payload: Any) -> ConnectionRecord:
        """Merge the changes; a secret omitted or sent back masked keeps the stored one."""
        p = self.registry.get(plugin)
        changes = _object(payload)
        with self.db.session() as s:
            row = self._row(s, plugin, connection_id)
            current = self._decode(p, row)
            merged = current.model_dump(by_alias=True)
            for name in p.connection_model.secret_fields():
                merged[_alias(p, name)] = current_secret(current, name)
            for key, value in changes.items():
                field = _field_name(p, key)
                if field in p.connection_model.secret_fields() and (value is None or is_masked(value)):
                    continue  # keep the stored secret
                merged[key if field is None else _alias(p, field)] = value
            model = validate_model(p.connection_model, merged)
            self._check_name_free(s, plugin, model.name, connection_id)
            row.name = model.name
            self._store(p, row, model)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(f"a {plugin} connection named {model.name!r} already exists") from None
            return self._record(p, row)

    def delete(self, plugin: str, connection_id: int) -> ConnectionRecord:
        p = self.registry.get(plugin)
        with self.db.session() as s:
            row = self._row(s, plugin, connection_id)
            users = blueprints_using(s, plugin, connection_id)
            if users:
                raise Conflict(
                    f"connection {plugin}/{connection_id} is used by blueprint(s) "
                    + ", ".join(repr(n) for n in users)
                    + "; remove it from them first"
                )
            record = self._record(p, row)
            s.query(Scope).filter(Scope.plugin == plugin, Scope.connection_id == connection_id).delete()
            p.on_connection_deleted(s, connection_id)
            s.delete(row)
            return record

    # -- testing -----------------------------------------------------------------------
    def test_payload(self, plugin: str, payload: Any) -> str:
        """Test an unsaved connection; a name is not required for that."""
        p = self.registry.get(plugin)
        data = _object(payload)
        data.setdefault("name", "unsaved")
        return run_test(p, validate_model(p.connection_model, data))

    def test_saved(self, plugin: str, connection_id: int, payload: Any = None) -> str:
        p = self.registry.get(plugin)
        model = self.model(plugin, connection_id)
        if payload:
            data = model.model_dump(by_alias=True)
            for name in p.connection_model.secret_fields():
                data[_alias(p, name)] = current_secret(model, name)
            for key, value in _object(payload).items():
                field = _field_name(p, key)
                if field in p.connection_model.secret_fields() and (value is None or is_masked(value)):
                    continue
                data[key] = value
            model = validate_model(p.connection_model, data)
        return run_test(p, model)

    def remote_scopes(
        self, p: Plugin, connection_id: int, model: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        try:
            return p.remote_scopes(connection_id, model, search=search, page_token=page_token)
        except ConnectionTestError as exc:
            raise InvalidInput(str(exc)) from None
        except HttpError as exc:
            if isinstance(exc, AuthError):
                raise InvalidInput(str(exc)) from None
            raise UpstreamError(str(exc)) from None

    # -- presentation --------------------------------------------------------------------
    def response(self, record: ConnectionRecord) -> dict[str, Any]:
        p = self.registry.get(record.plugin)
        out: dict[str, Any] = {"id": record.id}
        out.update(record.model.model_dump(by_alias=True, mode="json"))
        for name in p.connection_model.secret_fields():
            out[_alias(p, name)] = mask(current_secret(record.model, name))
        out["createdAt"] = _iso(record.created_at)
        out["updatedAt"] = _iso(record.updated_at)
        out.update(record.once)
        return out

    # -- internals -----------------------------------------------------------------------
    def _row(self, s: Session, plugin: str, connection_id: int) -> Connection:
        row = s.get(Connection, (plugin, connection_id))
        if row is None:
            raise NotFound(f"{plugin} connection {connection_id} not found")
        return row

    def _check_name_free(self, s: Session, plugin: str, name: str, own_id: int | None) -> None:
        q = select(Connection.id).where(Connection.plugin == plugin, Connection.name == name)
        for other in s.scalars(q):
            if other != own_id:
                raise Conflict(
                    f"a {plugin} connection named {name!r} already exists",
                    causes=[{"field": "name", "message": "already used by another connection"}],
                )

    def _store(self, p: Plugin, row: Connection, model: ConnectionBase) -> None:
        secret_names = p.connection_model.secret_fields()
        row.settings = model.model_dump(mode="json", exclude={"name", *secret_names})
        secrets = {n: current_secret(model, n) for n in secret_names}
        for value in secrets.values():
            register_secret(value)
        row.secrets = self.box.encrypt_json(secrets, context=f"connection:{p.name}")

    def _decode(self, p: Plugin, row: Connection) -> ConnectionBase:
        secrets = self.box.decrypt_json(row.secrets, context=f"connection:{p.name}")
        for value in secrets.values():
            register_secret(value)
        data = {**(row.settings or {}), **{k: v for k, v in secrets.items() if v is not None}, "name": row.name}
        return p.connection_model.model_validate(data)

    def _record(self, p: Plugin, row: Connection) -> ConnectionRecord:
        return ConnectionRecord(p.name, row.id, self._decode(p, row), row.created_at, row.updated_at)


def run_test(p: Plugin, model: ConnectionBase) -> str:
    """A failed test is the caller's to fix (wrong token, wrong host): 400 with the reason."""
    try:
        return p.test_connection(model)
    except (ConnectionTestError, HttpError) as exc:
        raise InvalidInput(str(exc)) from None


def current_secret(model: ConnectionBase, name: str) -> str | None:
    value = getattr(model, name)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def blueprints_using(s: Session, plugin: str, connection_id: int, scope_id: str | None = None) -> list[str]:
    """Names of blueprints that collect from this connection (or this scope of it)."""
    names = []
    for bp in s.scalars(select(Blueprint)):
        for conn in bp.connections or []:
            if conn.get("pluginName") != plugin or int(conn.get("connectionId", -1)) != connection_id:
                continue
            scopes = {str(sc.get("scopeId")) for sc in conn.get("scopes") or []}
            if scope_id is None or scope_id in scopes:
                names.append(bp.name)
                break
    return names


def _object(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidInput("body: must be a JSON object", causes=[{"field": "body", "message": "must be an object"}])
    return dict(payload)


def _alias(p: Plugin, field: str) -> str:
    info = p.connection_model.model_fields[field]
    return info.alias or field


def _field_name(p: Plugin, key: str) -> str | None:
    for name, info in p.connection_model.model_fields.items():
        if key in (name, info.alias):
            return name
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None
