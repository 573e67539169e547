"""Incremental runs: new incidents and changes of earlier ones, with few requests."""

from __future__ import annotations

from sqlalchemy import func, select

from core.context import AppContext
from core.models import Issue
from plugins.pagerduty.simulator import ServiceSpec
from tests.integration.pagerduty.conftest import SimFactory, actual_issues, connect, expected_issues, run


def _open_numbers(sim: object, service: str) -> list[tuple[int, str]]:
    store = sim.store  # type: ignore[attr-defined]
    out = []
    for inc in store:
        d = store.incident_dict(inc)
        if d["service"]["id"] == service and d["status"] != "resolved":
            out.append((d["incident_number"], d["status"]))
    return out


def test_new_incidents_and_status_changes_with_few_requests(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(
        3_000, [ServiceSpec("api", id="PAPI"), ServiceSpec("web", id="PWEB")], days=60, open_fraction=0.05
    )
    cid = connect(ctx, sim)
    run(ctx, cid, "PAPI")
    assert actual_issues(ctx) == expected_issues(sim.store, cid, "PAPI")

    open_now = _open_numbers(sim, "PAPI")
    assert len(open_now) >= 40
    changes = 0
    for number, _status in open_now[:25]:  # resolutions of incidents collected as open
        sim.store.update_status(number, "resolved")
        changes += 1
    for number, status in open_now[25:]:
        if changes == 40:
            break
        if status == "triggered":
            sim.store.update_status(number, "acknowledged")
        else:
            current = (sim.store.incident_dict(sim.store.get(number)).get("priority") or {}).get("summary")
            sim.store.set_priority(number, "P2" if current == "P1" else "P1")
        changes += 1
    for _ in range(30):
        sim.store.create_incident("PAPI")
    sim.store.create_incident("PWEB")  # another service's incident is not this scope's

    sim.stats.reset()
    run(ctx, cid, "PAPI")
    requests = sim.stats.snapshot()["requests"]
    assert actual_issues(ctx) == expected_issues(sim.store, cid, "PAPI")
    assert requests < 20, requests

    sim.stats.reset()
    run(ctx, cid, "PAPI")  # nothing changed: a handful of requests
    assert sim.stats.snapshot()["requests"] <= 5
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == sim.store.count("PAPI")


def test_full_sync_recollects_everything(ctx: AppContext, pd_sim: SimFactory) -> None:
    sim = pd_sim(500, 1, days=30)
    cid = connect(ctx, sim)
    service = next(iter(sim.store.services))
    run(ctx, cid, service)
    with ctx.db.session() as s:
        s.query(Issue).delete()
    run(ctx, cid, service)  # incremental: only the small overlap window is read again
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) < 10
    run(ctx, cid, service, fullSync=True)
    assert actual_issues(ctx) == expected_issues(sim.store, cid)
