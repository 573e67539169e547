"""Converters: `_tool_pagerduty_*` → DevLake's domain tables (boards, issues, assignees)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select

from core.collect import stream_rows
from core.db import upsert
from core.models import Board, BoardIssue, Issue, IssueAssignee
from core.plugin import TaskContext
from plugins.pagerduty.models import (
    RAW_INCIDENTS,
    PagerDutyAssignment,
    PagerDutyIncident,
    PagerDutyService,
    PagerDutyUser,
)
from plugins.pagerduty.tasks.common import incident_id, params_of, scope_id, service_board_id, state_of

STATUS = {"triggered": "TODO", "acknowledged": "IN_PROGRESS", "resolved": "DONE"}
BATCH = 1000


def domain_status(original: str | None) -> str:
    return STATUS.get((original or "").lower(), "OTHER")


def resolution_date(
    status: str | None, resolved: datetime | None, last_change: datetime | None
) -> datetime | None:
    """`resolved_at`, else (older API answers lack it) the last status change of a resolved incident."""
    if (status or "").lower() != "resolved":
        return None
    return resolved or last_change


def lead_time_minutes(created: datetime | None, resolved: datetime | None) -> int | None:
    if created is None or resolved is None or resolved < created:
        return None
    return int((resolved - created).total_seconds() // 60)


def convert_services(ctx: TaskContext) -> None:
    service = scope_id(ctx)
    with ctx.db.session() as s:
        row = s.get(PagerDutyService, (ctx.connection_id, service))
        name = row.name if row else (ctx.scope.name if ctx.scope else None)
        upsert(
            s,
            Board,
            [
                {
                    "id": service_board_id(ctx.connection_id, service),
                    "name": name or service,
                    "description": row.description if row else None,
                    "url": (row.url if row else None) or getattr(ctx.scope, "url", None),
                    "created_date": row.created_date if row else None,
                    "type": "pagerduty_service",
                    "_raw_data_params": params_of(ctx),
                    "_raw_data_table": "_raw_pagerduty_services",
                    "_raw_data_id": row.raw_data_id if row else None,
                }
            ],
        )


def convert_incidents(ctx: TaskContext) -> None:
    """Only tool rows extracted since the last conversion (by raw id) are converted again."""
    service = scope_id(ctx)
    state = state_of(ctx)
    entity = "convert:incidents"
    last_raw = 0 if ctx.full_sync else state.raw_id(entity)
    board = service_board_id(ctx.connection_id, service)
    params = params_of(ctx)
    with ctx.db.session() as s:
        service_row = s.get(PagerDutyService, (ctx.connection_id, service))
    service_name = (service_row.name if service_row else None) or (ctx.scope.name if ctx.scope else None)
    t = PagerDutyIncident
    columns = [
        t.number, t.url, t.title, t.summary, t.status, t.resolved_date, t.last_status_change_at,
        t.created_date, t.updated_date, t.priority, t.urgency, t.team_name, t.raw_data_id.label("raw_data_id"),
    ]  # plain columns, not ORM entities: several times cheaper per row
    stmt = select(*columns).where(
        t.connection_id == ctx.connection_id, t.service_id == service, t.raw_data_id > last_raw
    )
    high_water = last_raw
    for incidents in stream_rows(ctx.db, stmt, [t.number], batch_size=BATCH):
        ctx.check_cancelled()
        numbers = [i.number for i in incidents]
        assignees = _assignees(ctx, numbers)
        issues, links, people = [], [], []
        for inc in incidents:
            iid = incident_id(ctx.connection_id, inc.number)
            resolved = resolution_date(inc.status, inc.resolved_date, inc.last_status_change_at)
            current = assignees.get(inc.number, [])
            latest = max(current, key=lambda a: (a[2] or datetime.min, a[0])) if current else None
            origin = {
                "_raw_data_params": params,
                "_raw_data_table": RAW_INCIDENTS.name,
                "_raw_data_id": inc.raw_data_id,
            }
            issues.append(
                {
                    "id": iid,
                    "url": inc.url,
                    "issue_key": str(inc.number),
                    "title": inc.title,
                    "description": inc.summary,
                    "type": "INCIDENT",
                    "original_type": "incident",
                    "status": domain_status(inc.status),
                    "original_status": inc.status,
                    "resolution_date": resolved,
                    "created_date": inc.created_date,
                    "updated_date": inc.updated_date,
                    "lead_time_minutes": lead_time_minutes(inc.created_date, resolved),
                    "priority": inc.priority,
                    "urgency": inc.urgency,
                    "assignee_id": latest[0] if latest else None,
                    "assignee_name": latest[1] if latest else None,
                    "service": service_name,
                    "team": inc.team_name,
                    "is_subtask": False,
                    **origin,
                }
            )
            links.append({"board_id": board, "issue_id": iid, **origin})
            people.extend(
                {"issue_id": iid, "assignee_id": uid, "assignee_name": name, **origin}
                for uid, name, _ in current
            )
            high_water = max(high_water, inc.raw_data_id or 0)
        ids = [i["id"] for i in issues]
        with ctx.db.session() as s:
            upsert(s, Issue, issues)
            s.execute(delete(IssueAssignee).where(IssueAssignee.issue_id.in_(ids)))
            upsert(s, IssueAssignee, people)
            # an incident moved to another service leaves its old board
            s.execute(
                delete(BoardIssue).where(
                    and_(
                        BoardIssue.issue_id.in_(ids),
                        BoardIssue.board_id != board,
                        BoardIssue.board_id.like(f"pagerduty:Service:{ctx.connection_id}:%"),
                    )
                )
            )
            upsert(s, BoardIssue, links)
        ctx.progress.advance(len(incidents), records=len(incidents))
    state.save_raw_id(entity, high_water)


def _assignees(ctx: TaskContext, numbers: list[int]) -> dict[int, list[tuple[str, str | None, Any]]]:
    a, u = PagerDutyAssignment, PagerDutyUser
    out: dict[int, list[tuple[str, str | None, Any]]] = {}
    with ctx.db.session() as s:
        rows = s.execute(
            select(a.incident_number, a.user_id, u.name, a.assigned_at)
            .join(u, and_(u.connection_id == a.connection_id, u.id == a.user_id), isouter=True)
            .where(a.connection_id == ctx.connection_id, a.incident_number.in_(numbers))
        ).all()
    for number, user_id, name, at in rows:
        out.setdefault(number, []).append((user_id, name, at))
    return out
