"""The PagerDuty plugin against the simulator over real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.context import AppContext
from core.http import AuthError, MalformedResponse, RequestRejected, RetriesExhausted
from core.models import Board, BoardIssue, CollectorState, Issue
from core.pipeline.task import SubtaskFailed
from core.services.errors import InvalidInput
from plugins.pagerduty.models import RAW_INCIDENTS
from plugins.pagerduty.simulator import ServiceSpec
from tests.integration.pagerduty.conftest import (
    SimFactory,
    actual_issues,
    connect,
    expected_issues,
    run,
    service_ids,
    table_snapshot,
)


def test_25000_incidents_of_one_service_all_arrive_once(ctx: AppContext, pd_sim: SimFactory) -> None:
    """More than twice PagerDuty's 10,000 offset cap in one six-month window: windows are split."""
    sim = pd_sim(25_000, [ServiceSpec("checkout", id="PCHKOUT")], days=170)
    cid = connect(ctx, sim)
    run(ctx, cid, "PCHKOUT")
    expected = expected_issues(sim.store, cid)
    assert len(expected) == 25_000
    assert actual_issues(ctx) == expected
    stats = sim.stats.snapshot()
    assert stats["by_status"].get("400", 0) == 0  # never ran into the offset cap
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(BoardIssue)) == 25_000
        assert s.get(Board, f"pagerduty:Service:{cid}:PCHKOUT").name == "checkout"
    before = table_snapshot(ctx)
    run(ctx, cid, "PCHKOUT")
    assert table_snapshot(ctx) == before


def test_each_service_is_its_own_board(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(300, 3)
    cid = connect(ctx, sim)
    for service in service_ids(sim.store):
        run(ctx, cid, service)
    assert actual_issues(ctx) == expected_issues(sim.store, cid)
    with ctx.db.session() as s:
        per_board = dict(
            s.execute(select(BoardIssue.board_id, func.count()).group_by(BoardIssue.board_id)).all()
        )
    counts = {f"pagerduty:Service:{cid}:{sid}": sim.store.count(sid) for sid in service_ids(sim.store)}
    assert per_board == counts


def test_time_after_limits_history(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(400, 1, days=100)
    cid = connect(ctx, sim)
    service = service_ids(sim.store)[0]
    from tests.integration.pagerduty.conftest import NOW

    cutoff = NOW.replace(microsecond=0) - __import__("datetime").timedelta(days=30)
    run(ctx, cid, service, timeAfter=cutoff.isoformat())
    expected = {k: v for k, v in expected_issues(sim.store, cid).items() if v[5] >= cutoff}
    assert actual_issues(ctx) == expected


def test_faults_give_the_same_tables_as_a_clean_run(ctx: AppContext, pd_sim: SimFactory) -> None:
    clean = pd_sim(1_500, 1, seed=7)
    cid = connect(ctx, clean, "clean")
    service = service_ids(clean.store)[0]
    run(ctx, cid, service)
    clean_rows = {k.split(":")[-1]: v for k, v in actual_issues(ctx).items()}

    faulty = pd_sim(1_500, 1, seed=7)
    faulty.config.update({"error_rate_5xx": 0.10, "rate_429": 0.05, "ratelimit_reset": 1, "seed": 3})
    fid = connect(ctx, faulty, "faulty")
    run(ctx, fid, service)
    faulty_rows = {
        k.split(":")[-1]: v
        for k, v in actual_issues(ctx).items()
        if k.startswith(f"pagerduty:Incident:{fid}:")
    }
    assert faulty_rows == clean_rows
    stats = faulty.stats.snapshot()["by_status"]
    assert stats.get("429", 0) > 0 and sum(v for k, v in stats.items() if k.startswith("5")) > 0


def test_rejected_token_fails_at_once_naming_the_connection(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(10, 1)
    cid = connect(ctx, sim, "prod-pd", token="wrong-token-value")
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, service_ids(sim.store)[0])
    assert isinstance(info.value.cause, AuthError)
    assert f"pagerduty connection {cid} (prod-pd)" in str(info.value)
    assert sim.stats.snapshot()["requests"] == 1  # no retries on 401


def test_pagerduty_400_message_surfaces(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(10, 1)
    cid = connect(ctx, sim)
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, "PNOSUCH")  # unknown service → PagerDuty's 404 body
    assert isinstance(info.value.cause, RequestRejected)
    assert "Not Found" in str(info.value)


def test_malformed_page_fails_keeps_stored_windows_and_state(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(1_000, 1, days=300)
    cid = connect(ctx, sim)
    service = service_ids(sim.store)[0]
    sim.add_rule("malformed", path="/incidents", offset="300")
    with pytest.raises(SubtaskFailed) as info:
        run(ctx, cid, service)
    assert info.value.subtask == "collectIncidents"
    assert isinstance(info.value.cause, MalformedResponse | RetriesExhausted)
    assert "gave up after" in str(info.value)
    with ctx.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(RAW_INCIDENTS))
        state = s.scalars(select(CollectorState).where(CollectorState.entity == "incidents")).all()
    assert stored and stored > 0  # pages that arrived are kept
    assert state == []  # the failed run did not advance the incremental state
    sim.config.clear_faults()
    run(ctx, cid, service)
    assert actual_issues(ctx) == expected_issues(sim.store, cid)
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 1_000


def test_connection_test_messages(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(5, 1)
    assert "connected" in ctx.connections.test_payload(
        "pagerduty", {"endpoint": sim.url, "token": "sim-token"}
    )
    with pytest.raises(InvalidInput, match="rejected the API token"):
        ctx.connections.test_payload("pagerduty", {"endpoint": sim.url, "token": "bad-token"})
    with pytest.raises(InvalidInput, match="is this a PagerDuty API host"):
        ctx.connections.test_payload(
            "pagerduty", {"endpoint": sim.url + "/nothing-here", "token": "sim-token"}
        )
    with pytest.raises(InvalidInput, match="cannot reach"):
        ctx.connections.test_payload("pagerduty", {"endpoint": "http://127.0.0.1:9", "token": "sim-token"})


def test_remote_scopes_lists_and_searches_services(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(20, [ServiceSpec(f"svc-{i:03d}") for i in range(150)])
    cid = connect(ctx, sim)
    p = ctx.registry.get("pagerduty")
    model = ctx.connections.model("pagerduty", cid)
    first = p.remote_scopes(cid, model, search=None, page_token=None)
    assert len(first.children) == 100 and first.next_page_token == "100"
    second = p.remote_scopes(cid, model, search=None, page_token=first.next_page_token)
    assert len(second.children) == 50 and second.next_page_token is None
    found = p.remote_scopes(cid, model, search="svc-14", page_token=None)
    assert sorted(c.name for c in found.children) == [f"svc-14{i}" for i in range(10)]


def test_pagerduty_400_body_is_shown_as_pagerduty_wrote_it(ctx: AppContext, pd_sim: SimFactory) -> None:
    from plugins.pagerduty import api

    sim = pd_sim(10, 1)
    cid = connect(ctx, sim, "eu-prod")
    with (
        api.make_client(cid, ctx.connections.model("pagerduty", cid)) as client,
        pytest.raises(RequestRejected) as info,
    ):
        client.get_json("/incidents", params={"offset": 9_950, "limit": 100})
    assert info.value.status == 400
    assert "Invalid Input Provided: Offset must be less than 10000" in str(info.value)
    assert f"pagerduty connection {cid} (eu-prod)" in str(info.value)
