"""RateLimiter: token-bucket budget and server-announced pauses, on a fake and on the real clock."""

from __future__ import annotations

import threading
import time

import pytest

from core.http import Cancelled, RateLimiter
from core.http.ratelimit import default_burst
from tests.unit.http_fakes import FakeClock


@pytest.mark.parametrize(
    ("per_hour", "burst"),
    [(1, 1.0), (360, 1.0), (3600, 10.0), (57_600, 160.0), (2, 1.0)],
)
def test_default_burst_is_ten_seconds_of_budget(per_hour: int, burst: float) -> None:
    assert default_burst(per_hour) == burst


def test_burst_then_even_spacing() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(3600, clock=clock, sleep=clock.sleep)  # 1/s, burst 10
    times = []
    for _ in range(14):
        limiter.acquire()
        times.append(clock())
    assert times[:10] == [0.0] * 10
    assert times[10:] == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_budget_refills_while_idle_but_not_beyond_capacity() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(3600, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    clock.sleep(3600)  # idle for an hour: the bucket holds 3, not 3600
    clock.sleeps.clear()
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == pytest.approx(1.0)


def test_pause_blocks_and_only_extends() -> None:
    clock = FakeClock(start=100.0)
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    limiter.pause_until(130.0)
    limiter.pause_until(110.0)  # an earlier deadline must not shorten the pause
    assert limiter.paused_until == 130.0
    limiter.acquire()
    assert clock() == pytest.approx(130.0)
    limiter.acquire()
    assert clock() == pytest.approx(130.0)


def test_pause_for_is_relative_to_the_clock() -> None:
    clock = FakeClock(start=50.0)
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    limiter.pause_for(5)
    assert limiter.paused_until == 55.0


def test_pause_holds_every_thread_for_real() -> None:
    limiter = RateLimiter(None)
    deadline = time.monotonic() + 0.3
    limiter.pause_until(deadline)
    released: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter.acquire(threading.Event())
        with lock:
            released.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(released) == 4
    assert min(released) >= deadline


def test_concurrent_acquirers_are_spaced_by_the_budget() -> None:
    limiter = RateLimiter(72_000, burst=1)  # 20 per second, no burst
    acquired: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            limiter.acquire()
            with lock:
                acquired.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(acquired) == 9
    assert max(acquired) - started >= 8 / 20 - 0.01  # first token is free, then one every 50 ms


def test_cancel_interrupts_a_waiting_acquire() -> None:
    limiter = RateLimiter(1)  # one request per hour
    cancel = threading.Event()
    limiter.acquire(cancel)
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        limiter.acquire(cancel)
    assert time.monotonic() - started < 30  # not the hour it would otherwise wait


def test_cancel_with_injected_sleep_is_noticed_between_steps() -> None:
    clock = FakeClock(start=0.0)
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock() >= 2.0:
            cancel.set()

    limiter = RateLimiter(None, clock=clock, sleep=sleep, poll_interval=0.5)
    limiter.pause_until(600.0)
    with pytest.raises(Cancelled):
        limiter.acquire(cancel)
    assert clock() == pytest.approx(2.0)


def test_cancelled_waiter_returns_its_token() -> None:
    clock = FakeClock(start=0.0)
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        cancel.set()

    limiter = RateLimiter(3600, burst=1, clock=clock, sleep=sleep, poll_interval=0.5)
    limiter.acquire()
    with pytest.raises(Cancelled):
        limiter.acquire(cancel)  # reserved the t=1 slot, cancelled at t=0.5
    assert clock() == pytest.approx(0.5)
    limiter.acquire()  # gets the t=1 slot back instead of queueing behind the abandoned one
    assert clock() == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs", [{"per_hour": 0}, {"per_hour": -5}, {"per_hour": 10, "burst": 0.5}])
def test_invalid_settings_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**kwargs)  # type: ignore[arg-type]
