"""The PagerDuty simulator must behave like the real API over real HTTP, or collector tests prove nothing."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.testing.simserver import start_simulator_process
from plugins.pagerduty.simulator import FaultRule, PagerDutySimulator, ServiceSpec, SimConfig, Store, generate
from plugins.pagerduty.simulator.data import add_months, fmt_ts, parse_iso

START = "2024-01-01T00:00:00Z"
END = "2025-01-01T00:00:00Z"
TOKEN = "sim-token"
HEADERS = {"Authorization": f"Token token={TOKEN}", "Accept": "application/vnd.pagerduty+json;version=2"}
OFFSET_ERROR = {
    "error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Offset must be less than 10000"]}
}


def _store(n: int = 3000, seed: int = 7) -> Store:
    return generate(n, [ServiceSpec("alpha", 3), ServiceSpec("beta"), ServiceSpec("gamma")], START, END, seed)


@pytest.fixture(scope="module")
def shared() -> Iterator[PagerDutySimulator]:
    """Read-only simulator shared by tests that neither mutate data nor change knobs."""
    with PagerDutySimulator(_store()) as sim:
        yield sim


@pytest.fixture
def sim() -> Iterator[PagerDutySimulator]:
    """A private simulator for tests that mutate data or inject faults."""
    with PagerDutySimulator(_store(600, seed=3)) as s:
        yield s


@pytest.fixture
def client(shared: PagerDutySimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared.url, headers=HEADERS, timeout=5) as c:
        yield c


def _all(client: httpx.Client, params: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
    """Page through like a collector would."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = (
            client.get("/incidents", params={**params, "limit": limit, "offset": offset})
            .raise_for_status()
            .json()
        )
        out += body["incidents"]
        if not body["more"]:
            return out
        offset += limit


# --------------------------------------------------------------------------------------------- auth & basics


