"""Retry policy details and error-text extraction that need no server: header parsing, backoff shape."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from core.http import (
    Cancelled,
    MalformedResponse,
    RequestRejected,
    RetriesExhausted,
    RetryPolicy,
    TransientStatus,
    announced_wait,
    call_with_retries,
    default_error_message,
    is_retryable,
)
from core.http.retry import quota_exhausted_wait

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CONN = "datadog connection 2 (eu)"


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (headers(retry_after="12"), 12.0),
        (headers(retry_after="1.5"), 1.5),
        (headers(retry_after=format_datetime(NOW + timedelta(seconds=90), usegmt=True)), 90.0),
        (headers(retry_after=format_datetime(NOW - timedelta(seconds=90), usegmt=True)), 0.0),
        (headers(ratelimit_reset="33"), 33.0),
        (headers(x_ratelimit_reset="8"), 8.0),
        (headers(retry_after="3", ratelimit_reset="30", x_ratelimit_reset="300"), 3.0),
        (headers(ratelimit_reset="30", x_ratelimit_reset="300"), 30.0),
        (headers(retry_after="soon", ratelimit_reset="30"), 30.0),  # garbage is skipped, not trusted
        (headers(x_ratelimit_reset=str(int(NOW.timestamp()) + 45)), 45.0),  # epoch style
        (headers(retry_after="-5"), 0.0),
        (headers(), None),
    ],
)
def test_announced_wait(given: httpx.Headers, expected: float | None) -> None:
    assert announced_wait(given, now=NOW) == expected


def test_quota_exhausted_wait_needs_zero_remaining() -> None:
    assert quota_exhausted_wait(headers(ratelimit_remaining="0", ratelimit_reset="20"), now=NOW) == 20.0
    assert quota_exhausted_wait(headers(x_ratelimit_remaining="0", x_ratelimit_reset="7"), now=NOW) == 7.0
    assert quota_exhausted_wait(headers(x_ratelimit_remaining="3", x_ratelimit_reset="7"), now=NOW) is None
    assert quota_exhausted_wait(headers(x_ratelimit_remaining="0"), now=NOW) is None


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (TransientStatus("HTTP 503", connection=CONN, status=503), True),
        (MalformedResponse("not JSON", connection=CONN), True),
        (httpx.ReadTimeout("timed out"), True),
        (httpx.ConnectError("refused"), True),
        (httpx.RemoteProtocolError("dropped"), True),
        (httpx.UnsupportedProtocol("ftp://"), False),
        (RequestRejected(connection=CONN, status=400, method="GET", path="/x"), False),
        (Cancelled(), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_backoff_is_full_jitter_and_capped() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=8, backoff_base=0.5, backoff_max=4.0)

    def always_503() -> None:
        raise TransientStatus("HTTP 503", connection=CONN, status=503)

    with pytest.raises(RetriesExhausted) as info:
        call_with_retries(
            always_503,
            policy=policy,
            connection=CONN,
            what="GET /x",
            cancel=threading.Event(),
            sleep=sleeps.append,
        )
    assert info.value.attempts == 9
    caps = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert len(sleeps) == len(caps)
    assert all(0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))


def test_zero_retries_means_one_attempt() -> None:
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(RetriesExhausted, match="after 1 attempts"):
        call_with_retries(
            fail, policy=RetryPolicy(max_retries=0), connection=CONN, what="GET /x", cancel=threading.Event()
        )
    assert calls == [1]


def test_non_retryable_errors_propagate_unchanged() -> None:
    err = RequestRejected(connection=CONN, status=404, method="GET", path="/x")

    def fail() -> None:
        raise err

    with pytest.raises(RequestRejected) as info:
        call_with_retries(
            fail, policy=RetryPolicy(), connection=CONN, what="GET /x", cancel=threading.Event()
        )
    assert info.value is err


def response(
    status: int, body: Any = None, *, text: str | None = None, content_type: str | None = None
) -> httpx.Response:
    hdrs = {"content-type": content_type} if content_type else {}
    if text is not None:
        return httpx.Response(status, text=text, headers=hdrs)
    return httpx.Response(status, json=body, headers=hdrs)


@pytest.mark.parametrize(
    ("resp", "expected"),
    [
        (
            response(
                400,
                {
                    "error": {
                        "message": "Invalid Input Provided",
                        "code": 2001,
                        "errors": ["Offset must be less than 10000."],
                    }
                },
            ),
            "Invalid Input Provided: Offset must be less than 10000.",
        ),
        (response(401, {"error": {"message": "Unauthorized", "code": 2006}}), "Unauthorized"),
        (response(403, {"errors": ["Forbidden"]}), "Forbidden"),
        (response(400, {"errors": [{"detail": "bad cursor"}, {"title": "Too big"}]}), "bad cursor; Too big"),
        (response(400, {"errors": [{"message": "m"}]}), "m"),
        (response(400, {"message": "plain message"}), "plain message"),
        (response(400, {"error": "invalid_grant"}), "invalid_grant"),
        (response(400, {}), None),
        (response(400, text=""), None),
        (response(502, text="x" * 500), "x" * 199 + "…"),
        (
            response(
                503,
                text="<html><head><style>p{}</style><title>503 Service Temporarily Unavailable</title></head></html>",
                content_type="text/html",
            ),
            "HTML page: 503 Service Temporarily Unavailable",
        ),
        (
            response(500, text="<html><body><h1>Oops &amp; sorry</h1></body></html>"),
            "HTML page: Oops & sorry",
        ),
    ],
)
def test_default_error_message(resp: httpx.Response, expected: str | None) -> None:
    assert default_error_message(resp) == expected
