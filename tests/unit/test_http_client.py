"""ApiClient over real HTTP against a scripted local server: retries, waits, errors, concurrency."""

from __future__ import annotations

import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from core.http import (
    ApiClient,
    AuthError,
    Cancelled,
    MalformedResponse,
    RateLimiter,
    RateLimitTooLong,
    RequestRejected,
    RetriesExhausted,
)
from core.http.client import trusted_certificates
from tests.unit.http_fakes import PROXY_ENV, FakeApi, FakeClock, Reply, Seen, running_api

CONN = "pagerduty connection 1 (prod)"
OK = Reply(200, {"ok": True})
PD_400 = {
    "error": {
        "message": "Invalid Input Provided",
        "code": 2001,
        "errors": ["Offset must be less than 10000."],
    }
}
HTML_429 = (
    "<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head>"
    "<body><h1>Too Many Requests</h1><p>nginx</p></body></html>"
)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    with running_api() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(api: FakeApi, clock: FakeClock | None = None, **kwargs: Any) -> ApiClient:
    if clock is not None:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("sleep", clock.sleep)
    kwargs.setdefault("timeout", 5.0)
    return ApiClient(api.url, connection=CONN, **kwargs)


# -- waits announced by the server ------------------------------------------------------------------


def test_retry_after_is_really_waited(api: FakeApi) -> None:
    api.route("GET", "/incidents", Reply(429, {"error": "slow down"}, {"Retry-After": "1"}), OK)
    with make_client(api) as client:
        started = time.monotonic()
        assert client.get_json("/incidents") == {"ok": True}
        elapsed = time.monotonic() - started
        assert client.request_count == 2
    assert elapsed >= 1.0
    first, second = api.seen("/incidents")
    assert second.started - first.started >= 1.0


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("Retry-After", "7", 7.0),
        ("ratelimit-reset", "5", 5.0),  # PagerDuty
        ("X-RateLimit-Reset", "3", 3.0),  # Datadog: seconds until the window resets
    ],
)
def test_each_reset_header_sets_the_wait(
    api: FakeApi, clock: FakeClock, header: str, value: str, expected: float
) -> None:
    api.route("GET", "/x", Reply(429, {"errors": ["Rate limit exceeded"]}, {header: value}), OK)
    with make_client(api, clock) as client:
        assert client.get_json("/x") == {"ok": True}
        assert client.request_count == 2
    assert clock.sleeps == [expected]


def test_retry_after_http_date(api: FakeApi, clock: FakeClock) -> None:
    when = formatdate(time.time() + 120, usegmt=True)
    api.route("GET", "/x", Reply(429, headers={"Retry-After": when}), OK)
    with make_client(api, clock) as client:
        client.get_json("/x")
    assert len(clock.sleeps) == 1
    assert 115 <= clock.sleeps[0] <= 121


def test_retry_after_takes_precedence_over_reset_headers(api: FakeApi, clock: FakeClock) -> None:
    both = {"Retry-After": "2", "ratelimit-reset": "40", "X-RateLimit-Reset": "50"}
    api.route(
        "GET",
        "/x",
        Reply(429, headers=both),
        Reply(429, headers={"ratelimit-reset": "4", "X-RateLimit-Reset": "9"}),
        OK,
    )
    with make_client(api, clock) as client:
        client.get_json("/x")
    assert clock.sleeps == [2.0, 4.0]


def test_503_honours_retry_after(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(503, "maintenance", {"Retry-After": "11"}), OK)
    with make_client(api, clock) as client:
        client.get_json("/x")
    assert clock.sleeps == [11.0]


def test_announced_wait_beyond_cap_fails_instead_of_sleeping(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(429, headers={"Retry-After": "3600"}), OK)
    with make_client(api, clock, max_wait=300) as client, pytest.raises(RateLimitTooLong) as info:
        client.get_json("/x")
    assert clock.sleeps == []
    assert len(api.seen("/x")) == 1
    message = str(info.value)
    assert message.startswith(CONN + ":")
    assert "3600 s" in message and "300 s" in message


def test_quota_exhausted_on_success_pauses_following_requests(api: FakeApi, clock: FakeClock) -> None:
    api.route(
        "GET", "/x", Reply(200, [], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}), Reply(200, [])
    )
    with make_client(api, clock) as client:
        client.get_json("/x")
        assert clock.slept == 0
        client.get_json("/x")
    assert clock.slept == pytest.approx(30.0)


