"""Extract and convert (set-based SQL) agree with a plain-Python reference of PagerDuty's rules.

Raw records with the awkward cases — zone offsets, junk and missing timestamps, unknown or
upper-case statuses, resolutions without `resolved_at`, repeated copies of one incident,
reassignments, ties between assignments, records that are no incident at all — go through
extract and convert on each database; every column is compared with what the reference says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from core.collect import RawWriter, raw_params
from core.context import AppContext
from core.models import BoardIssue, Issue, IssueAssignee
from core.pipeline.task import execute_task
from plugins.pagerduty.models import RAW_INCIDENTS, PagerDutyIncident
from plugins.pagerduty.tasks.common import parse_time

SERVICE = "PSVC001"
PARAMS = raw_params(ConnectionId=1, ScopeId=SERVICE)


def _svc(sid: str = SERVICE) -> dict[str, Any]:
    return {"id": sid, "type": "service_reference", "summary": "checkout"}


def _assign(uid: str, at: Any, name: str | None = None) -> dict[str, Any]:
    return {
        "at": at,
        "assignee": {"id": uid, "summary": name or f"User {uid}", "html_url": f"https://u/{uid}"},
    }


def _inc(number: Any, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"Q{number}",
        "type": "incident",
        "incident_number": number,
        "html_url": f"https://pd/incidents/Q{number}",
        "title": f"title {number}",
        "summary": f"[#{number}] summary",
        "status": "triggered",
        "urgency": "high",
        "service": _svc(),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:05:00Z",
        "last_status_change_at": "2024-01-01T00:05:00Z",
        "assignments": [],
        "teams": [{"id": "PT1", "summary": "Payments"}],
        "priority": {"id": "PP", "summary": "P2", "name": "P2"},
    }
    base.update(fields)
    return base


RECORDS: list[Any] = [
    _inc(1, assignments=[_assign("PA", "2024-01-01T00:01:00Z"), _assign("PB", "2024-01-01T00:02:00Z")]),
    _inc(
        2,
        status="acknowledged",
        created_at="2024-03-01T10:00:00+02:00",
        updated_at="2024-03-01T10:30:00-01:30",
    ),
    _inc(3, status="resolved", resolved_at=None, last_status_change_at="2024-01-01T02:00:30Z"),
    _inc(4, status="RESOLVED", resolved_at="2024-01-01T01:59:59Z"),
    _inc(5, status="snoozed"),
    _inc(6, status=None, created_at="not a date", updated_at=12345, last_status_change_at=None),
    _inc(7, status="resolved", created_at="2024-01-02T00:00:00Z", resolved_at="2024-01-01T00:00:00Z"),
    _inc(8, assignments=[_assign("PZ", "2024-01-01T00:01:00Z"), _assign("PY", "2024-01-01T00:01:00Z")]),
    _inc(
        9, assignments=[_assign("PA", None), _assign("PB", "2024-01-01T00:00:01Z")], priority=None, teams=[]
    ),
    _inc(10, created_at="2024-01-01T00:00:00.123456Z", priority={"name": "SEV-1", "summary": ""}),
    _inc(11, assignments=[_assign("PA", "2024-01-01T00:01:00Z"), _assign("PA", "2024-01-01T00:03:00Z")]),
    _inc(
        1,
        status="resolved",
        resolved_at="2024-01-01T01:00:00Z",
        assignments=[_assign("PC", "2024-01-01T00:30:00Z")],
    ),
    ["not", "an", "incident"],
    "just text",
    {"id": "QX", "title": "no number"},
    _inc("12"),  # a numeric string is no incident number
    _inc(True),
]


# ---------------------------------------------------------------------------------------- reference


def _ts(value: Any) -> datetime | None:
    """ISO-8601 → naive UTC, kept to the millisecond (as both databases store it); junk → None."""
    parsed = parse_time(value)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000) if parsed else None


def _reference() -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str]]]:
    latest: dict[int, dict[str, Any]] = {}
    for rec in RECORDS:  # raw-id order: a later copy wins
        number = rec.get("incident_number") if isinstance(rec, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            latest[number] = rec
    issues: dict[str, dict[str, Any]] = {}
    assignees: set[tuple[str, str, str]] = set()
    for number, rec in latest.items():
        iid = f"pagerduty:Incident:1:{number}"
        status = rec.get("status")
        created = _ts(rec.get("created_at"))
        resolved = None
        if (status or "").lower() == "resolved":
            resolved = _ts(rec.get("resolved_at")) or _ts(rec.get("last_status_change_at"))
        lead = None
        if created is not None and resolved is not None and resolved >= created:
            lead = int((resolved - created).total_seconds() // 60)
        people: dict[str, tuple[datetime | None, str]] = {}
        for a in rec.get("assignments") or []:
            uid, at = a["assignee"]["id"], _ts(a.get("at"))
            if uid not in people or (at or datetime.min) > (people[uid][0] or datetime.min):
                people[uid] = (at, a["assignee"]["summary"])
        top = max(people.items(), key=lambda p: (p[1][0] or datetime.min, p[0])) if people else None
        priority = rec.get("priority")
        teams = rec.get("teams") or []
        issues[iid] = {
            "url": rec["html_url"],
            "issue_key": str(number),
            "title": rec["title"],
            "description": rec["summary"],
            "type": "INCIDENT",
            "status": {"triggered": "TODO", "acknowledged": "IN_PROGRESS", "resolved": "DONE"}.get(
                (status or "").lower(), "OTHER"
            ),
            "original_status": status,
            "created_date": created,
            "updated_date": _ts(rec.get("updated_at")) or _ts(rec.get("last_status_change_at")),
            "resolution_date": resolved,
            "lead_time_minutes": lead,
            "priority": (priority.get("summary") or priority.get("name")) if priority else None,
            "urgency": rec["urgency"],
            "assignee_id": top[0] if top else None,
            "assignee_name": top[1][1] if top else None,
            "team": teams[0]["summary"] if teams else None,
        }
        assignees |= {(iid, uid, name) for uid, (_, name) in people.items()}
    return issues, assignees


# --------------------------------------------------------------------------------------------- test


@pytest.fixture
def converted(ctx: AppContext) -> AppContext:
    ctx.connections.create("pagerduty", {"name": "rules", "token": "rules-token-123456"})
    with RawWriter(ctx.db, RAW_INCIDENTS, PARAMS) as writer:
        for rec in RECORDS:
            writer.add(orjson.dumps(rec).decode(), url="/incidents")
    execute_task(ctx, "pagerduty", {"connectionId": 1, "scopeId": SERVICE}, skip_collectors=True)
    return ctx


def test_issues_follow_the_reference(converted: AppContext) -> None:
    expected, expected_assignees = _reference()
    with converted.db.session() as s:
        got = {i.id: i for i in s.scalars(select(Issue))}
        assignees = {(a.issue_id, a.assignee_id, a.assignee_name) for a in s.scalars(select(IssueAssignee))}
        links = {(b, i) for b, i in s.execute(select(BoardIssue.board_id, BoardIssue.issue_id))}
    assert set(got) == set(expected)
    for iid, columns in expected.items():
        for column, value in columns.items():
            assert getattr(got[iid], column) == value, (iid, column)
    assert assignees == expected_assignees
    assert links == {(f"pagerduty:Service:1:{SERVICE}", iid) for iid in expected}


def test_tool_rows_keep_the_last_copy_and_provenance(converted: AppContext) -> None:
    with converted.db.session() as s:
        tool = {t.number: t for t in s.scalars(select(PagerDutyIncident))}
        raw_ids = {i: d for i, d in s.execute(select(RAW_INCIDENTS.c.id, RAW_INCIDENTS.c.data))}
    assert set(tool) == set(range(1, 12))
    copy = orjson.loads(raw_ids[tool[1].raw_data_id])
    assert copy["status"] == "resolved" and tool[1].status == "resolved"
    assert all(t.raw_data_params == PARAMS and t.raw_data_table == RAW_INCIDENTS.name for t in tool.values())
    assert tool[6].created_date is None and tool[6].updated_date is None


def test_a_second_run_with_a_new_copy_updates_only_that_incident(converted: AppContext) -> None:
    with RawWriter(converted.db, RAW_INCIDENTS, PARAMS) as writer:
        writer.add(orjson.dumps(_inc(8, status="resolved", resolved_at="2024-01-01T03:00:00Z")).decode())
    execute_task(converted, "pagerduty", {"connectionId": 1, "scopeId": SERVICE}, skip_collectors=True)
    with converted.db.session() as s:
        issue = s.get(Issue, "pagerduty:Incident:1:8")
        people = s.scalars(
            select(IssueAssignee).where(IssueAssignee.issue_id == "pagerduty:Incident:1:8")
        ).all()
    assert issue is not None and issue.status == "DONE" and issue.lead_time_minutes == 180
    assert issue.assignee_id is None and people == []  # the new copy has no assignments