def test_auth_is_required_and_checked(shared: PagerDutySimulator) -> None:
    with httpx.Client(base_url=shared.url, timeout=5) as c:
        for headers in ({}, {"Authorization": "Token token=wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
            for path in ("/incidents", "/abilities", "/services"):
                r = c.get(path, headers=headers)
                assert r.status_code == 401
                assert r.json()["error"]["message"] == "Authentication failed"
                assert isinstance(r.json()["error"]["errors"], list)
        ok = c.get("/abilities", headers=HEADERS)
        assert ok.status_code == 200 and "sso" in ok.json()["abilities"]
        assert c.get("/users/me", headers=HEADERS).status_code == 400  # like a real account API token


def test_incident_shape_and_lookup_by_id(client: httpx.Client) -> None:
    body = client.get("/incidents", params={"date_range": "all", "limit": 100}).json()
    seen = {inc["status"] for inc in body["incidents"]}
    for inc in body["incidents"]:
        assert len(inc["id"]) == 14 and inc["id"].isupper() and inc["id"].isalnum()
        assert inc["type"] == "incident"
        assert inc["summary"] == f"[#{inc['incident_number']}] {inc['title']}"
        assert inc["html_url"] == f"https://sim.pagerduty.com/incidents/{inc['id']}"
        assert inc["service"]["type"] == "service_reference"
        assert inc["urgency"] in ("high", "low")
        assert inc["priority"] is None or inc["priority"]["summary"] in ("P1", "P2", "P3", "P4", "P5")
        assert inc["teams"][0]["type"] == "team_reference"
        assert inc["escalation_policy"]["type"] == "escalation_policy_reference"
        assert inc["created_at"].endswith("Z") and len(inc["created_at"]) == 20
        if inc["status"] == "resolved":
            assert inc["resolved_at"] >= inc["created_at"] and inc["assignments"] == []
        else:
            assert inc["resolved_at"] is None
            assert inc["assignments"][0]["assignee"]["type"] == "user_reference"
    assert "resolved" in seen
    first = body["incidents"][0]
    one = client.get(f"/incidents/{first['id']}")
    assert one.status_code == 200 and one.json() == {"incident": first}
    missing = client.get("/incidents/QXXXXXXXXXXXXX")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Not Found"
    assert missing.json()["error"]["code"] == 2100


# --------------------------------------------------------------------------------------------- pagination


def test_pagination_more_and_total(client: httpx.Client, shared: PagerDutySimulator) -> None:
    first = client.get("/incidents", params={"date_range": "all", "limit": 10}).json()
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (10, 0, True, None)
    with_total = client.get("/incidents", params={"date_range": "all", "limit": 10, "total": "true"}).json()
    assert with_total["total"] == len(shared.store) == 3000
    everything = _all(client, {"date_range": "all"})
    assert len(everything) == 3000
    assert len({i["id"] for i in everything}) == 3000
    created = [(i["created_at"], i["incident_number"]) for i in everything]
    assert created == sorted(created)
    assert [i["incident_number"] for i in everything] == list(range(1, 3001))  # numbers follow created_at
    last = client.get("/incidents", params={"date_range": "all", "limit": 100, "offset": 2950}).json()
    assert len(last["incidents"]) == 50 and last["more"] is False
    past = client.get("/incidents", params={"date_range": "all", "offset": 5000, "total": "true"}).json()
    assert past["incidents"] == [] and past["more"] is False and past["total"] == 3000
    desc = client.get(
        "/incidents", params={"date_range": "all", "sort_by": "created_at:desc", "limit": 5}
    ).json()
    assert [i["incident_number"] for i in desc["incidents"]] == [3000, 2999, 2998, 2997, 2996]


def test_default_limit_and_cap_at_100(client: httpx.Client) -> None:
    default = client.get("/incidents", params={"date_range": "all"}).json()
    assert default["limit"] == 25 and len(default["incidents"]) == 25
    capped = client.get("/incidents", params={"date_range": "all", "limit": 500}).json()
    assert capped["limit"] == 100 and len(capped["incidents"]) == 100
    assert client.get("/incidents", params={"limit": "abc"}).status_code == 400
    assert client.get("/incidents", params={"limit": 0}).status_code == 400
    assert client.get("/incidents", params={"offset": -1}).status_code == 400


def test_offset_plus_limit_may_not_exceed_10000(client: httpx.Client) -> None:
    for offset, limit in ((9901, 100), (10000, 1), (9999, 2), (9950, 500), (20000, 25)):
        r = client.get("/incidents", params={"date_range": "all", "offset": offset, "limit": limit})
        assert r.status_code == 400, (offset, limit)
        assert r.json() == OFFSET_ERROR
    for offset, limit in ((9900, 100), (9999, 1), (9975, 25)):
        r = client.get("/incidents", params={"date_range": "all", "offset": offset, "limit": limit})
        assert r.status_code == 200, (offset, limit)
    r = client.get("/services", params={"offset": 9990, "limit": 20})
    assert r.status_code == 400 and r.json() == OFFSET_ERROR


def test_offset_cap_with_more_than_10000_matches() -> None:
    """The cap bites even when more data exists: the collector must split windows, not page further."""
    with PagerDutySimulator(generate(12_000, 1, START, END, seed=2)) as sim:
        r = httpx.get(
            f"{sim.url}/incidents",
            headers=HEADERS,
            params={"date_range": "all", "offset": 9900, "limit": 100, "total": "true"},
        )
        body = r.json()
        assert r.status_code == 200 and len(body["incidents"]) == 100
        assert body["more"] is True and body["total"] == 12_000
        r = httpx.get(f"{sim.url}/incidents", headers=HEADERS, params={"date_range": "all", "offset": 10000})
        assert r.status_code == 400 and r.json() == OFFSET_ERROR


# --------------------------------------------------------------------------------------------- time windows


def test_six_month_window_rule(client: httpx.Client) -> None:
    ok = client.get("/incidents", params={"since": "2024-06-30T00:00:00Z", "until": "2024-12-30T00:00:00Z"})
    assert ok.status_code == 200
    too_long = client.get(
        "/incidents", params={"since": "2024-06-29T23:59:59Z", "until": "2024-12-30T00:00:00Z"}
    )
    assert too_long.status_code == 400
    err = too_long.json()["error"]
    assert err["message"] == "Invalid Input Provided" and err["code"] == 2001
    assert err["errors"] == ["Date range cannot exceed 6 months"]
    year = client.get("/incidents", params={"since": "2024-01-01", "until": "2025-01-01"})
    assert year.status_code == 400
    assert client.get("/incidents", params={"since": "nonsense"}).status_code == 400
    backwards = client.get("/incidents", params={"since": "2024-05-01", "until": "2024-04-01"})
    assert backwards.status_code == 400


def test_default_window_is_last_month_and_date_range_all(
    client: httpx.Client, shared: PagerDutySimulator
) -> None:
    default = _all(client, {})
    assert default and all("2024-12-01T00:00:00Z" <= i["created_at"] < END for i in default)
    expected = [i for i in shared.store if parse_iso("2024-12-01T00:00:00Z") <= i.created_ts]
    assert len(default) == len(expected)
    # date_range=all ignores since/until, even an invalid >6-month span
    everything = client.get(
        "/incidents",
        params={"date_range": "all", "since": "2020-01-01", "until": "2030-01-01", "total": "true"},
    )
    assert everything.status_code == 200 and everything.json()["total"] == 3000


def test_since_until_half_open_on_created_at(sim: PagerDutySimulator) -> None:
    sid = next(iter(sim.store.services))
    for ts in (
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:00:01Z",
        "2025-03-01T11:59:59Z",
        "2025-03-01T12:00:00Z",
    ):
        sim.store.create_incident(sid, created_at=ts, title=f"at {ts}")
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        got = _all(c, {"since": "2025-03-01T10:00:00Z", "until": "2025-03-01T12:00:00Z"})
        assert [i["created_at"] for i in got] == [
            "2025-03-01T10:00:00Z",
            "2025-03-01T10:00:01Z",
            "2025-03-01T11:59:59Z",
        ]
        # offsets other than Z are honoured: 11:00+01:00 == 10:00Z
        shifted = _all(c, {"since": "2025-03-01T11:00:00+01:00", "until": "2025-03-01T10:00:01Z"})
        assert [i["created_at"] for i in shifted] == ["2025-03-01T10:00:00Z"]


def test_windows_partition_the_data(client: httpx.Client) -> None:
    """Adjacent half-open windows neither lose nor duplicate incidents (the collector relies on it)."""
    bounds = [
        "2024-01-01T00:00:00Z",
        "2024-04-01T00:00:00Z",
        "2024-07-01T00:00:00Z",
        "2024-10-01T00:00:00Z",
        END,
    ]
    ids: list[str] = []
    for since, until in itertools.pairwise(bounds):
        ids += [i["id"] for i in _all(client, {"since": since, "until": until})]
    assert len(ids) == len(set(ids)) == 3000


# --------------------------------------------------------------------------------------------- filters


def test_service_and_status_filters_match_brute_force(
    client: httpx.Client, shared: PagerDutySimulator
) -> None:
    store = shared.store
    alpha, beta, _ = (s.id for s in sorted(store.services.values(), key=lambda s: s.name))
    cases: list[tuple[list[str], list[str], str]] = [
        ([alpha], [], "created_at:asc"),
        ([alpha, beta], [], "created_at:asc"),
        ([], ["resolved"], "created_at:desc"),
        ([alpha], ["triggered", "acknowledged"], "created_at:asc"),
        ([alpha, beta], ["resolved", "acknowledged"], "created_at:desc"),
    ]
    since, until = parse_iso("2024-03-15T00:00:00Z"), parse_iso("2024-09-01T00:00:00Z")
    for services, statuses, sort_by in cases:
        params: dict[str, Any] = {
            "service_ids[]": services,
            "statuses[]": statuses,
            "since": fmt_ts(since),
            "until": fmt_ts(until),
            "sort_by": sort_by,
            "time_zone": "Europe/Paris",
        }
        got = [i["id"] for i in _all(client, params, limit=37)]
        want = [
            i.id
            for i in store
            if since <= i.created_ts < until
            and (not services or i.service.id in services)
            and (not statuses or i.status in statuses)
        ]
        if sort_by.endswith("desc"):
            want.reverse()
        assert got == want, (services, statuses, sort_by)
        assert got
    assert client.get("/incidents", params={"statuses[]": "bogus"}).status_code == 400
    assert client.get("/incidents", params={"sort_by": "urgency"}).status_code == 400
    nothing = client.get(
        "/incidents", params={"date_range": "all", "service_ids[]": "PNOPE00", "total": "true"}
    )
    assert nothing.json()["incidents"] == [] and nothing.json()["total"] == 0


def test_services_list_and_query(client: httpx.Client) -> None:
    body = client.get("/services", params={"total": "true"}).json()
    assert [s["name"] for s in body["services"]] == ["alpha", "beta", "gamma"]
    assert body["total"] == 3 and body["more"] is False
    svc = body["services"][0]
    assert {
        "id",
        "name",
        "description",
        "status",
        "html_url",
        "self",
        "summary",
        "type",
        "created_at",
    } <= set(svc)
    assert svc["type"] == "service" and svc["summary"] == "alpha"
    assert [s["name"] for s in client.get("/services", params={"query": "ET"}).json()["services"]] == ["beta"]
    paged = client.get("/services", params={"limit": 2, "offset": 1}).json()
    assert [s["name"] for s in paged["services"]] == ["beta", "gamma"] and paged["more"] is False
    first = client.get("/services", params={"limit": 1}).json()
    assert first["more"] is True and first["total"] is None
    assert client.get(f"/services/{svc['id']}").json()["service"]["name"] == "alpha"


# --------------------------------------------------------------------------------------------- data


def test_generation_is_deterministic() -> None:
    a, b, c = _store(500, seed=11), _store(500, seed=11), _store(500, seed=12)
    assert [i.id for i in a] == [i.id for i in b]
    assert [a.render(i) for i in a] == [b.render(i) for i in b]
    assert [i.id for i in a] != [i.id for i in c]
    # incident ids depend on the seed only, not on the window or the services
    d = generate(500, 2, "2023-01-01", "2023-02-01", seed=11)
    assert [i.id for i in a] == [i.id for i in d]


def test_rendered_bytes_equal_the_dict_form() -> None:
    store = _store(400, seed=5)
    sid = next(iter(store.services))
    odd = store.create_incident(sid, "2025-02-01T00:00:00Z", title='Quote " and \\ and é', priority="P2")
    for inc in [*store, odd]:
        assert json.loads(store.render(inc)) == store.incident_dict(inc)


def test_warm_cache_renders_every_incident_once_within_the_limit() -> None:
    store = _store(300, seed=3)
    cold = {inc.number: store.render(inc) for inc in _store(300, seed=3)}
    assert store.warm_cache() == 300 and len(store._cache) == 300
    assert {inc.number: store.render(inc) for inc in store} == cold
    store.cache_limit = 100
    store._cache.clear()
    assert store.warm_cache() == 100 and len(store._cache) == 100


def test_generate_100k_incidents() -> None:
    t0 = time.perf_counter()
    store = generate(
        100_000,
        [ServiceSpec("big", 30), *(ServiceSpec(f"svc-{i}", 10) for i in range(7))],
        START,
        END,
        seed=42,
    )
    elapsed = time.perf_counter() - t0
    print(f"\ngenerated 100,000 incidents in {elapsed:.2f}s")
    assert len(store) == 100_000
    big = next(s for s in store.services.values() if s.name == "big")
    assert 29_000 < store.count(big.id) < 31_000
    assert sum(store.count(None, st) for st in ("triggered", "acknowledged", "resolved")) == 100_000
    assert store.count(None, "resolved") > 90_000
    incidents = list(store)
    assert [i.number for i in incidents] == list(range(1, 100_001))
    assert all(a.created_ts <= b.created_ts for a, b in itertools.pairwise(incidents))
    assert len({i.id for i in incidents}) == 100_000
    page, total = store.query(
        since=parse_iso("2024-06-01"),
        until=parse_iso("2024-07-01"),
        service_ids=[big.id],
        offset=100,
        limit=100,
    )
    assert total > 2000 and len(page) == 100 and all(i.service is big for i in page)

    # the log index: built lazily on first use, from ints; figures printed (benchmarks time things)
    t0 = time.perf_counter()
    count = store.log_entry_count()
    built = time.perf_counter() - t0
    print(f"log index of {count:,} entries built in {built:.2f}s")
    assert 250_000 < count < 320_000
    hour = (parse_iso("2024-06-01T00:00:00Z"), parse_iso("2024-06-01T01:00:00Z"))
    t0 = time.perf_counter()
    for _ in range(100):
        entries, total = store.log_entries(since=hour[0], until=hour[1], limit=100)
        far, _ = store.log_entries(since=parse_iso("2024-06-01"), until=parse_iso("2024-07-01"), offset=9900)
    print(f"200 log-entry pages (offset 0 and 9,900) in {time.perf_counter() - t0:.2f}s")
    assert 0 < total < 100 and len(entries) == total and len(far) == 25
    number = next(i for i in incidents if i.status == "triggered").number
    store.update_status(number, "acknowledged", at=END)
    entries, total = store.log_entries(since=parse_iso(END), until=parse_iso(END) + 1)
    assert total == 1 and entries[0].type == "acknowledge_log_entry" and entries[0].incident.number == number


# --------------------------------------------------------------------------------------------- mutations


def test_mutation_then_requery_shows_change(sim: PagerDutySimulator) -> None:
    store = sim.store
    open_incident = next(i for i in store if i.status == "triggered")
    number, iid = open_incident.number, open_incident.id
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        before = c.get(f"/incidents/{iid}").json()["incident"]
        store.update_status(number, "acknowledged", at="2025-01-02T00:00:00Z")
        acked = c.get(f"/incidents/{iid}").json()["incident"]
        assert acked["status"] == "acknowledged" and acked["updated_at"] == "2025-01-02T00:00:00Z"
        assert acked["updated_at"] > before["updated_at"]
        assert acked["acknowledgements"][0]["at"] == "2025-01-02T00:00:00Z"
        # through the control plane, as an out-of-process test would
        r = c.post(
            f"/_sim/incidents/{number}/status", json={"status": "resolved", "at": "2025-01-03T08:00:00Z"}
        )
        assert r.status_code == 200 and r.json()["incident"]["status"] == "resolved"
        resolved = c.get(f"/incidents/{iid}").json()["incident"]
        assert resolved["resolved_at"] == resolved["updated_at"] == resolved["last_status_change_at"]
        assert resolved["resolved_at"] == "2025-01-03T08:00:00Z" and resolved["assignments"] == []
        listed = _all(c, {"date_range": "all", "statuses[]": "resolved"})
        assert iid in {i["id"] for i in listed}
        assert iid not in {i["id"] for i in _all(c, {"date_range": "all", "statuses[]": "triggered"})}
        # resolved is final
        again = c.post(f"/_sim/incidents/{number}/status", json={"status": "triggered"})
        assert again.status_code == 400
        r = c.post(
            f"/_sim/incidents/{number}/priority", json={"priority": "P1", "at": "2025-01-04T00:00:00Z"}
        )
        assert r.json()["incident"]["priority"]["name"] == "P1"
        assert c.get(f"/incidents/{iid}").json()["incident"]["updated_at"] == "2025-01-04T00:00:00Z"
        assert c.post("/_sim/incidents/999999/status", json={"status": "resolved"}).status_code == 404


def test_create_incident_via_control_plane(sim: PagerDutySimulator) -> None:
    sid = next(iter(sim.store.services))
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        r = c.post(
            "/_sim/incidents",
            json={
                "service_id": sid,
                "created_at": "2024-12-24T12:00:00Z",
                "title": "Santa down",
                "urgency": "low",
            },
        )
        assert r.status_code == 201
        created = r.json()["incident"]
        assert created["incident_number"] == 601 and created["status"] == "triggered"
        window = _all(c, {"since": "2024-12-24T12:00:00Z", "until": "2024-12-24T12:00:01Z"})
        assert [i["id"] for i in window] == [created["id"]]
        assert c.post("/_sim/incidents", json={"service_id": "PNOPE00"}).status_code == 404
        assert c.post("/_sim/incidents", json={"service_id": sid, "colour": "red"}).status_code == 400
        info = c.get("/_sim/info").json()
        assert info["incidents"] == 601 and info["token"] == TOKEN


# --------------------------------------------------------------------------------------------- log entries

LOG_PARAMS = {"include[]": "incidents", "is_overview": "false", "time_zone": "UTC", "total": "true"}


def _all_log(client: httpx.Client, params: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
    """Page through /log_entries exactly like the collector's incremental run."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        r = client.get("/log_entries", params={**LOG_PARAMS, **params, "limit": limit, "offset": offset})
        body = r.raise_for_status().json()
        assert (body["limit"], body["offset"]) == (limit, offset)
        assert isinstance(body["total"], int)
        out += body["log_entries"]
        if not body["more"]:
            assert body["total"] == len(out)
            return out
        offset += limit


def _entry_order(e: Any) -> tuple[int, bool, int]:
    """The documented ascending order: created_at, generated history first, then number/recording order."""
    return (e.ts, not e.synthetic, e.code if e.synthetic else e.code >> 3)


def test_log_entries_after_mutations_return_exactly_those_with_current_incidents(
    sim: PagerDutySimulator,
) -> None:
    store = sim.store
    a = next(i for i in store if i.status == "triggered")
    old_priority = a.priority
    new_priority = "P2" if old_priority is None or old_priority["name"] != "P2" else "P3"
    b = next(i for i in store if i.status == "acknowledged")
    sid = next(iter(store.services))
    t = "2025-01-02T{}:00:00Z".format
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        store.update_status(a.number, "acknowledged", at=t("01"))
        c.post(f"/_sim/incidents/{a.number}/priority", json={"priority": new_priority, "at": t("02")})
        store.set_urgency(b.number, "low" if b.urgency == "high" else "high", at=t("03"))
        created = c.post(
            "/_sim/incidents",
            json={"service_id": sid, "created_at": t("04"), "status": "acknowledged", "status_at": t("05")},
        ).json()["incident"]
        c.post(f"/_sim/incidents/{a.number}/status", json={"status": "resolved", "at": t("06")})
        store.update_status(b.number, "triggered", at=t("07"))
        store.set_priority(a.number, new_priority, at=t("08"))  # unchanged: no entry, no update
        store.set_urgency(b.number, b.urgency, at=t("08"))

        entries = _all_log(c, {"since": t("01"), "until": "2025-01-03T00:00:00Z"}, limit=3)
        got = [(e["type"], e["incident"]["id"], e["created_at"]) for e in entries]
        assert got == [
            ("acknowledge_log_entry", a.id, t("01")),
            ("priority_change_log_entry", a.id, t("02")),
            ("urgency_change_log_entry", b.id, t("03")),
            ("trigger_log_entry", created["id"], t("04")),
            ("assign_log_entry", created["id"], t("04")),
            ("acknowledge_log_entry", created["id"], t("05")),
            ("resolve_log_entry", a.id, t("06")),
            ("unacknowledge_log_entry", b.id, t("07")),
        ]
        for entry in entries:  # the included incident is the current state, exactly GET /incidents/{id}
            inc = entry["incident"]
            assert inc["type"] == "incident"
            assert c.get(f"/incidents/{inc['id']}").json() == {"incident": inc}
            assert entry["service"] == inc["service"] and entry["teams"] == inc["teams"]
            assert entry["self"] == f"https://api.sim.pagerduty.com/log_entries/{entry['id']}"
            assert entry["html_url"] is None and entry["summary"]
            assert len(entry["id"]) == 14 and entry["id"].isupper() and entry["id"].isalnum()
        assert entries[0]["incident"]["status"] == "resolved"  # a's state now, not at its ack
        assert entries[0]["agent"]["type"] == "user_reference" and entries[0]["channel"] == {"type": "web"}
        assert entries[1]["channel"]["new_priority"]["name"] == new_priority
        assert entries[1]["channel"]["old_priority"] == old_priority
        assert entries[3]["channel"] == {"type": "api"} and entries[3]["agent"]["type"] == "service_reference"
        assert entries[4]["assignees"][0]["type"] == "user_reference"
        assert entries[4]["summary"] == f"Assigned to {entries[4]['assignees'][0]['summary']}."
        assert len({e["id"] for e in entries}) == 8

        # half-open on created_at; overview drops priority/urgency changes
        window = {"since": t("02"), "until": t("06")}
        assert [e["created_at"] for e in _all_log(c, window)] == [t("02"), t("03"), t("04"), t("04"), t("05")]
        overview = _all_log(c, {**window, "is_overview": "true"})
        assert [e["type"] for e in overview] == [
            "trigger_log_entry",
            "assign_log_entry",
            "acknowledge_log_entry",
        ]
        # without include[]: references; include[]=services: full services
        plain = c.get("/log_entries", params={"since": t("01"), "until": t("02")}).json()["log_entries"]
        assert plain[0]["incident"] == {
            "id": a.id,
            "type": "incident_reference",
            "summary": f"[#{a.number}] {a.title}",
            "self": f"https://api.sim.pagerduty.com/incidents/{a.id}",
            "html_url": f"https://sim.pagerduty.com/incidents/{a.id}",
        }
        assert plain[0]["service"]["type"] == "service_reference"
        with_svc = c.get(
            "/log_entries",
            params={"since": t("01"), "until": t("02"), "include[]": ["services", "incidents"]},
        ).json()["log_entries"][0]
        assert with_svc["service"] == c.get(f"/services/{a.service.id}").json()["service"]
        assert with_svc["incident"]["type"] == "incident"
        # one entry by id, and one incident's whole log
        one = c.get(f"/log_entries/{entries[1]['id']}", params={"include[]": "incidents"}).json()
        assert one == {"log_entry": entries[1]}
        assert c.get("/log_entries/RNOPENOPENOPE1").status_code == 404
        log = c.get(f"/incidents/{a.id}/log_entries", params={"total": "true"}).json()
        assert [e["type"] for e in log["log_entries"]] == [
            "trigger_log_entry",
            "assign_log_entry",
            "acknowledge_log_entry",
            "priority_change_log_entry",
            "resolve_log_entry",
        ]
        assert log["total"] == 5 and log["log_entries"][0]["created_at"] == fmt_ts(a.created_ts)
        short = c.get(f"/incidents/{a.id}/log_entries", params={"is_overview": "true", "offset": 3}).json()
        assert [e["type"] for e in short["log_entries"]] == ["resolve_log_entry"]
        assert c.get("/incidents/QNOPENOPENOPE1/log_entries").status_code == 404
        for entry in log["log_entries"]:  # generated history keeps its ids and is served by id too
            assert c.get(f"/log_entries/{entry['id']}").json() == {"log_entry": entry}


def test_generated_history_is_logged(client: httpx.Client, shared: PagerDutySimulator) -> None:
    since, until = "2024-03-01T00:00:00Z", "2024-05-01T00:00:00Z"
    lo, hi = parse_iso(since), parse_iso(until)
    want: Counter[tuple[str, str, str]] = Counter()
    for inc in shared.store:
        history = [("trigger_log_entry", inc.created_ts), ("assign_log_entry", inc.created_ts)]
        if inc.ack_ts is not None:
            history.append(("acknowledge_log_entry", inc.ack_ts))
        if inc.resolved_ts is not None:
            history.append(("resolve_log_entry", inc.resolved_ts))
        want.update((kind, inc.id, fmt_ts(ts)) for kind, ts in history if lo <= ts < hi)
    entries = _all_log(client, {"since": since, "until": until}, limit=100)
    assert Counter((e["type"], e["incident"]["id"], e["created_at"]) for e in entries) == want
    assert [e["created_at"] for e in entries] == sorted(e["created_at"] for e in entries)
    assert len({e["id"] for e in entries}) == len(entries) > 1000
    for e in entries[:50]:
        assert e["incident"] == client.get(f"/incidents/{e['incident']['id']}").json()["incident"]
        if e["type"] == "resolve_log_entry":
            assert e["agent"] == e["incident"]["last_status_change_by"]
    desc = client.get(
        "/log_entries",
        params={"since": since, "until": until, "sort_by": "created_at:desc", "limit": 100, "offset": 100},
    ).json()
    assert [e["id"] for e in desc["log_entries"]] == [e["id"] for e in entries[::-1][100:200]]
    assert client.get("/log_entries", params={"sort_by": "type"}).status_code == 400
    assert client.get("/log_entries", params={"is_overview": "maybe"}).status_code == 400


def test_log_index_merges_generated_and_recorded_entries_exactly() -> None:
    """Pages of the merged index equal a brute-force sort of every incident's log, whatever the order of
    mutations and first query (mutated before the index exists, after it, back-dated, new incidents)."""
    store = generate(400, 3, START, END, seed=9, open_fraction=0.2)
    incidents = list(store)
    sid = incidents[0].service.id
    open_ones = [i for i in incidents if i.status != "resolved"]
    assert len(open_ones) > 9 and any(i.status == "acknowledged" for i in open_ones[:3])
    for k, inc in enumerate(open_ones[:3]):  # before the lazy index is built
        store.set_urgency(inc.number, "low" if inc.urgency == "high" else "high", at=inc.created_ts + 60 * k)
        if inc.status == "acknowledged":
            store.update_status(inc.number, "triggered", at=inc.created_ts + 7200)
    store.log_entry_count()  # builds it
    for k, inc in enumerate(open_ones[3:9]):
        store.update_status(inc.number, "resolved", at=inc.created_ts + 30 * k)  # back-dated in the index
        store.set_priority(inc.number, None if inc.priority else "P3", at=inc.created_ts + 30 * k)
    for k in range(5):
        store.create_incident(sid, incidents[80 * k].created_ts, status="acknowledged", priority="P5")
    # the same instant as generated entries, a recorded one and between both
    store.set_priority(
        incidents[50].number, "P1" if incidents[50].priority is None else None, at=incidents[50].created_ts
    )

    everything = sorted((e for inc in store for e in store.incident_log(inc)), key=_entry_order)
    assert len(everything) == store.log_entry_count()
    assert len({e.id for e in everything}) == len(everything)
    lo, hi = parse_iso("2024-02-01"), parse_iso("2024-11-01")
    for overview in (False, True):
        want = [e.id for e in everything if lo <= e.ts < hi and (not overview or e.overview)]
        for limit in (1, 7, 100):
            for offset in (0, 3, 50, len(want) - 5, len(want) + 1):
                offset = max(0, offset)
                page, total = store.log_entries(
                    since=lo, until=hi, overview=overview, offset=offset, limit=limit
                )
                assert total == len(want)
                assert [e.id for e in page] == want[offset : offset + limit], (overview, limit, offset)
                page, _ = store.log_entries(
                    since=lo, until=hi, overview=overview, offset=offset, limit=limit, descending=True
                )
                assert [e.id for e in page] == want[::-1][offset : offset + limit]
    for e in everything[::37]:
        found = store.find_log_entry(e.id)
        assert found is not None and store.entry_dict(found) == store.entry_dict(e)


def test_log_entries_window_rule_and_default(client: httpx.Client, shared: PagerDutySimulator) -> None:
    too_long = client.get(
        "/log_entries", params={"since": "2024-06-29T23:59:59Z", "until": "2024-12-30T00:00:00Z"}
    )
    assert too_long.status_code == 400
    assert too_long.json()["error"]["errors"] == ["Date range cannot exceed 6 months"]
    ok = client.get("/log_entries", params={"since": "2024-06-30T00:00:00Z", "until": "2024-12-30T00:00:00Z"})
    assert ok.status_code == 200
    assert (
        client.get("/log_entries", params={"since": "2024-05-01", "until": "2024-04-01"}).status_code == 400
    )
    assert client.get("/log_entries", params={"until": "yesterday"}).status_code == 400
    # default: the month before the store's now; date_range=all is not a log_entries parameter
    default = _all_log(client, {})
    assert default and all("2024-12-01T00:00:00Z" <= e["created_at"] < END for e in default)
    ignored = client.get("/log_entries", params={"date_range": "all", "total": "true"}).json()
    assert ignored["total"] == len(default) < shared.store.log_entry_count()


def test_log_entries_pagination_total_and_offset_cap(client: httpx.Client) -> None:
    window = {"since": "2024-01-01T00:00:00Z", "until": "2024-06-01T00:00:00Z"}
    first = client.get("/log_entries", params={**window, "limit": 10}).json()
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (10, 0, True, None)
    assert len(first["log_entries"]) == 10
    total = client.get("/log_entries", params={**window, "total": "true"}).json()["total"]
    assert total > 3000
    assert client.get("/log_entries", params={**window, "limit": 500}).json()["limit"] == 100
    last = client.get("/log_entries", params={**window, "limit": 100, "offset": total - 30}).json()
    assert len(last["log_entries"]) == 30 and last["more"] is False
    past = client.get("/log_entries", params={**window, "offset": total + 5, "total": "true"}).json()
    assert past["log_entries"] == [] and past["more"] is False and past["total"] == total
    for params in ({"limit": 0}, {"offset": -1}, {"limit": "x"}):
        assert client.get("/log_entries", params={**window, **params}).status_code == 400


def test_log_entries_offset_cap_with_more_than_10000_matches() -> None:
    with PagerDutySimulator(generate(5000, 2, "2024-01-01", "2024-04-01", seed=4)) as sim:
        params = {"since": "2024-01-01", "until": "2024-04-01", "total": "true"}
        with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
            body = c.get("/log_entries", params={**params, "offset": 9900, "limit": 100}).json()
            assert len(body["log_entries"]) == 100 and body["more"] is True and body["total"] > 14_000
            for offset, limit in ((10000, 1), (9901, 100), (9950, 500)):
                r = c.get("/log_entries", params={**params, "offset": offset, "limit": limit})
                assert r.status_code == 400 and r.json() == OFFSET_ERROR


def test_log_entries_auth_faults_and_stats(sim: PagerDutySimulator) -> None:
    inc = next(iter(sim.store))
    with httpx.Client(base_url=sim.url, timeout=5) as c:
        for path in ("/log_entries", f"/incidents/{inc.id}/log_entries", "/log_entries/R0000000000000"):
            for headers in ({}, {"Authorization": "Token token=wrong"}):
                r = c.get(path, headers=headers)
                assert r.status_code == 401 and r.json()["error"]["message"] == "Authentication failed"
    assert sim.stats.snapshot()["by_status"] == {"401": 6}
    sim.stats.reset()
    sim.add_rule("503", path="/log_entries", times=1)
    sim.add_rule("malformed", path="/log_entries", offset="100")
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        assert c.get("/incidents").status_code == 200  # other routes unaffected
        assert c.get("/log_entries").status_code == 503
        assert c.get("/log_entries").status_code == 200
        r = c.get("/log_entries", params={"date_range": "x", "offset": 100, "since": "2024-07-01"})
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()
        c.get(f"/incidents/{inc.id}/log_entries")
        stats = c.get("/_sim/stats").json()
    assert stats["by_path"] == {"/incidents": 1, "/log_entries": 3, "/incidents/{id}/log_entries": 1}
    assert stats["by_fault"] == {"503": 1, "malformed": 1}


# --------------------------------------------------------------------------------------------- faults


def test_429_with_and_without_ratelimit_headers(sim: PagerDutySimulator) -> None:
    sim.config.rate_429 = 1.0
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        r = c.get("/incidents")
        assert r.status_code == 429
        assert r.headers["ratelimit-reset"] == "1"
        assert "ratelimit-limit" in r.headers and r.headers["ratelimit-remaining"] == "0"
        assert r.json()["error"]["code"] == 2020
        c.post("/_sim/faults", json={"rate_limit_headers": False, "ratelimit_reset": 3})
        r = c.get("/incidents")
        assert r.status_code == 429 and "ratelimit-reset" not in r.headers
        c.delete("/_sim/faults")
        assert c.get("/incidents").status_code == 200


def test_real_per_minute_budget(sim: PagerDutySimulator) -> None:
    sim.config.rate_limit_per_minute = 3
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        codes = [c.get("/abilities").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        reset = int(c.get("/abilities").headers["ratelimit-reset"])
        assert 1 <= reset <= 60


def test_5xx_injection_json_and_html(sim: PagerDutySimulator) -> None:
    sim.config.update({"error_rate_5xx": 1.0, "seed": 99})
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        responses = [c.get("/incidents") for _ in range(30)]
    assert {r.status_code for r in responses} <= {500, 502, 503}
    assert len({r.status_code for r in responses}) > 1
    kinds = Counter(r.headers["content-type"].split(";")[0] for r in responses)
    assert kinds["text/html"] > 0 and kinds["application/json"] > 0
    for r in responses:
        if r.headers["content-type"].startswith("application/json"):
            assert set(r.json()["error"]) == {"message", "code", "errors"}
    assert sim.stats.snapshot()["by_fault"] == Counter(str(r.status_code) for r in responses)


def test_faults_are_reproducible_with_the_same_seed() -> None:
    def run() -> list[int]:
        config = SimConfig(error_rate_5xx=0.3, rate_429=0.2, seed=5)
        with PagerDutySimulator(_store(50), config) as s, httpx.Client(base_url=s.url, headers=HEADERS) as c:
            return [c.get("/abilities").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert {200, 429} <= set(first) and set(first) & {500, 502, 503}


def test_dropped_connection_raises_transport_error(sim: PagerDutySimulator) -> None:
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        assert c.get("/abilities").status_code == 200  # a pooled keep-alive connection exists now
        sim.config.drop_rate = 1.0
        with pytest.raises(httpx.TransportError):
            c.get("/incidents")
        sim.config.drop_rate = 0.0
        assert c.get("/incidents").status_code == 200  # the client recovers on a fresh connection
    assert sim.stats.snapshot()["by_status"]["dropped"] == 1


def test_malformed_body_and_targeted_page(sim: PagerDutySimulator) -> None:
    sim.config.malformed_rate = 1.0
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        r = c.get("/incidents", params={"date_range": "all"})
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()
        assert c.get("/incidents", params={"limit": 0}).status_code == 400  # errors are never corrupted
        sim.config.malformed_rate = 0.0
        sim.add_rule("malformed", offset="200")
        for offset in (0, 100, 200, 300, 200):
            r = c.get("/incidents", params={"date_range": "all", "limit": 100, "offset": offset})
            if offset == 200:
                with pytest.raises(json.JSONDecodeError):
                    r.json()
            else:
                assert len(r.json()["incidents"]) == 100
        # the same via the control plane, limited to two hits, targeting one service
        sid = next(iter(sim.store.services))
        rule = {"fault": "503", "params": {"service_ids[]": sid}, "times": 2}
        c.post("/_sim/faults", json={"rules": [rule]})
        codes = [
            c.get("/incidents", params={"date_range": "all", "service_ids[]": sid}).status_code
            for _ in range(3)
        ]
        assert codes == [503, 503, 200]
        assert c.get("/_sim/faults").json()["rules"][0]["fired"] == 2
        assert c.post("/_sim/faults", json={"rules": [{"fault": "explode"}]}).status_code == 400
        assert c.post("/_sim/faults", json={"drop_rate": 2}).status_code == 400
        assert c.post("/_sim/faults", json={"latency_ms": "x"}).status_code == 400
        assert c.post("/_sim/faults", json={"colour": 1}).status_code == 400
        assert c.get("/_sim/faults").json()["drop_rate"] == 0.0  # rejected updates change nothing
    with pytest.raises(ValueError):
        FaultRule("explode")


def test_latency_knob(sim: PagerDutySimulator) -> None:
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        c.post("/_sim/faults", json={"latency_ms": 60})
        t0 = time.perf_counter()
        c.get("/abilities")
        assert time.perf_counter() - t0 >= 0.06
        assert c.get("/_sim/faults").json()["latency_ms"] == 60


# --------------------------------------------------------------------------------------------- stats & server


def test_stats_counting_and_reset(sim: PagerDutySimulator) -> None:
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        c.get("/incidents")
        c.get("/incidents", params={"offset": 25})
        c.get("/incidents/QNOPENOPENOPE1")
        c.get("/services")
        c.get("/abilities", headers={"Authorization": "nope"})
        stats = c.get("/_sim/stats").json()
        assert stats["requests"] == 5
        assert stats["by_path"] == {"/incidents": 2, "/incidents/{id}": 1, "/services": 1, "/abilities": 1}
        assert stats["by_status"] == {"200": 3, "404": 1, "401": 1}
        log = c.get("/_sim/requests").json()["requests"]
        assert [e["query"] for e in log[:2]] == ["", "offset=25"]
        assert c.post("/_sim/reset-stats").json()["requests"] == 0
        assert sim.stats.snapshot()["requests"] == 0  # control-plane calls are not counted


def test_keep_alive_and_concurrency(sim: PagerDutySimulator) -> None:
    with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        for _ in range(5):
            c.get("/abilities")
        assert sim.open_connections == 1
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=sim.url, headers=HEADERS) as c, ThreadPoolExecutor(8) as pool:
        params = [{"date_range": "all", "limit": 100, "offset": o} for o in range(0, 600, 100)] * 4
        bodies = list(pool.map(lambda p: c.get("/incidents", params=p).json(), params))
    assert sum(len(b["incidents"]) for b in bodies) == 2400


def test_stop_releases_port_and_context_manager() -> None:
    sim = PagerDutySimulator(_store(10))
    url = sim.start()
    assert sim.start() == url  # idempotent
    c = httpx.Client(base_url=url, headers=HEADERS)
    assert c.get("/abilities").status_code == 200
    sim.stop()
    with pytest.raises(httpx.TransportError):
        c.get("/abilities")
    c.close()
    with pytest.raises(RuntimeError):
        _ = sim.url
    sim.stop()  # idempotent


def test_add_months_clamps_month_ends() -> None:
    assert fmt_ts(add_months(parse_iso("2024-08-31T10:00:00Z"), -6)) == "2024-02-29T10:00:00Z"
    assert fmt_ts(add_months(parse_iso("2024-01-31"), 1)) == "2024-02-29T00:00:00Z"
    assert fmt_ts(add_months(parse_iso("2024-03-15"), -13)) == "2023-02-15T00:00:00Z"


def test_cli_runs_out_of_process(tmp_path: Path) -> None:
    args = ["--port", "0", "--incidents", "200", "--services", "2", "--seed", "1"]
    proc, info = start_simulator_process(
        "pagerduty",
        args,
        tmp_path / "ready.json",
        timeout=15,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert info["token"] == TOKEN
        body = httpx.get(
            f"{info['url']}/incidents", headers=HEADERS, params={"date_range": "all", "total": "true"}
        ).json()
        assert body["total"] == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "listening on http://127.0.0.1:" in out and "token: sim-token" in out


def test_a_simulator_process_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"pagerduty simulator did not start: .*--port: invalid int value"):
        start_simulator_process(
            "pagerduty",
            ["--port", "eighty"],
            tmp_path / "ready.json",
            timeout=15,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
        )
