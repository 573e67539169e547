"""After a blueprint's pipeline finishes, tell the connections it names in `notify` (e.g. post a
Datadog event) through `Plugin.notify`. A notification never changes or fails the pipeline."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.models import Blueprint
from core.services.blueprints import iso

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("incidentlake.pipeline")


def summary(app: AppContext, pipeline_id: int, bp: Blueprint | None) -> dict[str, Any]:
    """The finished pipeline as Plugin.notify receives it."""
    p = app.pipelines.get(pipeline_id)
    tasks = app.pipelines.tasks(pipeline_id)
    records: dict[str, int] = {}
    rows = []
    for t in tasks:
        count = int((t.progress_detail or {}).get("records") or 0)
        records[t.plugin] = records.get(t.plugin, 0) + count
        options = t.options or {}
        rows.append(
            {
                "plugin": t.plugin,
                "scopeId": options.get("scopeId"),
                "status": t.status,
                "records": count,
                "message": t.message,
            }
        )
    out: dict[str, Any] = {
        "pipelineId": p.id,
        "blueprintId": p.blueprint_id,
        "blueprintName": bp.name if bp else p.name,
        "projectName": bp.project_name if bp else None,
        "status": p.status,
        "message": p.message,
        "beganAt": iso(p.began_at),
        "finishedAt": iso(p.finished_at),
        "spentSeconds": p.spent_seconds,
        "records": records,
        "tasks": rows,
    }
    if out["projectName"]:
        out["dora"] = _dora(app, out["projectName"])
    return out


def _dora(app: AppContext, project: str) -> dict[str, Any] | None:
    try:
        from core.services.projects import projects_service

        result: dict[str, Any] = projects_service(app).dora(
            project, start=None, end=None, report=None, aggregate=None
        )
        return result
    except Exception as exc:  # metrics are a nicety in a notification
        log.info("no DORA figures for the notification of project %s: %s", project, exc)
        return None


def notify_finished(app: AppContext, pipeline_id: int) -> int:
    """Call every notify target of the pipeline's blueprint; returns how many were called."""
    p = app.pipelines.get(pipeline_id)
    if p.blueprint_id is None:
        return 0
    with app.db.session() as s:
        bp = s.get(Blueprint, p.blueprint_id)
    targets = ((bp.settings or {}).get("notify") or []) if bp else []
    if not targets:
        return 0
    event = summary(app, pipeline_id, bp)
    called = 0
    for target in targets:
        try:
            plugin = app.registry.get(target["pluginName"])
            connection = app.connections.model(plugin.name, int(target["connectionId"]))
            plugin.notify(int(target["connectionId"]), connection, event)
            called += 1
        except Exception as exc:
            log.warning("pipeline %s: notifying %s failed: %s", pipeline_id, target, exc)
    return called
