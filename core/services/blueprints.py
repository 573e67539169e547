"""Blueprints: what to collect (connections and scopes, or an explicit plan) and when.

Creating, changing or deleting one tells the scheduler (`on_change`); triggering one plans it
and starts a pipeline through the PipelineService. A blueprint never has two unfinished
pipelines: a manual trigger while one runs is refused with 409 (not queued), a cron fire is
skipped — see core/pipeline/store.py for how the database enforces it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.http.errors import HttpError
from core.models import Blueprint, Pipeline, Project
from core.pipeline.blueprint_body import (
    READ_ONLY,
    BlueprintBody,
    NotifyTarget,
    TriggerBody,
    legacy_to_connections,
)
from core.pipeline.models import BlueprintLock
from core.pipeline.planner import map_project, plan_blueprint
from core.pipeline.store import DuplicateFire, NewPipeline
from core.plugin import ConnectionTestError, Plugin
from core.registry import UnknownPlugin
from core.services.errors import Conflict, InvalidInput, NotFound, UpstreamError
from core.services.validation import invalid, validate_model

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("incidentlake.blueprints")
_COLUMNS = (
    "name",
    "project_name",
    "mode",
    "plan",
    "connections",
    "cron_config",
    "enable",
    "is_manual",
    "skip_on_fail",
    "full_sync",
    "time_after",
    "labels",
    "settings",
)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, as DevLake answers."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class BlueprintService:
    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.db = app.db
        # set by the scheduler while it runs: called with the id of a changed or deleted blueprint
        self.on_change: Callable[[int], None] | None = None

    # -- reading -------------------------------------------------------------------------------
    def get(self, blueprint_id: int) -> Blueprint:
        with self.db.session() as s:
            bp = s.get(Blueprint, blueprint_id)
            if bp is None:
                raise NotFound(f"blueprint {blueprint_id} not found")
            return bp

    def find(self, name_or_id: str) -> Blueprint:
        """By exact name first (names may be digits), then by id."""
        with self.db.session() as s:
            bp = s.scalar(select(Blueprint).where(Blueprint.name == name_or_id))
            if bp is None and name_or_id.isdigit():
                bp = s.get(Blueprint, int(name_or_id))
            if bp is None:
                raise NotFound(f"no blueprint named or numbered {name_or_id!r}")
            return bp

    def list(
        self, *, page: int = 1, page_size: int = 50, label: str | None = None
    ) -> tuple[list[Blueprint], int]:
        with self.db.session() as s:
            rows = list(s.scalars(select(Blueprint).order_by(Blueprint.id)))
        if label:
            rows = [bp for bp in rows if label in (bp.labels or [])]
        start = (page - 1) * page_size
        return rows[start : start + page_size], len(rows)

    # -- writing -------------------------------------------------------------------------------
    def create(self, payload: Any) -> Blueprint:
        values = self._validated(_object(payload))
        try:
            with self.db.session() as s:
                bp = Blueprint(**values)
                s.add(bp)
                s.flush()
        except IntegrityError:
            raise self._name_taken(values["name"]) from None
        self._changed(bp.id)
        return bp

    def patch(self, blueprint_id: int, payload: Any) -> Blueprint:
        """Change the given fields; the others keep their values."""
        changes = {k: v for k, v in _object(payload).items() if k not in READ_ONLY}
        merged = self._editable(self.get(blueprint_id))
        if "settings" in changes and "connections" not in changes:
            merged.pop("connections", None)
        elif "connections" in changes:
            merged.pop("settings", None)
        merged.update(changes)
        return self._save(blueprint_id, self._validated(merged))

    def replace(self, blueprint_id: int, payload: Any) -> Blueprint:
        """Set the whole blueprint: fields not given take their defaults (config as code)."""
        self.get(blueprint_id)
        return self._save(blueprint_id, self._validated(_object(payload)))

    def normalize(self, payload: Any) -> dict[str, Any]:
        """The column values a body would store, without storing it (for `apply`'s diff)."""
        return self._validated(_object(payload))

    def stored(self, bp: Blueprint) -> dict[str, Any]:
        """The same column values, as stored."""
        return {key: getattr(bp, key) for key in _COLUMNS}

    def _save(self, blueprint_id: int, values: dict[str, Any]) -> Blueprint:
        try:
            with self.db.session() as s:
                bp = s.get(Blueprint, blueprint_id)
                if bp is None:
                    raise NotFound(f"blueprint {blueprint_id} not found")
                for key, value in values.items():
                    setattr(bp, key, value)
                s.flush()
        except IntegrityError:
            raise self._name_taken(values["name"]) from None
        self._changed(blueprint_id)
        return self.get(blueprint_id)

    def delete(self, blueprint_id: int) -> Blueprint:
        with self.db.session() as s:
            bp = s.get(Blueprint, blueprint_id)
            if bp is None:
                raise NotFound(f"blueprint {blueprint_id} not found")
            holder = s.scalar(
                select(BlueprintLock.pipeline_id).where(BlueprintLock.blueprint_id == blueprint_id)
            )
            if holder is not None:
                raise Conflict(f"blueprint {blueprint_id} is running (pipeline {holder}); cancel it first")
            s.delete(bp)
            s.execute(delete(BlueprintLock).where(BlueprintLock.blueprint_id == blueprint_id))
        self._changed(blueprint_id)
        return bp

    # -- running -------------------------------------------------------------------------------
    def trigger(self, blueprint_id: int, payload: Any = None, *, trigger: str = "manual") -> Pipeline:
        """Plan and start a pipeline now; 400 when disabled, 409 while one is unfinished."""
        body = validate_model(TriggerBody, _object(payload))
        bp = self.get(blueprint_id)
        if not bp.enable:
            raise InvalidInput(
                f"blueprint {blueprint_id} is disabled; enable it first",
                causes=[{"field": "enable", "message": "blueprint is disabled"}],
            )
        return self._start(
            bp, trigger=trigger, full_sync=body.full_sync, skip_collectors=body.skip_collectors
        )

    def fire(self, blueprint_id: int, fire_time: datetime) -> Pipeline | None:
        """A cron fire: one pipeline per (blueprint, fire time) however many schedulers fire."""
        try:
            bp = self.get(blueprint_id)
        except NotFound:
            return None
        if not bp.enable or bp.is_manual or bp.cron_config == "manual":
            return None
        try:
            return self._start(bp, trigger="cron", fire_time=fire_time)
        except DuplicateFire:
            log.debug("blueprint %s fire %s: created by another scheduler", blueprint_id, fire_time)
        except Conflict as exc:
            log.info("blueprint %s fire %s skipped: %s", blueprint_id, fire_time, exc.message)
        except Exception as exc:
            log.error("blueprint %s fire %s could not start: %s", blueprint_id, fire_time, exc)
        return None

    def _start(
        self,
        bp: Blueprint,
        *,
        trigger: str,
        full_sync: bool = False,
        skip_collectors: bool = False,
        fire_time: datetime | None = None,
    ) -> Pipeline:
        full = full_sync or bp.full_sync
        try:
            plan = plan_blueprint(self.app, bp, full_sync=full)
            map_project(self.app, bp, plan)
        except (UnknownPlugin, NotFound, ConnectionTestError) as exc:
            raise InvalidInput(f"blueprint {bp.id} cannot be planned: {exc}") from None
        except HttpError as exc:  # a plugin asked its API which scopes exist, and the API failed
            raise UpstreamError(f"blueprint {bp.id} cannot be planned: {exc}") from None
        if not any(plan):
            raise InvalidInput(
                f"blueprint {bp.id} has nothing to run: add connections with scopes (or a plan)",
                causes=[{"field": "connections", "message": "no task to run"}],
            )
        return self.app.pipelines.start(
            NewPipeline(
                name=bp.name,
                plan=plan,
                blueprint_id=bp.id,
                trigger=trigger,
                fire_time=fire_time,
                skip_on_fail=bp.skip_on_fail,
                full_sync=full,
                skip_collectors=skip_collectors,
                labels=list(bp.labels or []),
            )
        )

    # -- presentation --------------------------------------------------------------------------
    def response(self, bp: Blueprint) -> dict[str, Any]:
        return {
            "id": bp.id,
            "name": bp.name,
            "projectName": bp.project_name or "",
            "mode": bp.mode,
            "plan": bp.plan,
            "connections": bp.connections or [],
            "cronConfig": bp.cron_config,
            "enable": bp.enable,
            "isManual": bp.is_manual,
            "skipOnFail": bp.skip_on_fail,
            "timeAfter": iso(bp.time_after),
            "fullSync": bp.full_sync,
            "labels": bp.labels or [],
            "settings": (bp.settings or {}).get("legacy"),
            "notify": (bp.settings or {}).get("notify") or [],
            "createdAt": iso(bp.created_at),
            "updatedAt": iso(bp.updated_at),
        }

    # -- internals -----------------------------------------------------------------------------
    def _editable(self, bp: Blueprint) -> dict[str, Any]:
        out = self.response(bp)
        for key in READ_ONLY:
            out.pop(key, None)
        if out["settings"] is None:
            out.pop("settings")
        else:
            out.pop("connections")
        return out

    def _validated(self, data: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in data.items() if k not in READ_ONLY}
        body = validate_model(BlueprintBody, data)
        legacy = None
        time_after = body.time_after
        if body.connections is not None and body.settings is not None:
            raise InvalidInput.field("settings", "give either connections or the legacy settings, not both")
        if body.settings is not None:
            conns, start = legacy_to_connections(body.settings)
            time_after = time_after or start
            legacy = body.settings.model_dump(by_alias=True, mode="json")
            prefix, plugin_key = "settings.connections", "plugin"
        else:
            conns = [c.model_dump(by_alias=True) for c in body.connections or []]
            prefix, plugin_key = "connections", "pluginName"
        plan = None
        if body.mode == "ADVANCED":
            plan = self._check_plan(body.plan)
            conns = _connections_of_plan(plan)
        else:
            conns = self._check_connections(conns, prefix, plugin_key)
        if body.project_name:
            self._check_project(body.project_name)
        is_manual = body.is_manual if body.is_manual is not None else body.cron_config == "manual"
        settings: dict[str, Any] = {}
        if legacy:
            settings["legacy"] = legacy
        if body.notify:
            settings["notify"] = self._check_notify(body.notify)
        return {
            "name": body.name,
            "project_name": body.project_name,
            "mode": body.mode,
            "plan": plan,
            "connections": conns,
            "cron_config": body.cron_config,
            "enable": body.enable,
            "is_manual": is_manual,
            "skip_on_fail": body.skip_on_fail,
            "full_sync": body.full_sync,
            "time_after": _naive_utc(time_after),
            "labels": body.labels,
            "settings": settings or None,
        }

    def _plugin(self, name: str, field: str) -> Plugin:
        for candidate in (name, name.lower()):
            if candidate in self.app.registry:
                return self.app.registry.get(candidate)
        for plugin in self.app.registry.all():
            if plugin.name.lower() == name.lower():
                return plugin
        raise InvalidInput.field(
            field, f"unknown plugin {name!r} (installed: {', '.join(self.app.registry.names())})"
        )

    def _check_connections(
        self, conns: list[dict[str, Any]], prefix: str, plugin_key: str
    ) -> list[dict[str, Any]]:
        out = []
        for i, conn in enumerate(conns):
            plugin = self._plugin(conn["pluginName"], f"{prefix}.{i}.{plugin_key}")
            cid = int(conn["connectionId"])
            try:
                self.app.connections.get(plugin.name, cid)
            except NotFound:
                raise InvalidInput.field(
                    f"{prefix}.{i}.connectionId", f"no {plugin.name} connection {cid}"
                ) from None
            scope_ids = [str(s["scopeId"]) for s in conn.get("scopes") or []]
            for j, scope_id in enumerate(scope_ids):
                try:
                    self.app.scopes.get(plugin.name, cid, scope_id)
                except NotFound:
                    raise InvalidInput.field(
                        f"{prefix}.{i}.scopes.{j}.scopeId",
                        f"connection {plugin.name}/{cid} has no scope {scope_id!r}; add it with PUT .../scopes",
                    ) from None
            item = {**conn, "pluginName": plugin.name, "connectionId": cid}
            item["scopes"] = [{"scopeId": s} for s in dict.fromkeys(scope_ids)]
            out.append(item)
        return out

    def _check_notify(self, targets: list[NotifyTarget]) -> list[dict[str, Any]]:
        out = []
        for i, target in enumerate(targets):
            plugin = self._plugin(target.plugin_name, f"notify.{i}.pluginName")
            try:
                self.app.connections.get(plugin.name, target.connection_id)
            except NotFound:
                raise InvalidInput.field(
                    f"notify.{i}.connectionId", f"no {plugin.name} connection {target.connection_id}"
                ) from None
            out.append({"pluginName": plugin.name, "connectionId": target.connection_id})
        return out

    def _check_plan(self, plan: Any) -> list[list[dict[str, Any]]]:
        if not isinstance(plan, list) or not plan or not all(isinstance(st, list) for st in plan):
            raise InvalidInput.field(
                "plan", "ADVANCED mode needs a plan: a list of stages, each a list of tasks"
            )
        out: list[list[dict[str, Any]]] = []
        for i, stage in enumerate(plan):
            tasks = []
            for j, task in enumerate(stage):
                where = f"plan.{i}.{j}"
                if not isinstance(task, dict) or not isinstance(task.get("plugin"), str):
                    raise InvalidInput.field(f"{where}.plugin", "each task needs a plugin name")
                plugin = self._plugin(task["plugin"], f"{where}.plugin")
                options = task.get("options") or {}
                if not isinstance(options, dict):
                    raise InvalidInput.field(f"{where}.options", "must be an object")
                try:
                    opts = plugin.options_model.model_validate(options)
                except ValidationError as exc:
                    raise invalid(exc, prefix=f"{where}.options") from None
                if opts.connection_id is not None:
                    try:
                        self.app.connections.get(plugin.name, opts.connection_id)
                    except NotFound:
                        raise InvalidInput.field(
                            f"{where}.options.connectionId",
                            f"no {plugin.name} connection {opts.connection_id}",
                        ) from None
                subtasks = task.get("subtasks")
                if subtasks is not None:
                    known = set(plugin.subtask_names())
                    if not isinstance(subtasks, list) or any(s not in known for s in subtasks):
                        raise InvalidInput.field(
                            f"{where}.subtasks", f"must be a list of {plugin.name} subtasks: {sorted(known)}"
                        )
                tasks.append({"plugin": plugin.name, "options": options, "subtasks": subtasks or None})
            out.append(tasks)
        if not any(out):
            raise InvalidInput.field("plan", "the plan has no task")
        return out

    def _check_project(self, name: str) -> None:
        with self.db.session() as s:
            if s.get(Project, name) is None:
                raise InvalidInput.field("projectName", f"no project named {name!r}; create it first")

    def _name_taken(self, name: str) -> Conflict:
        return Conflict(
            f"a blueprint named {name!r} already exists",
            causes=[{"field": "name", "message": "already used by another blueprint"}],
        )

    def _changed(self, blueprint_id: int) -> None:
        if self.on_change is not None:
            try:
                self.on_change(blueprint_id)
            except Exception as exc:  # the scheduler resyncs periodically anyway
                log.warning("scheduler update for blueprint %s failed: %s", blueprint_id, exc)


def _connections_of_plan(plan: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The connections an ADVANCED plan uses, so they cannot be deleted under it."""
    found: dict[tuple[str, int], set[str]] = {}
    for stage in plan:
        for task in stage:
            cid = (task.get("options") or {}).get("connectionId")
            if cid is None:
                continue
            scopes = found.setdefault((task["plugin"], int(cid)), set())
            scope_id = (task.get("options") or {}).get("scopeId")
            if scope_id is not None:
                scopes.add(str(scope_id))
    return [
        {"pluginName": p, "connectionId": c, "scopes": [{"scopeId": s} for s in sorted(scopes)]}
        for (p, c), scopes in found.items()
    ]


def _object(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidInput(
            "body: must be a JSON object", causes=[{"field": "body", "message": "must be an object"}]
        )
    return dict(payload)