def test_remaining_quota_does_not_pause(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(200, [], {"ratelimit-remaining": "5", "ratelimit-reset": "30"}))
    with make_client(api, clock) as client:
        client.get_json("/x")
        client.get_json("/x")
    assert clock.slept == 0


# -- giving up ---------------------------------------------------------------------------------------


def test_429_html_body_retries_with_backoff_then_gives_up(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(429, HTML_429))
    with make_client(api, clock, max_retries=2, backoff_base=0.5) as client:
        with pytest.raises(RetriesExhausted) as info:
            client.get_json("/x")
        assert client.request_count == 3
    err = info.value
    assert err.attempts == 3 and err.status == 429 and err.connection == CONN
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{CONN}: GET /x failed after 3 attempts; last error: HTTP 429")
    assert "429 Too Many Requests" in message and "<html" not in message.lower()
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5 and 0 <= clock.sleeps[1] <= 1.0  # full jitter


def test_5xx_are_retried_until_success(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(500), Reply(502, "bad gateway"), Reply(503), OK)
    with make_client(api, clock) as client:
        assert client.get_json("/x") == {"ok": True}
        assert client.request_count == 4
    assert len(clock.sleeps) == 3


def test_persistent_5xx_exhausts_retries_naming_connection(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(504, {"message": "upstream timed out"}))
    with make_client(api, clock, max_retries=3) as client, pytest.raises(RetriesExhausted) as info:
        client.request("GET", "/x")
    assert len(api.seen("/x")) == 4
    assert str(info.value) == (
        f"{CONN}: GET /x failed after 4 attempts; last error: HTTP 504 Gateway Timeout: upstream timed out"
    )


