"""Datadog integration fixtures: the simulator over real HTTP and helpers to compare tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.context import AppContext
from core.models import Board, BoardIssue, CicdDeployment, CicdDeploymentCommit, Issue
from core.pipeline.task import execute_task
from plugins.datadog import api
from plugins.datadog.simulator import DatadogSimulator, Store, generate
from plugins.datadog.simulator.data import DoraRecord, ns_to_datetime
from tests.support.simulators import fast_backoff_fixture, start_on_demand

NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
SimFactory = Callable[..., DatadogSimulator]
_fast_backoff = fast_backoff_fixture(api)


def _simulator(
    failures: int = 200, deployments: int = 0, *, days: int = 30, seed: int = 1, **kw: Any
) -> DatadogSimulator:
    """What ``dd_sim(...)`` starts: data over the last ``days`` (or ``store=``), 429s retried at once."""
    store = kw.pop("store", None) or generate(
        failures,
        deployments,
        start=NOW - timedelta(days=days),
        end=NOW - timedelta(minutes=5),
        seed=seed,
        **kw,
    )
    sim = DatadogSimulator(store)
    sim.config.ratelimit_reset = 0
    return sim


@pytest.fixture
def dd_sim() -> Iterator[SimFactory]:
    """Datadog simulators started on demand, all stopped at teardown."""
    yield from start_on_demand(_simulator)


def connect(ctx: AppContext, sim: DatadogSimulator, name: str = "dd", **keys: str) -> int:
    record = ctx.connections.create(
        "datadog",
        {
            "name": name,
            "endpoint": sim.url,
            "apiKey": keys.get("apiKey", sim.config.api_key),
            "appKey": keys.get("appKey", sim.config.app_key),
            "rateLimitPerHour": 10_000_000,
        },
    )
    return record.id


def add_scope(
    ctx: AppContext, cid: int, scope_id: str = "all", query: str = "", kinds: list[str] | None = None
) -> str:
    body = {"id": scope_id, "name": f"scope {scope_id}", "query": query, "kinds": kinds or ["failures"]}
    ctx.scopes.put("datadog", cid, {"data": [body]})
    return scope_id


def run(ctx: AppContext, cid: int, scope: str, **options: Any) -> None:
    execute_task(ctx, "datadog", {"connectionId": cid, "scopeId": scope, **options})


def _ms(ns: int | None) -> datetime | None:
    """The simulator's instants are whole milliseconds."""
    return None if ns is None else ns_to_datetime(ns)


def expected_failures(
    store: Store, cid: int, match: Callable[[DoraRecord], bool] = lambda r: True
) -> dict[str, tuple[Any, ...]]:
    out = {}
    for r in store.failures.by_id.values():
        if not match(r):
            continue
        a = r.attrs
        started, finished = _ms(r.started_ns), _ms(r.finished_ns)
        out[f"datadog:Failure:{cid}:{r.id}"] = (
            a.get("name"),
            "DONE" if finished else "TODO",
            started,
            finished,
            int((finished - started).total_seconds() // 60) if finished and started else None,
            a.get("severity"),
            a.get("env"),
            (a.get("services") or [None])[0],
            a.get("team"),
            (a.get("git") or {}).get("commit_sha"),
            a.get("version"),
        )
    return out


def actual_failures(ctx: AppContext) -> dict[str, tuple[Any, ...]]:
    with ctx.db.session() as s:
        return {
            i.id: (
                i.title,
                i.status,
                i.created_date,
                i.resolution_date,
                i.lead_time_minutes,
                i.severity,
                i.environment,
                i.service,
                i.team,
                i.commit_sha,
                i.version,
            )
            for i in s.scalars(select(Issue).where(Issue.id.like("datadog:Failure:%")))
        }


def table_snapshot(ctx: AppContext) -> dict[str, Any]:
    """Domain rows minus bookkeeping columns, to compare two runs."""
    skip = {"created_at", "updated_at", "_raw_data_id"}
    out: dict[str, Any] = {}
    with ctx.db.session() as s:
        for model in (Issue, Board, BoardIssue, CicdDeployment, CicdDeploymentCommit):
            cols = [c for c in model.__table__.columns if c.name not in skip]
            out[model.__tablename__] = sorted(
                tuple("" if v is None else v for v in r) for r in s.execute(select(*cols)).all()
            )
    return out
