"""Monitor alerts as incidents, DORA deployments, connection tests, remote scopes, notifications."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.context import AppContext
from core.models import CicdDeployment, CicdDeploymentCommit, CicdScope, Issue
from core.services.errors import InvalidInput
from plugins.datadog.simulator import Store, generate
from plugins.datadog.simulator.data import ns_to_datetime
from tests.integration.datadog.conftest import NOW, SimFactory, add_scope, connect, run, table_snapshot


def _monitor_issues(ctx: AppContext) -> dict[str, tuple[object, ...]]:
    with ctx.db.session() as s:
        return {
            i.id: (i.status, i.created_date, i.resolution_date)
            for i in s.scalars(select(Issue).where(Issue.id.like("datadog:MonitorIncident:%")))
        }


def _ms(ms: int | None) -> datetime | None:
    return None if ms is None else ns_to_datetime(ms * 1_000_000)


@pytest.mark.parametrize("events_api", ["v2", "v1"])
def test_alert_renotify_recover_twice_gives_two_incidents(
    ctx: AppContext, dd_sim: SimFactory, events_api: str
) -> None:
    store = Store()
    t0 = NOW - timedelta(days=2)
    group = ["host:web-1", "env:prod"]
    for transition, minutes in [("alert", 0), ("renotify", 10), ("renotify", 20), ("recovery", 35),
                                ("alert", 300), ("renotify", 310), ("recovery", 400)]:  # fmt: skip
        store.add_monitor_event(
            42, transition, t0 + timedelta(minutes=minutes), groups=group, name="CPU high"
        )
    store.add_monitor_event(42, "alert", t0 + timedelta(minutes=5), groups=["host:web-2"], name="CPU high")
    sim = dd_sim(store=store)
    cid = connect(ctx, sim)
    add_scope(ctx, cid, "mon", kinds=["monitors"])
    since = (NOW - timedelta(days=3)).isoformat()
    run(ctx, cid, "mon", timeAfter=since, monitorEventsApi=events_api)
    key = "env:prod,host:web-1"
    ms = int((t0 - datetime(1970, 1, 1)).total_seconds() * 1000)
    web2 = f"datadog:MonitorIncident:{cid}:42:host:web-2:{ms + 5 * 60_000}"
    assert _monitor_issues(ctx) == {
        f"datadog:MonitorIncident:{cid}:42:{key}:{ms}": ("DONE", t0, t0 + timedelta(minutes=35)),
        f"datadog:MonitorIncident:{cid}:42:{key}:{ms + 300 * 60_000}": (
            "DONE", t0 + timedelta(minutes=300), t0 + timedelta(minutes=400),
        ),
        web2: ("TODO", t0 + timedelta(minutes=5), None),
    }  # fmt: skip
    with ctx.db.session() as s:
        issue = s.get(Issue, web2)
        assert (issue.title, issue.type, issue.service, issue.environment) == (
            "CPU high (host:web-2)", "INCIDENT", "checkout", "production",
        )  # fmt: skip

    # the open alert is closed by the recovery a later run collects
    store.add_monitor_event(
        42, "recovery", t0 + timedelta(minutes=90), groups=["host:web-2"], name="CPU high"
    )
    run(ctx, cid, "mon", timeAfter=since, monitorEventsApi=events_api, lookbackHours=72)
    assert _monitor_issues(ctx)[web2] == ("DONE", t0 + timedelta(minutes=5), t0 + timedelta(minutes=90))
    assert len(_monitor_issues(ctx)) == 3


def test_generated_monitors_match_the_episode_truth(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(0, days=20, monitors=40, episodes_per_group=4)
    cid = connect(ctx, sim)
    add_scope(ctx, cid, "mon", kinds=["monitors"])
    run(ctx, cid, "mon", timeAfter=(NOW - timedelta(days=21)).isoformat())
    expected = {
        f"datadog:MonitorIncident:{cid}:{e.monitor_id}:{e.group_key}:{e.alert_ms}": (
            "DONE" if e.recovery_ms else "TODO",
            _ms(e.alert_ms),
            _ms(e.recovery_ms),
        )
        for e in sim.store.episodes.values()
    }
    assert len(expected) > 100
    assert _monitor_issues(ctx) == expected
    before = table_snapshot(ctx)
    run(ctx, cid, "mon")
    assert table_snapshot(ctx) == before


def test_deployments_become_cicd_deployments_with_one_commit_each(
    ctx: AppContext, dd_sim: SimFactory
) -> None:
    sim = dd_sim(100, 1_500, days=15)
    cid = connect(ctx, sim)
    add_scope(ctx, cid, "dora", kinds=["failures", "deployments"])
    run(ctx, cid, "dora")
    scope_row = f"datadog:Scope:{cid}:dora"
    with ctx.db.session() as s:
        deployments = {d.id: d for d in s.scalars(select(CicdDeployment))}
        commits = {c.id: c for c in s.scalars(select(CicdDeploymentCommit))}
        assert s.get(CicdScope, scope_row) is not None
    assert len(deployments) == 1_500 and set(commits) == set(deployments)
    envs = {"production": "PRODUCTION", "staging": "STAGING", "dev": "DEVELOPMENT"}
    for rec in sim.store.deployments.by_id.values():
        did = f"datadog:Deployment:{cid}:{rec.id}"
        d, c = deployments[did], commits[did]
        git = rec.attrs.get("git") or {}
        assert (d.cicd_scope_id, d.result, d.status, d.environment, d.original_environment) == (
            scope_row, "SUCCESS", "DONE", envs[rec.attrs["env"]], rec.attrs["env"],
        )  # fmt: skip
        assert (d.started_date, d.finished_date, d.version) == (
            ns_to_datetime(rec.started_ns), ns_to_datetime(rec.finished_ns or 0), rec.attrs["version"],
        )  # fmt: skip
        assert (c.commit_sha, c.repo_url, c.cicd_deployment_id, c.version, c.environment) == (
            git.get("commit_sha", ""), git.get("repository_url"), did, rec.attrs["version"], d.environment,
        )  # fmt: skip
    plugin = ctx.registry.get("datadog")
    scope = ctx.scopes.get("datadog", cid, "dora")
    assert plugin.project_scopes(cid, scope) == [("boards", scope_row), ("cicd_scopes", scope_row)]


def test_connection_test_names_the_wrong_key(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(5)
    good = {"endpoint": sim.url, "apiKey": sim.config.api_key, "appKey": sim.config.app_key}
    assert "accepted" in ctx.connections.test_payload("datadog", good)
    with pytest.raises(InvalidInput, match="rejected the API key"):
        ctx.connections.test_payload("datadog", {**good, "apiKey": "bad-api-key-0000"})
    with pytest.raises(InvalidInput, match="accepted the API key but rejected the application key"):
        ctx.connections.test_payload("datadog", {**good, "appKey": "bad-app-key-0000"})
    with pytest.raises(InvalidInput, match="cannot reach"):
        ctx.connections.test_payload("datadog", {**good, "endpoint": "http://127.0.0.1:9"})


def test_remote_scopes_suggest_filters_from_recent_data(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(300, 300, days=10)
    cid = connect(ctx, sim)
    model = ctx.connections.model("datadog", cid)
    page = ctx.registry.get("datadog").remote_scopes(cid, model, search=None, page_token=None)
    by_id = {c.id: c for c in page.children}
    assert {"all-dora", "all-monitors", "service-checkout", "env-production", "team-backend"} <= set(by_id)
    assert by_id["service-checkout"].data == {
        "id": "service-checkout",
        "name": by_id["service-checkout"].name,
        "query": "service:checkout",
        "kinds": ["failures", "deployments", "monitors"],
    }
    found = ctx.registry.get("datadog").remote_scopes(cid, model, search="payments", page_token=None)
    assert [c.id for c in found.children] == ["service-payments"]
    ctx.scopes.put("datadog", cid, {"data": [by_id["service-checkout"].data]})  # a suggestion saves as is


def test_pipeline_notification_is_posted_and_failures_only_logged(
    ctx: AppContext, dd_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = dd_sim(5)
    cid = connect(ctx, sim)
    plugin = ctx.registry.get("datadog")
    model = ctx.connections.model("datadog", cid)
    summary = {
        "pipelineId": 7,
        "blueprintId": 3,
        "blueprintName": "nightly " + "x" * 200,
        "projectName": "shop",
        "status": "TASK_FAILED",
        "message": "subtask collectFailures failed: " + "boom " * 500,
        "records": {"datadog": 120, "pagerduty": 30},
        "tasks": [{"plugin": "datadog", "scopeId": f"s{i}", "status": "TASK_FAILED"} for i in range(80)],
        "dora": {"changeFailureRate": {"value": 0.25, "level": "high"}},
    }
    plugin.notify(cid, model, summary)
    [event] = sim.store.received()
    assert event["alert_type"] == "error" and len(event["text"]) <= 4000 and len(event["title"]) <= 100
    assert event["aggregation_key"] == "incidentlake-blueprint-3"
    assert "blueprint:3" in event["tags"] and "| datadog | 120 |" in event["text"]
    assert "25.0%" in event["text"]
    plugin.notify(cid, model, {"pipelineId": 8, "blueprintId": 3, "status": "TASK_COMPLETED"})
    assert sim.store.received()[-1]["alert_type"] == "success"

    bad = ctx.connections.model("datadog", connect(ctx, sim, "bad", apiKey="nope-nope-nope"))
    with caplog.at_level(logging.WARNING):
        plugin.notify(cid, bad, summary)  # never raises
    assert "not sent to Datadog" in caplog.text
    assert len(sim.store.received()) == 2


def test_generated_store_is_deterministic() -> None:
    a = generate(50, 50, start=NOW - timedelta(days=5), end=NOW, seed=9, monitors=3)
    b = generate(50, 50, start=NOW - timedelta(days=5), end=NOW, seed=9, monitors=3)
    assert [r.to_json() for r in a.failures.by_id.values()] == [
        r.to_json() for r in b.failures.by_id.values()
    ]
    assert [e.v2() for e in a.events] == [e.v2() for e in b.events]
