"""Retry policy (tenacity): which failures are worth retrying and how long to wait between tries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NoReturn, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.http.errors import (
    Cancelled,
    MalformedResponse,
    RateLimitTooLong,
    RetriesExhausted,
    TransientStatus,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429})
"""Besides every 5xx: 408 comes from proxies and load balancers and is as transient as a 503."""

ANNOUNCED_WAIT_STATUSES = frozenset({429, 503})
"""Only these statuses' reset headers mean "come back later"; on a 200 they describe the quota."""

RESET_HEADERS = ("retry-after", "ratelimit-reset", "x-ratelimit-reset")
"""In order of precedence: the standard header, then PagerDuty's, then Datadog's."""

REMAINING_HEADERS = ("ratelimit-remaining", "x-ratelimit-remaining")

_EPOCH_THRESHOLD = 1_000_000_000
"""Reset values this large are Unix timestamps (GitHub style), not delays; no API announces 30-year waits."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and backoff shape; defaults suit SaaS APIs that throttle per minute."""

    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    max_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_wait < 0:
            raise ValueError("backoff_base, backoff_max and max_wait must be >= 0")


def is_retryable_status(status: int) -> bool:
    """429, 408 and any 5xx: the server may answer differently next time."""
    return status in RETRY_STATUSES or 500 <= status <= 599


def is_retryable(exc: BaseException) -> bool:
    """Transient statuses, timeouts, dropped/refused connections and garbage bodies are retried."""
    if isinstance(exc, httpx.UnsupportedProtocol):  # a bad URL scheme will not fix itself
        return False
    return isinstance(exc, TransientStatus | MalformedResponse | httpx.TransportError)


def _parse_seconds(value: str, *, now: datetime) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    if seconds >= _EPOCH_THRESHOLD:
        seconds -= now.timestamp()
    return max(0.0, seconds)


def _parse_http_date(value: str, *, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def announced_wait(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait, from Retry-After, ratelimit-reset or X-RateLimit-Reset.

    Retry-After may be seconds or an HTTP date; the reset headers are seconds to wait (a value that
    looks like a Unix timestamp is converted). Unparseable headers are skipped, not trusted.
    """
    now = now or datetime.now(UTC)
    for name in RESET_HEADERS:
        value = headers.get(name)
        if value is None or not value.strip():
            continue
        seconds = _parse_seconds(value, now=now)
        if seconds is None and name == "retry-after":
            seconds = _parse_http_date(value, now=now)
        if seconds is not None:
            return seconds
    return None


def quota_exhausted_wait(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """When a response says no requests remain (remaining=0), the seconds until the quota resets."""
    for name in REMAINING_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            remaining = float(value.strip())
        except ValueError:
            continue
        if remaining <= 0:
            return announced_wait(headers, now=now)
    return None


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a failure for the 'last error' part of messages."""
    if isinstance(exc, TransientStatus | MalformedResponse):
        return exc.message
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        detail = " ".join(str(exc).split())
        return f"connection failed ({type(exc).__name__}{': ' + detail if detail else ''})"
    return f"{type(exc).__name__}: {exc}"


def cancellable_sleep(cancel: threading.Event) -> Callable[[float], None]:
    """A sleep that returns early, raising Cancelled, as soon as ``cancel`` is set."""

    def sleep(seconds: float) -> None:
        if cancel.wait(seconds):
            raise Cancelled("cancelled while waiting to retry")

    return sleep


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    connection: str,
    what: str,
    cancel: threading.Event,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``fn`` until it succeeds, fails non-retryably, or the retry budget is spent.

    ``what`` (e.g. "GET /incidents") only feeds messages. Server-announced waits are honoured
    exactly; other retries use full-jitter exponential backoff. Raises RetriesExhausted (or the last
    MalformedResponse) when the budget is spent and RateLimitTooLong when the server asks for more
    than ``policy.max_wait``.
    """
    backoff = wait_random_exponential(multiplier=policy.backoff_base, max=policy.backoff_max)
    do_sleep = sleep or cancellable_sleep(cancel)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientStatus) and exc.retry_after is not None:
            if exc.retry_after > policy.max_wait:
                raise RateLimitTooLong(
                    connection=connection,
                    wait=exc.retry_after,
                    max_wait=policy.max_wait,
                    status=exc.status,
                    url=exc.url,
                ) from exc
            return exc.retry_after
        return float(backoff(state))

    def sleep_checked(seconds: float) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled while waiting to retry", connection=connection)
        try:
            do_sleep(seconds)
        except Cancelled as exc:
            raise Cancelled("cancelled while waiting to retry", connection=connection) from exc
        if cancel.is_set():
            raise Cancelled("cancelled while waiting to retry", connection=connection)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s failed (%s); retry %d/%d in %.1f s",
            connection,
            what,
            describe_error(exc) if exc else "?",
            state.attempt_number,
            policy.max_retries,
            delay,
        )

    def give_up(state: RetryCallState) -> NoReturn:
        exc = state.outcome.exception() if state.outcome else None
        attempts = state.attempt_number
        if isinstance(exc, MalformedResponse):
            raise MalformedResponse(
                f"{exc.message} (gave up after {attempts} attempts)",
                connection=connection,
                status=exc.status,
                url=exc.url,
            ) from exc
        cause = describe_error(exc) if exc else "unknown error"
        raise RetriesExhausted(
            f"{what} failed after {attempts} attempts; last error: {cause}",
            connection=connection,
            attempts=attempts,
            last_error=exc,
            status=getattr(exc, "status", None),
            url=getattr(exc, "url", None),
        ) from exc

    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=wait,
        sleep=sleep_checked,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    return retrying(fn)
