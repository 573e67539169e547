"""Client-side request budget plus server-announced pauses, shared by all threads of one client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.http.errors import Cancelled

Clock = Callable[[], float]
Sleep = Callable[[float], None]

BURST_SECONDS = 10.0
"""How many seconds' worth of budget may be spent at once: enough to fill a concurrent fan-out of
pages quickly, small enough that a short run cannot blow through a per-minute server quota."""


def default_burst(per_hour: float) -> float:
    """Ten seconds of budget, but never more than the whole hour's budget and never below one request."""
    return max(1.0, min(per_hour / 3600.0 * BURST_SECONDS, per_hour))


class RateLimiter:
    """Token bucket (``per_hour`` requests, ``burst`` capacity) plus a global pause deadline.

    Tokens are *reserved*: a caller takes its token at once (the balance may go negative) and then
    waits until its slot, so concurrent callers are spaced evenly instead of stampeding every time a
    token appears. ``pause_until`` blocks every caller, including ones already holding a reservation,
    because a server-announced reset applies to the whole connection.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock; with the real clock waits use
    the cancel event, so cancellation interrupts them immediately.
    """

    def __init__(
        self,
        per_hour: float | None = None,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        if per_hour is not None and per_hour <= 0:
            raise ValueError(f"per_hour must be positive, got {per_hour}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.per_hour = per_hour
        self._rate = per_hour / 3600.0 if per_hour is not None else None
        self.capacity = burst if burst is not None else (default_burst(per_hour) if per_hour else 1.0)
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_interval
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until = 0.0

    @property
    def paused_until(self) -> float:
        """The monotonic deadline of the current server-announced pause (in the past when not paused)."""
        with self._lock:
            return self._paused_until

    def pause_until(self, deadline: float) -> None:
        """Stop every caller until ``deadline`` (clock time); only ever extends an existing pause."""
        with self._lock:
            self._paused_until = max(self._paused_until, deadline)

    def pause_for(self, seconds: float) -> None:
        """Convenience for ``pause_until(clock() + seconds)``."""
        self.pause_until(self._clock() + seconds)

    def acquire(self, cancel: threading.Event | None = None) -> None:
        """Block until one request may be sent; raises Cancelled if ``cancel`` is set meanwhile."""
        self._check(cancel)
        with self._lock:
            now = self._clock()
            ready_at = now
            if self._rate is not None:
                self._refill(now)
                if self._tokens < 1:
                    ready_at = now + (1 - self._tokens) / self._rate
                self._tokens -= 1
        try:
            self._wait_until(ready_at, cancel)
            while True:  # a pause may be announced by another thread while we waited
                deadline = self.paused_until
                if deadline <= self._clock():
                    return
                self._wait_until(deadline, cancel)
        except Cancelled:
            with self._lock:
                if self._rate is not None:
                    self._tokens = min(self.capacity, self._tokens + 1)  # give the unused slot back
            raise

    def _refill(self, now: float) -> None:
        assert self._rate is not None
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self._rate)
        self._updated = now

    def _check(self, cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled while waiting for the rate limiter")

    def _wait_until(self, deadline: float, cancel: threading.Event | None) -> None:
        while True:
            self._check(cancel)
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            step = min(remaining, self._poll)
            if self._sleep is not None:
                self._sleep(step)
            elif cancel is not None:
                cancel.wait(step)
            else:
                time.sleep(step)
