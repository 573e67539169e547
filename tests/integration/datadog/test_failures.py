"""DORA failures against the simulator over real HTTP: windows, incremental runs, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.context import AppContext
from core.http import AuthError, MalformedResponse, RequestRejected, RetriesExhausted
from core.models import Board, BoardIssue, CollectorState, Issue
from core.pipeline.task import SubtaskFailed
from plugins.datadog import api
from plugins.datadog.models import RAW_FAILURES
from tests.integration.datadog.conftest import (
    SimFactory,
    actual_failures,
    add_scope,
    connect,
    expected_failures,
    run,
    table_snapshot,
)


def test_12000_failures_in_one_month_then_incremental(ctx: AppContext, dd_sim: SimFactory) -> None:
    """Twelve times the page cap in one month: every failure once; a rerun changes nothing;
    20 new and 15 newly finished failures are picked up by an incremental run."""
    sim = dd_sim(12_000, days=30)
    cid = connect(ctx, sim)
    scope = add_scope(ctx, cid)
    run(ctx, cid, scope)
    expected = expected_failures(sim.store, cid)
    assert len(expected) == 12_000
    assert actual_failures(ctx) == expected
    first = sim.stats.snapshot()
    assert first["by_status"] == {"200": first["requests"]}
    assert first["requests"] < 60  # adaptive windows: about one request per 500 failures
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(BoardIssue)) == 12_000
        assert s.get(Board, f"datadog:Scope:{cid}:all").name == "scope all"

    before = table_snapshot(ctx)
    run(ctx, cid, scope)
    assert table_snapshot(ctx) == before

    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    for i in range(20):
        sim.store.add_failure(now - timedelta(minutes=30 - i), None if i % 2 else now, name=f"new {i}")
    still_open = sorted(sim.store.open_failures(), key=lambda r: r.id)
    finished = [r for r in still_open if not r.attrs["name"].startswith("new ")][:15]
    assert len(finished) == 15
    for r in finished:
        sim.store.finish_failure(r.id, now - timedelta(minutes=1))
    sim.stats.reset()
    run(ctx, cid, scope)
    assert actual_failures(ctx) == expected_failures(sim.store, cid)
    assert len(actual_failures(ctx)) == 12_020
    assert sim.stats.snapshot()["requests"] < first["requests"] + 20


def test_query_scope_collects_only_matching_failures(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(1_500, days=20, seed=3)
    cid = connect(ctx, sim)
    scope = add_scope(ctx, cid, "staging-search", "env:staging service:(search OR auth)")
    run(ctx, cid, scope)

    def match(r: object) -> bool:
        a = r.attrs  # type: ignore[attr-defined]
        return a["env"] == "staging" and bool({"search", "auth"} & set(a["services"]))

    expected = expected_failures(sim.store, cid, match)
    assert 0 < len(expected) < 1_500
    assert actual_failures(ctx) == expected
    with ctx.db.session() as s:
        boards = set(s.scalars(select(BoardIssue.board_id)))
    assert boards == {f"datadog:Scope:{cid}:staging-search"}


def test_time_after_limits_history_and_full_sync_redoes(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(600, days=60)
    cid = connect(ctx, sim)
    scope = add_scope(ctx, cid)
    cutoff = (datetime.now(UTC) - timedelta(days=20)).replace(tzinfo=None, microsecond=0)
    run(ctx, cid, scope, timeAfter=cutoff.isoformat())
    expected = {k: v for k, v in expected_failures(sim.store, cid).items() if v[2] >= cutoff}
    assert actual_failures(ctx) == expected
    run(ctx, cid, scope, fullSync=True, timeAfter=cutoff.isoformat())
    assert actual_failures(ctx) == expected
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RAW_FAILURES)) == len(expected)


def test_faults_give_the_same_tables_as_a_clean_run(ctx: AppContext, dd_sim: SimFactory) -> None:
    clean = dd_sim(2_500, days=30, seed=7)
    cid = connect(ctx, clean, "clean")
    add_scope(ctx, cid)
    run(ctx, cid, "all")
    clean_rows = {k.split(":")[-1]: v for k, v in actual_failures(ctx).items()}

    faulty = dd_sim(2_500, days=30, seed=7)
    faulty.config.update(
        {
            "error_rate_5xx": 0.15,
            "rate_429": 0.15,
            "html_429_fraction": 0.5,
            "malformed_rate": 0.05,
            "seed": 3,
        }
    )
    fid = connect(ctx, faulty, "faulty")
    add_scope(ctx, fid)
    run(ctx, fid, "all")
    faulty_rows = {
        k.split(":")[-1]: v
        for k, v in actual_failures(ctx).items()
        if k.startswith(f"datadog:Failure:{fid}:")
    }
    assert faulty_rows == clean_rows
    stats = faulty.stats.snapshot()["by_status"]
    assert stats.get("429", 0) > 0 and sum(v for k, v in stats.items() if k.startswith("5")) > 0


def test_rejected_application_key_fails_at_once_naming_connection_and_key(
    ctx: AppContext, dd_sim: SimFactory
) -> None:
    sim = dd_sim(10)
    cid = connect(ctx, sim, "prod-dd", appKey="wrong-application-key-value")
    add_scope(ctx, cid)
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, "all")
    assert isinstance(info.value.cause, AuthError)
    text = str(info.value)
    assert f"datadog connection {cid} (prod-dd)" in text
    assert "application key" in text and "wr" in text and "wrong-application-key-value" not in text
    assert sim.stats.snapshot()["requests"] == 2  # the rejected list + one validate; no retries


def test_rejected_api_key_is_named(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(10)
    cid = connect(ctx, sim, apiKey="wrong-api-key-value-123")
    add_scope(ctx, cid)
    with pytest.raises(SubtaskFailed, match="rejected the API key"):
        run(ctx, cid, "all")


def test_datadog_400_body_is_shown_as_written(
    ctx: AppContext, dd_sim: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = dd_sim(10)
    cid = connect(ctx, sim)
    add_scope(ctx, cid)
    monkeypatch.setitem(api.LIST_TYPES, "failures", "dora_failure_list")
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, "all")
    assert isinstance(info.value.cause, RequestRejected)
    assert "Bad Request: invalid type 'dora_failure_list': expected 'dora_failures_list_request'" in str(
        info.value
    )


def test_malformed_page_fails_keeps_state_then_recovers(ctx: AppContext, dd_sim: SimFactory) -> None:
    sim = dd_sim(3_000, days=28)
    cid = connect(ctx, sim)
    add_scope(ctx, cid)
    since = (datetime.now(UTC) - timedelta(days=29)).replace(tzinfo=None).isoformat()
    sim.add_rule("malformed", skip=3)
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, "all", timeAfter=since)
    assert info.value.subtask == "collectFailures"
    assert isinstance(info.value.cause, MalformedResponse | RetriesExhausted)
    with ctx.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(RAW_FAILURES))
        state = s.scalars(select(CollectorState).where(CollectorState.entity == "failures")).all()
    assert stored and stored > 0
    assert state == []
    sim.config.clear_faults()
    run(ctx, cid, "all", timeAfter=since)
    assert actual_failures(ctx) == expected_failures(sim.store, cid)
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 3_000
