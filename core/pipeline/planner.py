"""A blueprint becomes a plan: DevLake's `[[{plugin, options, subtasks}]]`, one list per stage.

NORMAL: each connection's plugin plans its scopes (stage 1: every plugin's collect/extract/
convert runs concurrently); a blueprint of a project then maps its scopes to the project and
ends with the DORA stage, once a `dora` task type is installed. ADVANCED: the stored plan.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from core.db import upsert
from core.models import Blueprint, ProjectMapping, utcnow
from core.plugin import PlanContext, Plugin, ScopeBase
from core.services.errors import NotFound

if TYPE_CHECKING:
    from core.context import AppContext

Plan = list[list[dict[str, Any]]]
DORA_TASK = "dora"


def plan_blueprint(app: AppContext, bp: Blueprint, *, full_sync: bool = False) -> Plan:
    if bp.mode == "ADVANCED":
        plan: Plan = copy.deepcopy(bp.plan or [])
        if full_sync:
            for stage in plan:
                for task in stage:
                    task["options"] = {**(task.get("options") or {}), "fullSync": True}
        return [stage for stage in plan if stage]
    collect: list[dict[str, Any]] = []
    for conn in bp.connections or []:
        plugin = app.registry.get(conn["pluginName"])
        connection_id = int(conn["connectionId"])
        ctx = PlanContext(
            connection_id=connection_id,
            connection=app.connections.model(plugin.name, connection_id),
            scopes=[_scope(app, plugin, connection_id, s["scopeId"]) for s in conn.get("scopes") or []],
            time_after=bp.time_after,
            full_sync=full_sync,
            project_name=bp.project_name,
            scope_config=dict(conn.get("options") or {}),
        )
        collect.extend(spec.as_json() for spec in plugin.plan(ctx))
    stages: Plan = [collect] if collect else []
    if bp.project_name and DORA_TASK in app.registry:
        stages.append([{"plugin": DORA_TASK, "options": {"projectName": bp.project_name}, "subtasks": None}])
    return stages


def _scope(app: AppContext, plugin: Plugin, connection_id: int, scope_id: str) -> ScopeBase:
    try:
        return app.scopes.get(plugin.name, connection_id, str(scope_id))
    except NotFound:
        return plugin.scope_model(id=str(scope_id))


def map_project(app: AppContext, bp: Blueprint, plan: Plan | None = None) -> int:
    """Write `project_mapping` rows for the blueprint's scopes (idempotent upsert).

    A connection listed without scopes (legacy "collect everything") maps its saved scopes and
    the scopes its plugin planned tasks for.
    """
    if not bp.project_name or bp.mode == "ADVANCED":
        return 0
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    now = utcnow()
    for conn in bp.connections or []:
        plugin = app.registry.get(conn["pluginName"])
        connection_id = int(conn["connectionId"])
        ids = [str(s["scopeId"]) for s in conn.get("scopes") or []]
        if not ids:
            ids = [s.id for s in app.scopes.all_for(plugin.name, connection_id)]
            ids += _planned_scopes(plan or [], plugin.name, connection_id)
        scopes = [_scope(app, plugin, connection_id, scope_id) for scope_id in dict.fromkeys(ids)]
        for scope in scopes:
            for table, row_id in plugin.project_scopes(connection_id, scope):
                rows[(table, row_id)] = {
                    "project_name": bp.project_name,
                    "table": table,
                    "row_id": row_id,
                    "created_at": now,
                    "updated_at": now,
                }
    if rows:
        with app.db.session() as s:
            upsert(s, ProjectMapping, list(rows.values()), update=["updated_at"])
    return len(rows)


def _planned_scopes(plan: Plan, plugin: str, connection_id: int) -> list[str]:
    found = []
    for stage in plan:
        for task in stage:
            options = task.get("options") or {}
            if (
                task.get("plugin") == plugin
                and options.get("connectionId") == connection_id
                and options.get("scopeId")
            ):
                found.append(str(options["scopeId"]))
    return found
