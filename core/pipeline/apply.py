"""Config as code: connections (with scopes), projects and blueprints declared in YAML.

`apply` makes the database match the file and reports each change; a second run with the same
file changes nothing. Secrets are written as `${ENV_VAR}` references and read from the
environment at apply time, so the file itself can be committed. Things absent from the file
are left alone (apply never deletes). Blueprints name connections by `plugin` + `connection`
(the connection's name), since ids are assigned by the database.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic.alias_generators import to_camel

from core.plugin import ConnectionBase, Plugin
from core.registry import UnknownPlugin
from core.services.connections import current_secret
from core.services.errors import InvalidInput, NotFound
from core.services.validation import validate_model

if TYPE_CHECKING:
    from core.context import AppContext

SECTIONS = ("connections", "projects", "blueprints")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Change:
    action: str  # create | update
    kind: str  # connection | scope | project | blueprint
    name: str
    fields: list[str] = field(default_factory=list)

    def line(self) -> str:
        sign = "+" if self.action == "create" else "~"
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{sign} {self.action} {self.kind} {self.name}{detail}"


def load(path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read the YAML file and resolve `${ENV}` references; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not valid YAML: {exc}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: the top level must be a mapping of {', '.join(SECTIONS)}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise InvalidInput.field(unknown[0], f"unknown section; expected {', '.join(SECTIONS)}")
    for section in SECTIONS:
        if not isinstance(data.get(section) or [], list):
            raise InvalidInput.field(section, "must be a list")
    expanded: dict[str, Any] = expand_env(data, "", os.environ if environ is None else environ)
    return expanded


def expand_env(value: Any, path: str, environ: Any) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise InvalidInput.field(path or "file", f"environment variable {name} is not set")
            return str(environ[name])

        return _ENV.sub(sub, value)
    if isinstance(value, list):
        return [expand_env(v, f"{path}.{i}" if path else str(i), environ) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: expand_env(v, f"{path}.{k}" if path else str(k), environ) for k, v in value.items()}
    return value


class Applier:
    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.changes: list[Change] = []

    def apply(self, config: dict[str, Any]) -> list[Change]:
        ids = self._connections(config.get("connections") or [])
        self._projects(config.get("projects") or [])
        self._blueprints(config.get("blueprints") or [], ids)
        return self.changes

    # -- connections and scopes ------------------------------------------------------------------
    def _connections(self, items: list[Any]) -> dict[tuple[str, str], int]:
        ids: dict[tuple[str, str], int] = {}
        for i, item in enumerate(items):
            where = f"connections.{i}"
            item = _mapping(item, where)
            plugin = self._plugin(item.get("plugin"), f"{where}.plugin")
            scopes = item.get("scopes") or []
            payload = {k: v for k, v in item.items() if k not in ("plugin", "scopes")}
            desired = validate_model(plugin.connection_model, payload, prefix=where)
            label = f"{plugin.name}/{desired.name}"
            existing = {r.model.name: r for r in self.app.connections.list(plugin.name)}
            record = existing.get(desired.name)
            if record is None:
                record = self.app.connections.create(plugin.name, payload)
                self.changes.append(Change("create", "connection", label))
            else:
                changed = _diff(_plain(plugin, record.model), _plain(plugin, desired))
                if changed:  # send every field, so what the file omits returns to its default
                    self.app.connections.patch(plugin.name, record.id, _plain(plugin, desired))
                    self.changes.append(Change("update", "connection", label, changed))
            ids[(plugin.name, desired.name)] = record.id
            if not isinstance(scopes, list):
                raise InvalidInput.field(f"{where}.scopes", "must be a list")
            self._scopes(plugin, record.id, label, scopes, f"{where}.scopes")
        return ids

    def _scopes(self, plugin: Plugin, connection_id: int, label: str, items: list[Any], where: str) -> None:
        put: list[dict[str, Any]] = []
        for j, item in enumerate(items):
            data = {"id": item} if isinstance(item, str | int) else _mapping(item, f"{where}.{j}")
            desired = validate_model(plugin.scope_model, data, prefix=f"{where}.{j}")
            wanted = desired.model_dump(by_alias=True, mode="json")
            try:
                current = self.app.scopes.get(plugin.name, connection_id, desired.id).model_dump(
                    by_alias=True, mode="json"
                )
            except NotFound:
                current = None
            if current is None:
                self.changes.append(Change("create", "scope", f"{label}/{desired.id}"))
            elif current != wanted:
                self.changes.append(
                    Change("update", "scope", f"{label}/{desired.id}", _diff(current, wanted))
                )
            else:
                continue
            put.append(wanted)
        if put:
            self.app.scopes.put(plugin.name, connection_id, {"data": put})

    # -- projects --------------------------------------------------------------------------------
    def _projects(self, items: list[Any]) -> None:
        from core.dora.filters import IncidentFilter
        from core.services.projects import ProjectBody, projects_service

        service = projects_service(self.app)
        for i, item in enumerate(items):
            where = f"projects.{i}"
            item = _mapping(item, where)
            body = validate_model(ProjectBody, item, prefix=where)
            try:
                current = service.get(body.name)
            except NotFound:
                service.create(item)
                self.changes.append(Change("create", "project", body.name))
                continue
            wanted: dict[str, Any] = {
                "description": body.description,
                "incidentFilter": (body.incident_filter or IncidentFilter()).model_dump(by_alias=True),
                "linkingWindowHours": body.linking_window_hours,
            }
            now: dict[str, Any] = {k: current.get(k) for k in wanted}
            if body.scopes is not None:
                wanted["scopes"] = sorted((s.table, s.row_id) for s in body.scopes)
                now["scopes"] = sorted(
                    (s["table"], s["rowId"]) for s in current["scopes"] if s["source"] == "api"
                )
            changed = _diff(now, wanted)
            if changed:
                patch = {k: item.get(k) if k == "scopes" else wanted[k] for k in changed}
                service.patch(body.name, patch)
                self.changes.append(Change("update", "project", body.name, changed))

    # -- blueprints ------------------------------------------------------------------------------
    def _blueprints(self, items: list[Any], ids: dict[tuple[str, str], int]) -> None:
        service = self.app.blueprints
        for i, item in enumerate(items):
            where = f"blueprints.{i}"
            body = self._blueprint_body(_mapping(item, where), ids, where)
            wanted = service.normalize(body)
            try:
                current = service.find(str(wanted["name"]))
            except NotFound:
                service.create(body)
                self.changes.append(Change("create", "blueprint", wanted["name"]))
                continue
            changed = [to_camel(k) for k in _diff(service.stored(current), wanted)]
            if changed:
                service.replace(current.id, body)
                self.changes.append(Change("update", "blueprint", wanted["name"], changed))

    def _blueprint_body(
        self, item: dict[str, Any], ids: dict[tuple[str, str], int], where: str
    ) -> dict[str, Any]:
        body = dict(item)
        conns = []
        for j, conn in enumerate(item.get("connections") or []):
            at = f"{where}.connections.{j}"
            conn = _mapping(conn, at)
            plugin = self._plugin(conn.get("plugin") or conn.get("pluginName"), f"{at}.plugin")
            cid = conn.get("connectionId")
            if cid is None:
                cid = self._connection_id(plugin, conn.get("connection"), ids, f"{at}.connection")
            scopes = [
                {"scopeId": str(s)} if isinstance(s, str | int) else s for s in conn.get("scopes") or []
            ]
            conns.append({"pluginName": plugin.name, "connectionId": cid, "scopes": scopes})
        if "connections" in item:
            body["connections"] = conns
        for stage in body.get("plan") or []:
            for task in stage if isinstance(stage, list) else []:
                options = task.get("options") if isinstance(task, dict) else None
                if isinstance(options, dict) and "connection" in options:
                    plugin = self._plugin(task.get("plugin"), f"{where}.plan.plugin")
                    options["connectionId"] = self._connection_id(
                        plugin, options.pop("connection"), ids, f"{where}.plan.options.connection"
                    )
        return body

    def _connection_id(self, plugin: Plugin, name: Any, ids: dict[tuple[str, str], int], where: str) -> int:
        if not isinstance(name, str) or not name:
            raise InvalidInput.field(where, "name the connection (its `name`) or give connectionId")
        if (plugin.name, name) in ids:
            return ids[(plugin.name, name)]
        for record in self.app.connections.list(plugin.name):
            if record.model.name == name:
                return record.id
        raise InvalidInput.field(where, f"no {plugin.name} connection named {name!r}")

    def _plugin(self, name: Any, where: str) -> Plugin:
        if not isinstance(name, str) or not name:
            raise InvalidInput.field(where, "required")
        try:
            return self.app.registry.get(name.lower() if name.lower() in self.app.registry else name)
        except UnknownPlugin:
            raise InvalidInput.field(where, f"unknown plugin {name!r}") from None


def _plain(plugin: Plugin, model: ConnectionBase) -> dict[str, Any]:
    """Every field with secrets revealed, for comparing the stored and the declared connection."""
    out = model.model_dump(by_alias=True, mode="json")
    for name in plugin.connection_model.secret_fields():
        info = plugin.connection_model.model_fields[name]
        out[info.alias or name] = current_secret(model, name)
    return out


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [k for k in wanted if current.get(k) != wanted[k]]


def _mapping(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput.field(where, "must be a mapping")
    return dict(item)