def test_timeouts_are_retried(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/slow", Reply(200, {"late": True}, delay=0.6), OK)
    with make_client(api, clock, timeout=0.2) as client:
        assert client.get_json("/slow") == {"ok": True}
        assert client.request_count == 2


def test_persistent_timeouts_give_up(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/slow", Reply(200, delay=0.6))
    with (
        make_client(api, clock, timeout=0.2, max_retries=1) as client,
        pytest.raises(RetriesExhausted) as info,
    ):
        client.get_json("/slow")
    assert "after 2 attempts" in str(info.value) and "timed out (ReadTimeout)" in str(info.value)


def test_dropped_connection_is_retried(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(drop=True), OK)
    with make_client(api, clock) as client:
        assert client.get_json("/x") == {"ok": True}
        assert client.request_count == 2


def test_persistently_dropped_connection_gives_up(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(drop=True))
    with make_client(api, clock, max_retries=2) as client, pytest.raises(RetriesExhausted) as info:
        client.get_json("/x")
    assert "connection failed (RemoteProtocolError" in str(info.value)
    assert isinstance(info.value.last_error, httpx.TransportError)


def test_refused_connection_gives_up(clock: FakeClock) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        ApiClient(url, connection=CONN, max_retries=1, clock=clock, sleep=clock.sleep) as client,
        pytest.raises(RetriesExhausted) as info,
    ):
        client.get_json("/x")
    assert "ConnectError" in str(info.value)


def test_malformed_json_is_retried(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(200, b'{"incidents": [tru'), OK)
    with make_client(api, clock) as client:
        assert client.get_json("/x") == {"ok": True}
        assert client.request_count == 2


def test_persistently_malformed_json_raises_malformed_response(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(200, "<html><title>Proxy login</title></html>"))
    with make_client(api, clock, max_retries=2) as client, pytest.raises(MalformedResponse) as info:
        client.get_json("/x")
    assert len(api.seen("/x")) == 3
    message = str(info.value)
    assert message.startswith(CONN) and "not JSON" in message and "gave up after 3 attempts" in message


def test_failed_validation_is_retried(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(200, {"unexpected": 1}), Reply(200, {"incidents": []}))

    def validate(body: Any) -> None:
        if not isinstance(body["incidents"], list):
            raise TypeError("incidents is not a list")

    with make_client(api, clock) as client:
        assert client.get_json("/x", validate=validate) == {"incidents": []}
        assert client.request_count == 2


def test_get_records_keeps_the_records_as_received(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/incidents", Reply(200, b'{"incidents": [{"id": "A",  "n": 1}], "more": true}'))
    with make_client(api, clock) as client:
        page = client.get_records("/incidents", key="incidents", params={"offset": 0})
    assert page.records == [b'{"id": "A",  "n": 1}'] and page.fields == {"more": True}
    assert api.seen("/incidents")[0].query == {"offset": ["0"]}


def test_get_records_retries_a_page_of_another_shape_and_names_it(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/incidents", Reply(200, {"incidents": [1]}), Reply(200, {"incidents": []}))
    with make_client(api, clock) as client:
        assert client.get_records("/incidents", key="incidents").records == []
        assert client.request_count == 2
    api.route("GET", "/services", Reply(200, {"error": "nope"}))
    with make_client(api, clock, max_retries=1) as client, pytest.raises(MalformedResponse) as info:
        client.get_records("/services", key="services")
    assert "unexpected body" in str(info.value) and "no 'services' list" in str(info.value)


def test_get_records_reports_a_body_that_is_not_json(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(200, "<html><title>Proxy login</title></html>"))
    with make_client(api, clock, max_retries=1) as client, pytest.raises(MalformedResponse) as info:
        client.get_records("/x", key="incidents")
    assert "not JSON" in str(info.value) and "Proxy login" in str(info.value)


# -- errors that must not be retried ------------------------------------------------------------------


def test_400_is_not_retried_and_surfaces_the_api_message(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/incidents", Reply(400, PD_400))
    with make_client(api, clock) as client:
        with pytest.raises(RequestRejected) as info:
            client.get_json("/incidents", params={"offset": 10000, "limit": 100})
        assert client.request_count == 1
    err = info.value
    assert err.status == 400 and clock.sleeps == []
    assert err.remote_message == "Invalid Input Provided: Offset must be less than 10000."
    assert str(err) == (
        f"{CONN}: the API rejected GET /incidents (HTTP 400): Invalid Input Provided: Offset must be less than 10000."
    )
    assert err.url is not None and "offset=10000" in err.url


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_not_retried(api: FakeApi, clock: FakeClock, status: int) -> None:
    api.route("GET", "/x", Reply(status, {"error": {"message": "Invalid API key", "code": 2006}}))
    with make_client(api, clock) as client:
        with pytest.raises(AuthError) as info:
            client.get_json("/x")
        assert client.request_count == 1
    assert str(info.value) == f"{CONN}: the API rejected the credentials (HTTP {status}): Invalid API key"


@pytest.mark.parametrize("status", [404, 405, 409, 422])
def test_other_4xx_are_not_retried(api: FakeApi, clock: FakeClock, status: int) -> None:
    api.route("POST", "/x", Reply(status, {"message": "nope"}))
    with make_client(api, clock) as client, pytest.raises(RequestRejected) as info:
        client.post_json("/x", json={"a": 1})
    assert len(api.seen("/x")) == 1 and info.value.status == status and info.value.remote_message == "nope"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"errors": ["Forbidden"]}, "Forbidden"),
        ({"errors": ["bad from", "bad to"]}, "bad from; bad to"),
        ({"errors": [{"status": "400", "detail": "invalid cursor"}]}, "invalid cursor"),
        (
            {"errors": [{"title": "Bad Request", "detail": "page[limit] too large"}]},
            "Bad Request: page[limit] too large",
        ),
        ("plain text\n  failure", "plain text failure"),
    ],
)
def test_datadog_style_error_bodies(api: FakeApi, body: Any, expected: str) -> None:
    api.route("GET", "/api/v2/events", Reply(400, body))
    with make_client(api) as client, pytest.raises(RequestRejected) as info:
        client.get_json("/api/v2/events")
    assert info.value.remote_message == expected


def test_custom_error_message_extractor(api: FakeApi) -> None:
    api.route("GET", "/x", Reply(422, {"fault": {"text": "window too wide"}}))
    extract = lambda r: r.json()["fault"]["text"]  # noqa: E731
    with make_client(api, error_message=extract) as client, pytest.raises(RequestRejected) as info:
        client.get_json("/x")
    assert info.value.remote_message == "window too wide"


def test_broken_custom_extractor_falls_back_to_default(api: FakeApi) -> None:
    api.route("GET", "/x", Reply(400, {"message": "real reason"}))
    extract = lambda r: r.json()["missing"]  # noqa: E731
    with make_client(api, error_message=extract) as client, pytest.raises(RequestRejected) as info:
        client.get_json("/x")
    assert info.value.remote_message == "real reason"


