"""Extractors: raw PagerDuty records → `_tool_pagerduty_*` rows (no network)."""

from __future__ import annotations

import functools
from typing import Any

from core.collect import iter_raw, range_batches
from core.db import fill_temporary, upsert
from core.dialect import SqlDialect, insert_select, typed
from core.models import utcnow
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

BATCH = 5000  # raw rows per statement: a short write lock, few round trips


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
    """Raw incidents → tool incidents, users and assignments, a batch of raw rows per statement.

    Set-based: the database reads the JSON (in C, outside Python's GIL) and upserts in raw-id
    order, so a later copy of an incident overwrites an earlier one. Records that are no
    object or carry no integer `incident_number` are skipped; junk timestamps become NULL.
    """
    params = params_of(ctx)
    state = state_of(ctx)
    entity = "extract:incidents"
    last = 0 if ctx.full_sync else state.raw_id(entity)
    d = SqlDialect.of(ctx.db.dialect)
    fill, statements = _incident_statements(d)
    raw = RAW_INCIDENTS.c
    for lo, hi, count in range_batches(ctx.db, raw.id, raw.params == params, after=last, batch_size=BATCH):
        ctx.check_cancelled()
        values = {"cid": ctx.connection_id, "params": params, "lo": lo, "hi": hi, "now": utcnow()}
        with ctx.db.engine.connect() as conn:
            # parsing the JSON writes only a temporary table: on SQLite it runs beside the
            # collector's writes instead of holding the one write lock
            fill_temporary(conn, fill, values)
            with conn.begin():
                for stmt in statements:
                    conn.execute(stmt, values)
        last = hi
        ctx.progress.advance(count, records=count)
    state.save_raw_id(entity, last)


BATCH_TABLE = "pd_incident_batch"
FIELDS = {  # column of the batch table: (path in the incident record, kind)
    "number_type": ("$.incident_number", "type"),
    "number": ("$.incident_number", "value"),
    "incident_id": ("$.id", "value"),
    "url": ("$.html_url", "value"),
    "service_id": ("$.service.id", "value"),
    "title": ("$.title", "value"),
    "summary": ("$.summary", "value"),
    "status": ("$.status", "value"),
    "urgency": ("$.urgency", "value"),
    "priority_summary": ("$.priority.summary", "value"),
    "priority_name": ("$.priority.name", "value"),
    "incident_key": ("$.incident_key", "value"),
    "created_at": ("$.created_at", "timestamp"),
    "updated_at": ("$.updated_at", "timestamp"),
    "resolved_at": ("$.resolved_at", "timestamp"),
    "last_status_change_at": ("$.last_status_change_at", "timestamp"),
    "team_id": ("$.teams[0].id", "value"),
    "team_name": ("$.teams[0].summary", "value"),
    "assignments": ("$.assignments", "json"),
}


@functools.cache  # one set per dialect: the follower runs this subtask every few pages
def _incident_statements(d: SqlDialect) -> tuple[list[str], list[Any]]:
    """Read the batch's records once into a temporary table (the first list), then upsert
    its incidents, then its users, then replace its incidents' assignments."""
    fill = d.json_fields_table(
        BATCH_TABLE,
        f"FROM {RAW_INCIDENTS.name} r WHERE r.params = :params AND r.id > :lo AND r.id <= :hi",
        "r.data",
        {"raw_id": "r.id", "params": "r.params"},
        FIELDS,
    )
    origin = {
        "_raw_data_params": "b.params",
        "_raw_data_table": f"'{RAW_INCIDENTS.name}'",
        "_raw_data_id": "b.raw_id",
    }
    stamps = {"created_at": ":now", "updated_at": ":now"}
    incidents = insert_select(
        d,
        PagerDutyIncident,
        {
            "connection_id": ":cid",
            "number": "b.number",
            "id": f"COALESCE({d.as_text('b.incident_id')}, '')",
            "url": "b.url",
            "service_id": "b.service_id",
            "title": "b.title",
            "summary": "b.summary",
            "status": "b.status",
            "urgency": "b.urgency",
            "priority": "COALESCE(NULLIF(b.priority_summary, ''), b.priority_name)",
            "incident_key": "b.incident_key",
            "created_date": "b.created_at",
            "updated_date": "COALESCE(b.updated_at, b.last_status_change_at)",
            "resolved_date": "b.resolved_at",
            "last_status_change_at": "b.last_status_change_at",
            "team_id": "b.team_id",
            "team_name": "b.team_name",
            **origin,
            **stamps,
        },
        f"FROM {BATCH_TABLE} b WHERE b.number_type = 'integer' ORDER BY b.raw_id",
    )
    # assignments of the copy of each incident that won (the tool row's raw id)
    a_cols = {
        "user_id": "$.assignee.id",
        "user_name": "$.assignee.summary",
        "user_url": "$.assignee.html_url",
    }
    items = d.json_table("b.assignments", "a", {**a_cols, "at": "$.at"})
    col = {name: d.json_column("a", name, sub) for name, sub in a_cols.items()}
    user_id = d.as_text(col["user_id"])
    from_assignments = (
        f"FROM {BATCH_TABLE} b JOIN {PagerDutyIncident.__tablename__} t "
        f"ON t.connection_id = :cid AND t.number = b.number AND t._raw_data_id = b.raw_id, {items} "
        f"WHERE b.number_type = 'integer' AND {col['user_id']} IS NOT NULL AND {user_id} <> ''"
    )
    users = insert_select(
        d,
        PagerDutyUser,
        {
            "connection_id": ":cid",
            "id": user_id,
            "name": col["user_name"],
            "url": col["user_url"],
            **origin,
            **stamps,
        },
        f"{from_assignments} ORDER BY b.raw_id",
    )
    drop_assignments = d.delete_in(
        PagerDutyAssignment.__tablename__,
        "incident_number",
        f"SELECT number AS k FROM {BATCH_TABLE} WHERE number_type = 'integer'",
        "d.connection_id = :cid",
    )
    at = d.iso_timestamp(d.json_column("a", "at", "$.at"))
    assignments = insert_select(
        d,
        PagerDutyAssignment,
        {
            "connection_id": ":cid",
            "incident_number": "b.number",
            "user_id": user_id,
            "assigned_at": f"MAX({at})",  # one row per user: the latest assignment
            "_raw_data_params": "MAX(b.params)",
            "_raw_data_table": f"'{RAW_INCIDENTS.name}'",
            "_raw_data_id": "MAX(b.raw_id)",
            **stamps,
        },
        f"{from_assignments} GROUP BY b.number, {user_id}",
    )
    statements = [incidents, users, drop_assignments, assignments, d.drop_temp(BATCH_TABLE)]
    return fill, [typed(stmt) if isinstance(stmt, str) else stmt for stmt in statements]
