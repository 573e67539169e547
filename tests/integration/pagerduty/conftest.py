"""PagerDuty integration fixtures: a simulator over real HTTP and helpers to compare tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.context import AppContext
from core.models import Board, BoardIssue, Issue, IssueAssignee
from core.pipeline.task import execute_task
from plugins.pagerduty import api
from plugins.pagerduty.simulator import PagerDutySimulator, ServiceSpec, Store, generate
from tests.support.simulators import fast_backoff_fixture, start_on_demand

NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
SimFactory = Callable[..., PagerDutySimulator]
_fast_backoff = fast_backoff_fixture(api)


def _simulator(
    n: int = 200, services: int | list[ServiceSpec] = 2, *, days: int = 365, seed: int = 1, **kw: Any
) -> PagerDutySimulator:
    """What ``pd_sim(...)`` starts: ``n`` incidents over the last ``days``, on the wall clock."""
    store = generate(
        n,
        services,
        start=NOW - timedelta(days=days),
        end=NOW - timedelta(minutes=5),
        seed=seed,
        freeze_clock=False,
        **kw,
    )
    return PagerDutySimulator(store)


@pytest.fixture
def pd_sim() -> Iterator[SimFactory]:
    """PagerDuty simulators started on demand, all stopped at teardown."""
    yield from start_on_demand(_simulator)


def connect(ctx: AppContext, sim: PagerDutySimulator, name: str = "pd", token: str | None = None) -> int:
    record = ctx.connections.create(
        "pagerduty",
        {
            "name": name,
            "endpoint": sim.url,
            "token": token or sim.config.token,
            "rateLimitPerHour": 10_000_000,
        },
    )
    return record.id


def service_ids(store: Store) -> list[str]:
    return list(store.services)


def run(ctx: AppContext, connection_id: int, service: str, **options: Any) -> None:
    execute_task(ctx, "pagerduty", {"connectionId": connection_id, "scopeId": service, **options})


def expected_issues(
    store: Store, connection_id: int, service: str | None = None
) -> dict[str, tuple[Any, ...]]:
    """What `issues` must hold for the simulator's incidents (status, dates, lead time, assignee)."""
    out = {}
    for inc in store:
        d = store.incident_dict(inc)
        if service is not None and d["service"]["id"] != service:
            continue
        resolved = _t(d.get("resolved_at")) if d["status"] == "resolved" else None
        if d["status"] == "resolved" and resolved is None:
            resolved = _t(d.get("last_status_change_at"))
        created = _t(d["created_at"])
        assignments = d.get("assignments") or []
        latest = (
            max(assignments, key=lambda a: (a["at"], a["assignee"]["id"]))["assignee"]["id"]
            if assignments
            else None
        )
        out[f"pagerduty:Incident:{connection_id}:{d['incident_number']}"] = (
            d["html_url"],
            {"triggered": "TODO", "acknowledged": "IN_PROGRESS", "resolved": "DONE"}[d["status"]],
            d["status"],
            d["title"],
            d["summary"],
            created,
            resolved,
            int((resolved - created).total_seconds() // 60) if resolved and created else None,
            (d.get("priority") or {}).get("summary"),
            d["urgency"],
            latest,
        )
    return out


def actual_issues(ctx: AppContext) -> dict[str, tuple[Any, ...]]:
    with ctx.db.session() as s:
        return {
            i.id: (
                i.url,
                i.status,
                i.original_status,
                i.title,
                i.description,
                i.created_date,
                i.resolution_date,
                i.lead_time_minutes,
                i.priority,
                i.urgency,
                i.assignee_id,
            )
            for i in s.scalars(select(Issue))
        }


def table_snapshot(ctx: AppContext) -> dict[str, Any]:
    """Domain rows minus bookkeeping columns, to compare two runs."""
    skip = {"created_at", "updated_at", "_raw_data_id"}
    out: dict[str, Any] = {}
    with ctx.db.session() as s:
        for model in (Issue, IssueAssignee, Board, BoardIssue):
            cols = [c for c in model.__table__.columns if c.name not in skip]
            out[model.__tablename__] = sorted(tuple(r) for r in s.execute(select(*cols)).all())
    return out


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else None