def test_redirects_are_not_followed(api: FakeApi) -> None:
    api.route("GET", "/x", Reply(302, headers={"Location": "http://elsewhere.invalid/x"}))
    with make_client(api) as client, pytest.raises(RequestRejected) as info:
        client.get_json("/x")
    assert "redirect to http://elsewhere.invalid/x" in str(info.value)


# -- request plumbing ----------------------------------------------------------------------------------


def test_list_params_and_headers_are_sent(api: FakeApi) -> None:
    api.route("GET", "/incidents", Reply(200, {"incidents": []}))
    with make_client(api, headers={"Authorization": "Token token=abc"}) as client:
        client.get_json("/incidents", params={"service_ids[]": ["a", "b"], "limit": 100})
    (seen,) = api.seen("/incidents")
    assert seen.query == {"service_ids[]": ["a", "b"], "limit": ["100"]}
    assert seen.raw_query.startswith("service_ids%5B%5D=a&service_ids%5B%5D=b")
    assert seen.headers["authorization"] == "Token token=abc"
    assert seen.headers["user-agent"].startswith("incidentlake/")


def test_post_json_and_raw_request(api: FakeApi) -> None:
    api.route("POST", "/search", lambda seen: Reply(200, {"echo": seen.json()}))
    api.route("GET", "/raw", Reply(200, "hello"))
    with make_client(api) as client:
        assert client.post_json("/search", json={"filter": {"query": "*"}}) == {
            "echo": {"filter": {"query": "*"}}
        }
        response = client.request("GET", "/raw")
    assert response.status_code == 200 and response.text == "hello"


def test_base_url_path_prefix_is_kept(api: FakeApi) -> None:
    api.route("GET", "/api/v1/events", Reply(200, {"events": []}))
    with ApiClient(api.url + "/api", connection=CONN) as client:
        assert client.get_json("/v1/events") == {"events": []}


