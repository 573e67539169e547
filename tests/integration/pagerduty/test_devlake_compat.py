"""Extracting and converting DevLake's real PagerDuty records gives DevLake's `issues` rows.

Differences on purpose (not compared): `title` (DevLake leaves it empty; we keep PagerDuty's
title and put the summary in `description` as DevLake does), `original_type` ("incident"),
`updated_date` (PagerDuty's `updated_at` when the record has it, else `last_status_change_at`
as DevLake), and our extension columns (`service`, `team`).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from core.context import AppContext
from core.models import Issue, IssueAssignee
from core.pipeline.task import execute_task
from plugins.pagerduty.models import RAW_INCIDENTS

COMPARED = [
    "id",
    "url",
    "issue_key",
    "type",
    "status",
    "original_status",
    "created_date",
    "resolution_date",
    "lead_time_minutes",
    "urgency",
    "assignee_id",
    "assignee_name",
]


def _reference(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "devlake" / "pagerduty_e2e"
    if not (path / "raw_tables" / "_raw_pagerduty_incidents.csv").exists():
        pytest.skip(f"DevLake reference data not found under {path}")
    return path


def _expected(value: str, column: str) -> object:
    if value == "":
        return None
    if column.endswith("_date"):
        return datetime.fromisoformat(value).replace(tzinfo=None)
    if column == "lead_time_minutes":
        return int(value)
    return value


def test_devlake_pagerduty_records_convert_to_devlake_issues(ctx: AppContext, shared_dir: Path) -> None:
    ref = _reference(shared_dir)
    ctx.connections.create("pagerduty", {"name": "devlake", "token": "devlake-e2e-token"})
    with (ref / "raw_tables" / "_raw_pagerduty_incidents.csv").open() as fh:
        raw = list(csv.DictReader(fh))
    with ctx.db.session() as s:
        s.execute(
            insert(RAW_INCIDENTS),
            [{"params": r["params"], "data": r["data"], "url": r["url"] or None, "input": None} for r in raw],
        )
    scope = raw[0]["params"].split('"ScopeId":"')[1].split('"')[0]
    execute_task(ctx, "pagerduty", {"connectionId": 1, "scopeId": scope}, skip_collectors=True)

    with (ref / "snapshot_tables" / "issues.csv").open() as fh:
        expected = {r["id"]: r for r in csv.DictReader(fh)}
    with ctx.db.session() as s:
        got = {i.id: i for i in s.scalars(select(Issue))}
        assignees = {(a.issue_id, a.assignee_id, a.assignee_name) for a in s.scalars(select(IssueAssignee))}
    assert set(got) == set(expected)
    for issue_id, row in expected.items():
        for column in COMPARED:
            assert getattr(got[issue_id], column) == _expected(row[column], column), (issue_id, column)
        assert got[issue_id].description == row["description"]

    with (ref / "snapshot_tables" / "issue_assignees.csv").open() as fh:
        expected_assignees = {
            (r["issue_id"], r["assignee_id"], r["assignee_name"]) for r in csv.DictReader(fh)
        }
    assert assignees == expected_assignees
