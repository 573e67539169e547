"""Extractors: raw PagerDuty records → `_tool_pagerduty_*` rows (no network)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, tuple_

from core.collect import iter_raw
from core.db import upsert
from core.plugin import TaskContext
from plugins.pagerduty.models import (
    RAW_INCIDENTS,
    RAW_SERVICES,
    PagerDutyAssignment,
    PagerDutyIncident,
    PagerDutyService,
    PagerDutyUser,
)
from plugins.pagerduty.tasks.common import params_of, parse_time, state_of

BATCH = 1000


def _origin(params: str, table: str, raw_id: int) -> dict[str, Any]:
    return {"_raw_data_params": params, "_raw_data_table": table, "_raw_data_id": raw_id}


def extract_services(ctx: TaskContext) -> None:
    params = params_of(ctx)
    state = state_of(ctx)
    entity = "extract:services"
    last = 0 if ctx.full_sync else state.raw_id(entity)
    for batch in iter_raw(ctx.db, RAW_SERVICES, params, after_id=last):
        rows = []
        for raw in batch:
            service = raw.data
            if not isinstance(service, dict) or not service.get("id"):
                continue
            rows.append(
                {
                    "connection_id": ctx.connection_id,
                    "id": str(service["id"]),
                    "name": service.get("name") or service.get("summary"),
                    "url": service.get("html_url"),
                    "description": service.get("description"),
                    "created_date": parse_time(service.get("created_at")),
                    **_origin(params, RAW_SERVICES.name, raw.id),
                }
            )
        with ctx.db.session() as s:
            upsert(s, PagerDutyService, rows)
        last = batch[-1].id
    state.save_raw_id(entity, last)


def extract_incidents(ctx: TaskContext) -> None:
    """Raw rows are read in id order, so a later copy of an incident wins over an earlier one."""
    params = params_of(ctx)
    state = state_of(ctx)
    entity = "extract:incidents"
    last = 0 if ctx.full_sync else state.raw_id(entity)
    for batch in iter_raw(ctx.db, RAW_INCIDENTS, params, after_id=last, batch_size=BATCH):
        ctx.check_cancelled()
        latest: dict[int, tuple[int, dict[str, Any]]] = {}
        for raw in batch:
            record = raw.data
            number = record.get("incident_number") if isinstance(record, dict) else None
            if isinstance(number, int) and not isinstance(number, bool):
                latest[number] = (raw.id, record)
        incidents, users, assignments = [], {}, []
        for number, (raw_id, rec) in latest.items():
            origin = _origin(params, RAW_INCIDENTS.name, raw_id)
            incidents.append(_incident_row(ctx.connection_id, number, rec, origin))
            for assignment in rec.get("assignments") or []:
                assignee = (assignment or {}).get("assignee") or {}
                if not assignee.get("id"):
                    continue
                user_id = str(assignee["id"])
                users[user_id] = {
                    "connection_id": ctx.connection_id,
                    "id": user_id,
                    "name": assignee.get("summary"),
                    "url": assignee.get("html_url"),
                    **origin,
                }
                assignments.append(
                    {
                        "connection_id": ctx.connection_id,
                        "incident_number": number,
                        "user_id": user_id,
                        "assigned_at": parse_time(assignment.get("at")),
                        **origin,
                    }
                )
        with ctx.db.session() as s:
            upsert(s, PagerDutyIncident, incidents)
            upsert(s, PagerDutyUser, list(users.values()))
            # an incident's assignments are replaced as a whole: reassigned or resolved ones drop out
            keys = [(ctx.connection_id, n) for n in latest]
            for i in range(0, len(keys), 500):
                s.execute(
                    delete(PagerDutyAssignment).where(
                        tuple_(PagerDutyAssignment.connection_id, PagerDutyAssignment.incident_number).in_(
                            keys[i : i + 500]
                        )
                    )
                )
            upsert(s, PagerDutyAssignment, _unique(assignments))
        last = batch[-1].id
        ctx.progress.advance(len(batch), records=len(latest))
    state.save_raw_id(entity, last)


def _incident_row(
    connection_id: int, number: int, rec: dict[str, Any], origin: dict[str, Any]
) -> dict[str, Any]:
    priority = rec.get("priority")
    teams = [t for t in rec.get("teams") or [] if isinstance(t, dict)]
    service = rec.get("service") if isinstance(rec.get("service"), dict) else {}
    return {
        "connection_id": connection_id,
        "number": number,
        "id": str(rec.get("id") or ""),
        "url": rec.get("html_url"),
        "service_id": service.get("id"),
        "title": rec.get("title"),
        "summary": rec.get("summary"),
        "status": rec.get("status"),
        "urgency": rec.get("urgency"),
        "priority": (priority.get("summary") or priority.get("name")) if isinstance(priority, dict) else None,
        "incident_key": rec.get("incident_key"),
        "created_date": parse_time(rec.get("created_at")),
        "updated_date": parse_time(rec.get("updated_at")) or parse_time(rec.get("last_status_change_at")),
        "resolved_date": parse_time(rec.get("resolved_at")),
        "last_status_change_at": parse_time(rec.get("last_status_change_at")),
        "team_id": teams[0].get("id") if teams else None,
        "team_name": teams[0].get("summary") if teams else None,
        **origin,
    }


def _unique(assignments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (incident, user): the latest assignment time wins."""
    best: dict[tuple[int, str], dict[str, Any]] = {}
    for a in assignments:
        key = (a["incident_number"], a["user_id"])
        if key not in best or (a["assigned_at"] or datetime.min) > (best[key]["assigned_at"] or datetime.min):
            best[key] = a
    return list(best.values())