def test_secrets_never_reach_logs_or_errors(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-token-value"
    api.route("GET", "/ok", OK)
    api.route("GET", "/denied", Reply(401, {"errors": ["Unauthorized"]}))
    caplog.set_level(logging.DEBUG)
    with make_client(api, headers={"Authorization": f"Token token={secret}", "DD-API-KEY": secret}) as client:
        client.get_json("/ok", params={"api_key": secret, "limit": 5})
        with pytest.raises(AuthError) as info:
            client.get_json("/denied", params={"application_key": secret})
    assert secret not in caplog.text
    assert secret not in str(info.value) and secret not in (info.value.url or "")
    assert "application_key=%2A%2A%2A" in (info.value.url or "")
    assert f"{CONN}: GET /ok -> 200" in caplog.text
    assert f"{CONN}: GET /denied -> 401" in caplog.text


# -- cancellation ---------------------------------------------------------------------------------------


def test_cancel_before_request_sends_nothing(api: FakeApi) -> None:
    api.route("GET", "/x", OK)
    cancel = threading.Event()
    cancel.set()
    with make_client(api, cancel=cancel) as client, pytest.raises(Cancelled):
        client.get_json("/x")
    assert api.seen() == []


def test_cancel_interrupts_a_retry_wait(api: FakeApi) -> None:
    api.route("GET", "/x", Reply(429, headers={"Retry-After": "60"}))
    with make_client(api) as client:
        threading.Timer(0.2, client.cancel).start()
        started = time.monotonic()
        with pytest.raises(Cancelled) as info:
            client.get_json("/x")
        assert time.monotonic() - started < 30  # far below the announced 60 s
    assert CONN in str(info.value)
    assert len(api.seen("/x")) == 1


def test_cancel_interrupts_a_rate_limit_wait(api: FakeApi) -> None:
    api.route("GET", "/x", OK)
    with make_client(api, rate_limit_per_hour=1) as client:
        client.get_json("/x")  # the single token of the hour
        threading.Timer(0.2, client.cancel).start()
        with pytest.raises(Cancelled):
            client.get_json("/x")
        assert client.request_count == 1


# -- rate limiting ----------------------------------------------------------------------------------------


def test_rate_limit_spaces_requests_after_the_burst(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", OK)
    with make_client(api, clock, rate_limit_per_hour=3600) as client:  # 1/s, burst of 10
        for _ in range(10):
            client.get_json("/x")
        assert clock.slept == 0
        for _ in range(5):
            client.get_json("/x")
    assert clock.slept == pytest.approx(5.0)


def test_rate_limit_spaces_concurrent_requests_for_real(api: FakeApi) -> None:
    api.route("GET", "/x", OK)
    with make_client(api, rate_limit_per_hour=36_000) as client:  # 10/s, burst of 100
        client.limiter = RateLimiter(36_000, burst=1)  # no burst, so the spacing shows right away
        started = time.monotonic()
        list(client.map_concurrent(lambda _: client.get_json("/x"), range(4)))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3 - 0.01  # 4 requests at 10/s: three gaps of 0.1 s
    assert len(api.seen("/x")) == 4


# -- concurrency ------------------------------------------------------------------------------------------


def test_map_concurrent_runs_requests_in_parallel(api: FakeApi) -> None:
    api.route("GET", "/slow", lambda seen: Reply(200, {"n": int(seen.param("n") or 0)}, delay=0.2))
    with make_client(api, max_concurrency=8) as client:
        results = list(
            client.map_concurrent(lambda n: client.get_json("/slow", params={"n": n})["n"], range(8))
        )
        assert client.request_count == 8
    assert results == list(range(8))
    assert api.max_in_flight >= 4  # the server saw requests overlap


def test_map_concurrent_respects_the_bound_and_order(api: FakeApi) -> None:
    def reply(seen: Seen) -> Reply:
        n = int(seen.param("n") or 0)
        return Reply(200, {"n": n}, delay=0.02 * (9 - n))  # later items finish first

    api.route("GET", "/slow", reply)
    with make_client(api, max_concurrency=3) as client:
        results = list(
            client.map_concurrent(lambda n: client.get_json("/slow", params={"n": n})["n"], range(9))
        )
    assert results == list(range(9))
    assert api.max_in_flight <= 3


def test_map_concurrent_streams_an_endless_iterable(api: FakeApi) -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for n in itertools.count():
            pulled.append(n)
            yield n

    with make_client(api, max_concurrency=2) as client:
        results = client.map_concurrent(lambda n: n * n, source())
        first = list(itertools.islice(results, 5))
        results.close()  # type: ignore[attr-defined]
    assert first == [0, 1, 4, 9, 16]
    assert len(pulled) <= 5 + 2 * 2 + 1


def test_map_concurrent_propagates_the_first_error_and_stops(api: FakeApi) -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            calls.append(n)
        if n == 3:
            raise ValueError("item 3 is bad")
        time.sleep(0.01)
        return n

    with make_client(api, max_concurrency=4) as client, pytest.raises(ValueError, match="item 3 is bad"):
        list(client.map_concurrent(work, range(10_000)))
    assert len(calls) < 100


def test_map_concurrent_surfaces_http_errors(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/ok", OK)
    api.route("GET", "/denied", Reply(403, {"errors": ["Forbidden"]}))
    paths = ["/ok", "/ok", "/denied", "/ok"]
    with make_client(api, clock) as client, pytest.raises(AuthError):
        list(client.map_concurrent(client.get_json, paths))


def test_request_count_is_exact_under_concurrency(api: FakeApi, clock: FakeClock) -> None:
    api.route("GET", "/x", Reply(500), OK)  # exactly one retry overall
    with make_client(api, clock, max_concurrency=8) as client:
        list(client.map_concurrent(lambda _: client.get_json("/x"), range(40)))
        assert client.request_count == 41 == len(api.seen("/x"))


# -- helpers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- TLS --------------------------------------------------------------------------------------------


def test_clients_share_one_verifying_tls_context(api: FakeApi) -> None:
    """Loading the CA certificates costs ~45 ms: a task's client must not pay it again."""
    first, second = make_client(api), make_client(api, proxy="http://127.0.0.1:9")
    try:
        pools = [  # httpx's own transports: each client's, and the proxy's of the second
            pool
            for client in (first, second)
            for pool in [
                client._http._transport._pool,
                *(m._pool for m in client._http._mounts.values() if m),
            ]
        ]
        assert len(pools) == 3
        assert {id(pool._ssl_context) for pool in pools} == {id(trusted_certificates())}
        assert trusted_certificates().verify_mode == ssl.CERT_REQUIRED
    finally:
        first.close()
        second.close()
