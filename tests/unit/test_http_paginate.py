"""Paginators over real HTTP, and split_time_windows as a property over random event timestamps."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.http import (
    ApiClient,
    MalformedResponse,
    PaginationLimitError,
    cursor_pages,
    offset_pages,
    page_number_pages,
    set_json_path,
    set_param,
    split_time_windows,
    time_windows,
)
from tests.unit.http_fakes import PROXY_ENV, FakeApi, Reply, Seen, running_api

CONN = "pagerduty connection 1 (prod)"
PD_MAX = 10_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    with running_api() as server:
        yield server


@pytest.fixture
def client(api: FakeApi) -> Iterator[ApiClient]:
    with ApiClient(api.url, connection=CONN, timeout=5.0, max_concurrency=4) as c:
        yield c


def pagerduty(
    total: int, *, report_total: bool = True, server_cap: int = 100, delay: float = 0.0
) -> Callable[[Seen], Reply]:
    """A PagerDuty-like list endpoint: caps limit, computes total only when asked, rejects deep offsets."""

    def handle(seen: Seen) -> Reply:
        limit = int(seen.param("limit") or 25)
        offset = int(seen.param("offset") or 0)
        if offset + limit > PD_MAX:
            body = {
                "error": {
                    "message": "Invalid Input Provided",
                    "code": 2001,
                    "errors": ["Offset must be less than 10000."],
                }
            }
            return Reply(400, body)
        limit = min(limit, server_cap)
        items = [{"id": i} for i in range(offset, min(offset + limit, total))]
        asked = seen.param("total") == "true"
        body = {
            "incidents": items,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < total,
            "total": total if asked and report_total else None,
        }
        return Reply(200, body, delay=delay)

    return handle


def ids(pages: Iterator[list[dict[str, Any]]]) -> list[int]:
    return [item["id"] for page in pages for item in page]


# -- offset pagination --------------------------------------------------------------------------------


def test_offset_pages_with_total_fetch_concurrently_in_order(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(1050, delay=0.05))
    pages = list(
        offset_pages(
            client, "/incidents", params={"statuses[]": ["resolved"]}, limit=100, items_key="incidents"
        )
    )
    assert [item["id"] for page in pages for item in page] == list(range(1050))
    assert [len(p) for p in pages] == [100] * 10 + [50]
    seen = api.seen("/incidents")
    assert len(seen) == 11 == client.request_count
    assert seen[0].param("total") == "true"
    assert all(s.param("total") is None for s in seen[1:])  # totals are expensive; ask once
    assert all(s.query["statuses[]"] == ["resolved"] for s in seen)
    assert api.max_in_flight > 1


def test_offset_pages_follow_a_server_capped_page_size(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(110, server_cap=25))
    assert ids(offset_pages(client, "/incidents", limit=100, items_key="incidents")) == list(range(110))
    assert {s.param("limit") for s in api.seen()[1:]} == {"25"}


def test_offset_pages_without_total_walk_sequentially(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(250, report_total=False, delay=0.02))
    assert ids(offset_pages(client, "/incidents", limit=100, items_key="incidents")) == list(range(250))
    assert [s.param("offset") for s in api.seen()] == ["0", "100", "200"]
    assert api.max_in_flight == 1


def test_offset_pages_no_total_param(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(150))
    assert ids(
        offset_pages(client, "/incidents", limit=100, items_key="incidents", total_param=None)
    ) == list(range(150))
    assert all(s.param("total") is None for s in api.seen())


def test_offset_pages_refuse_more_than_max_offset(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(PD_MAX + 1))
    pages = offset_pages(client, "/incidents", limit=100, items_key="incidents", max_offset=PD_MAX)
    with pytest.raises(PaginationLimitError, match="10001 records") as info:
        next(pages)
    assert isinstance(info.value, ValueError) and CONN in str(info.value)
    assert len(api.seen()) == 1


def test_offset_pages_trim_the_last_page_to_stay_under_max_offset(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(9950, server_cap=300))
    got = ids(offset_pages(client, "/incidents", limit=300, items_key="incidents", max_offset=PD_MAX))
    assert got == list(range(9950))
    assert all(int(s.param("offset") or 0) + int(s.param("limit") or 0) <= PD_MAX for s in api.seen())
    (last,) = [s for s in api.seen() if s.param("offset") == "9900"]
    assert last.param("limit") == "100"


def test_offset_pages_without_total_stop_at_max_offset(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(250, report_total=False))
    pages = offset_pages(client, "/incidents", limit=100, items_key="incidents", max_offset=200)
    assert len(next(pages)) == 100 and len(next(pages)) == 100
    with pytest.raises(PaginationLimitError, match="more than 200"):
        next(pages)
    assert all(int(s.param("offset") or 0) < 200 for s in api.seen())


def test_offset_pages_reuse_a_first_page(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(230))
    first = client.get_json("/incidents", params={"limit": 100, "offset": 0, "total": "true"})
    got = ids(offset_pages(client, "/incidents", limit=100, items_key="incidents", first_page=first))
    assert got == list(range(230))
    assert sorted(int(s.param("offset") or 0) for s in api.seen()) == [0, 100, 200]  # offset 0 fetched once


def test_offset_pages_empty(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", pagerduty(0))
    assert list(offset_pages(client, "/incidents", limit=100, items_key="incidents")) == [[]]


def test_offset_pages_retry_a_page_missing_its_items(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/incidents", Reply(200, {"unexpected": True}), pagerduty(5))
    assert ids(offset_pages(client, "/incidents", limit=100, items_key="incidents")) == list(range(5))
    assert client.request_count == 2


# -- cursor pagination ----------------------------------------------------------------------------------


def datadog_events(total: int, page: int) -> Callable[[Seen], Reply]:
    def handle(seen: Seen) -> Reply:
        cursor = (
            seen.param("page[cursor]") if seen.method == "GET" else seen.json().get("page", {}).get("cursor")
        )
        start = int(cursor) if cursor else 0
        data = [{"id": str(i)} for i in range(start, min(start + page, total))]
        meta: dict[str, Any] = {"page": {"after": str(start + page)}} if start + page < total else {}
        return Reply(200, {"data": data, "meta": meta})

    return handle


def after(body: Any) -> str | None:
    return body.get("meta", {}).get("page", {}).get("after")


def test_cursor_pages_get(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/api/v2/events", datadog_events(25, 10))
    params = {"filter[from]": "2024-01-01T00:00:00Z", "page[limit]": 10}
    pages = list(
        cursor_pages(
            client,
            "GET",
            "/api/v2/events",
            params=params,
            next_cursor=after,
            apply_cursor=set_param("page[cursor]"),
            items=lambda body: body["data"],
        )
    )
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [s.param("page[cursor]") for s in api.seen()] == [None, "10", "20"]
    assert all(s.param("filter[from]") == "2024-01-01T00:00:00Z" for s in api.seen())
    assert "page[cursor]" not in params  # the caller's dict is left alone


def test_cursor_pages_post_body(api: FakeApi, client: ApiClient) -> None:
    api.route("POST", "/api/v2/events/search", datadog_events(12, 5))
    body = {"filter": {"query": "source:alert"}, "page": {"limit": 5}}
    pages = list(
        cursor_pages(
            client,
            "POST",
            "/api/v2/events/search",
            json=body,
            next_cursor=after,
            apply_cursor=set_json_path("page", "cursor"),
            items=lambda b: b["data"],
        )
    )
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [s.json()["page"] for s in api.seen()] == [
        {"limit": 5},
        {"limit": 5, "cursor": "5"},
        {"limit": 5, "cursor": "10"},
    ]
    assert body == {"filter": {"query": "source:alert"}, "page": {"limit": 5}}


def test_cursor_pages_stop_on_a_repeated_cursor(api: FakeApi, client: ApiClient) -> None:
    api.route(
        "GET", "/api/v2/events", Reply(200, {"data": [{"id": "1"}], "meta": {"page": {"after": "same"}}})
    )
    pages = cursor_pages(
        client,
        "GET",
        "/api/v2/events",
        next_cursor=after,
        apply_cursor=set_param("page[cursor]"),
        items=lambda b: b["data"],
    )
    with pytest.raises(MalformedResponse, match="twice"):
        list(pages)
    assert len(api.seen()) == 2


# -- page-number pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "requests"), [(25, 3), (20, 3), (0, 1)])
def test_page_number_pages(api: FakeApi, client: ApiClient, total: int, requests: int) -> None:
    def handle(seen: Seen) -> Reply:
        page = int(seen.param("page") or 0)
        return Reply(200, {"events": [{"id": i} for i in range(page * 10, min(page * 10 + 10, total))]})

    api.route("GET", "/api/v1/events", handle)
    pages = page_number_pages(
        client, "/api/v1/events", params={"start": 1, "end": 2}, page_size=10, items=lambda b: b["events"]
    )
    assert ids(pages) == list(range(total))
    assert [s.param("page") for s in api.seen()] == [str(n) for n in range(requests)]


def test_page_number_pages_guard_against_endless_full_pages(api: FakeApi, client: ApiClient) -> None:
    api.route("GET", "/api/v1/events", Reply(200, {"events": [{"id": 1}] * 10}))
    pages = page_number_pages(
        client, "/api/v1/events", page_size=10, items=lambda b: b["events"], max_pages=3
    )
    with pytest.raises(PaginationLimitError):
        list(pages)
    assert len(api.seen()) == 3


# -- time windows -----------------------------------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_time_windows_cover_exactly() -> None:
    windows = list(time_windows(T0, T0 + timedelta(days=2, hours=5), timedelta(days=1)))
    assert windows == [
        (T0, T0 + timedelta(days=1)),
        (T0 + timedelta(days=1), T0 + timedelta(days=2)),
        (T0 + timedelta(days=2), T0 + timedelta(days=2, hours=5)),
    ]
    assert list(time_windows(T0, T0, timedelta(days=1))) == []
    with pytest.raises(ValueError):
        list(time_windows(T0, T0 + timedelta(days=1), timedelta(0)))


@settings(max_examples=150, deadline=None)
@given(
    offsets=st.lists(
        st.one_of(
            st.integers(min_value=0, max_value=7 * 86_400 - 1), st.integers(min_value=3600, max_value=3605)
        ),
        max_size=300,
    ),
    cap=st.integers(min_value=1, max_value=40),
    max_span_days=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
def test_split_time_windows_property(offsets: list[int], cap: int, max_span_days: int | None) -> None:
    """Windows tile [start, end) with no gap or overlap, each probed count fits, payloads are reused."""
    stamps = sorted(T0 + timedelta(seconds=s) for s in offsets)
    end = T0 + timedelta(days=7)
    max_span = timedelta(days=max_span_days) if max_span_days else None
    probes: list[tuple[datetime, datetime]] = []

    def probe(a: datetime, b: datetime) -> tuple[int, list[datetime]]:
        probes.append((a, b))
        inside = stamps[bisect_left(stamps, a) : bisect_left(stamps, b)]
        return len(inside), inside

    densest = max(Counter(offsets).values(), default=0)
    if densest > cap:  # more than cap events in one second: no split can help
        with pytest.raises(PaginationLimitError, match="cannot be split"):
            list(split_time_windows(T0, end, probe=probe, cap=cap, max_span=max_span))
        return
    windows = list(split_time_windows(T0, end, probe=probe, cap=cap, max_span=max_span))
    assert windows[0][0] == T0 and windows[-1][1] == end
    for (_, b, _), (a2, _, _) in pairwise(windows):
        assert b == a2  # contiguous: no gaps, no overlaps
    for a, b, payload in windows:
        assert a < b and len(payload) <= cap
        assert all(a <= t < b for t in payload)
        assert (a - T0) % timedelta(seconds=1) == timedelta(0)  # whole-second boundaries
        if max_span is not None:
            assert b - a <= max_span
    assert [t for _, _, payload in windows for t in payload] == stamps
    spans = len(list(time_windows(T0, end, max_span))) if max_span else 1
    assert len(probes) == 2 * len(windows) - spans  # a binary split tree per span: nothing probed twice


def test_split_time_windows_halves_earliest_first() -> None:
    calls: list[tuple[datetime, datetime]] = []
    counts = {(0, 8): 9, (0, 4): 5, (0, 2): 1, (2, 4): 4, (4, 8): 2}

    def probe(a: datetime, b: datetime) -> tuple[int, str]:
        key = (int((a - T0).total_seconds()), int((b - T0).total_seconds()))
        calls.append((a, b))
        return counts[key], f"payload {key}"

    got = [
        (int((a - T0).total_seconds()), int((b - T0).total_seconds()), p)
        for a, b, p in split_time_windows(T0, T0 + timedelta(seconds=8), probe=probe, cap=4, max_span=None)
    ]
    assert got == [(0, 2, "payload (0, 2)"), (2, 4, "payload (2, 4)"), (4, 8, "payload (4, 8)")]
    assert len(calls) == 5


def test_split_time_windows_list_semantics_over_http(api: FakeApi, client: ApiClient) -> None:
    """Datadog DORA-style lists have no total: a full page (== limit) means "maybe more", so cap = limit - 1."""
    stamps = sorted(T0 + timedelta(minutes=7 * i + (i % 3)) for i in range(120))
    limit = 25

    def handle(seen: Seen) -> Reply:
        body = seen.json()
        a = datetime.fromisoformat(body["from"])
        b = datetime.fromisoformat(body["to"])
        found = [t.isoformat() for t in stamps if a <= t < b][: body["limit"]]
        return Reply(200, {"data": found})

    api.route("POST", "/api/v2/dora/deployments", handle)

    def probe(a: datetime, b: datetime) -> tuple[int, list[str]]:
        data = client.post_json(
            "/api/v2/dora/deployments", json={"from": a.isoformat(), "to": b.isoformat(), "limit": limit}
        )["data"]
        return len(data), data

    windows = list(
        split_time_windows(
            T0, T0 + timedelta(days=1), probe=probe, cap=limit - 1, max_span=timedelta(hours=8)
        )
    )
    collected = [datetime.fromisoformat(t) for _, _, page in windows for t in page]
    assert collected == stamps  # every event exactly once, without fetching any window twice
    assert all(len(page) < limit for _, _, page in windows)
    assert client.request_count == len(api.seen())


def test_split_time_windows_gives_up_on_a_too_dense_second() -> None:
    def probe(a: datetime, b: datetime) -> tuple[int, None]:
        return (50 if a <= T0 + timedelta(seconds=10) < b else 0), None

    windows = split_time_windows(T0, T0 + timedelta(minutes=1), probe=probe, cap=20, max_span=None)
    with pytest.raises(PaginationLimitError, match="50 records between 2024-01-01T00:00:10"):
        list(windows)


def test_split_time_windows_rejects_bad_arguments() -> None:
    def probe(a: datetime, b: datetime) -> tuple[int, None]:
        return 0, None

    with pytest.raises(ValueError):
        list(split_time_windows(T0, T0 + timedelta(1), probe=probe, cap=-1, max_span=None))
    with pytest.raises(ValueError):
        list(
            split_time_windows(
                T0, T0 + timedelta(1), probe=probe, cap=1, max_span=None, min_span=timedelta(0)
            )
        )
