"""Walking a DORA list (no cursor, at most 1000 records a request) by time windows.

Each request asks for `limit` 1000 records of a window, oldest first. A page with fewer than 1000
records is the whole window (the cap = limit - 1 rule of `split_time_windows`); a full page means
"maybe more", so the window is narrowed and asked again. Windows are sized adaptively: after each
window the next one is sized from the density just seen to hold about `TARGET` records, so a
dense month costs about one request per 500 records and an empty year about five.
Long ranges are cut into chunks walked concurrently. Records are de-duplicated on `id`, since a
record exactly on a boundary may come back in two windows.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.http import ApiClient, PaginationLimitError, time_windows
from plugins.datadog.api import DORA_LIMIT, Record, dora_list
from plugins.datadog.tasks.common import parse_time

TARGET = 500  # records a window aims at: half the page cap leaves room for bursts
MAX_SPAN = timedelta(days=90)
FIRST_SPAN = MAX_SPAN  # a full first page tells the density at once
MIN_SPAN = timedelta(seconds=1)  # from/to are whole seconds
CHUNK = timedelta(days=30)  # ranges longer than this are walked in parallel chunks
MAX_GROWTH = 8.0


class DedupSink:
    """Thread-safe sink that passes each record id on once per run."""

    def __init__(self, write: Callable[[list[Record]], None]) -> None:
        self._write = write
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.records = 0

    def __call__(self, page: list[Record]) -> int:
        with self._lock:
            fresh = []
            for record in page:
                rid = str(record.get("id") or "")
                if rid and rid in self._seen:
                    continue
                self._seen.add(rid)
                fresh.append(record)
            self.records += len(fresh)
        if fresh:
            self._write(fresh)
        return len(fresh)


def next_span(width: timedelta, count: int) -> timedelta:
    """The width expected to hold about TARGET records, given `count` records in `width`."""
    factor = MAX_GROWTH if count == 0 else min(MAX_GROWTH, TARGET / count)
    seconds = max(MIN_SPAN.total_seconds(), math.floor(width.total_seconds() * factor))
    return min(MAX_SPAN, timedelta(seconds=seconds))


def walk(
    client: ApiClient,
    kind: str,
    query: str,
    start: datetime,
    end: datetime,
    sink: DedupSink,
    *,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Every record of [start, end) in time order, through `sink`, with adaptive window sizes.

    A full page is never used (the cap = limit - 1 rule): the window is narrowed and asked again.
    Rather than only halving (one wasted request per halving, as `split_time_windows` does), the
    narrower width comes from the full page itself: its records, oldest first, show how long the
    first 1000 took, so one retry usually fits. It is never more than half the old width, so the
    walk always progresses even when a server ignores `sort`.
    """
    span = FIRST_SPAN
    cursor = start
    while cursor < end:
        check()
        stop = min(cursor + span, end)
        page = dora_list(client, kind, cursor, stop, query)
        width = stop - cursor
        if len(page) >= DORA_LIMIT:
            if width <= MIN_SPAN:
                raise PaginationLimitError(
                    f"{client.connection}: more than {DORA_LIMIT - 1} {kind} started within "
                    f"{cursor.isoformat()}..{stop.isoformat()}; the DORA API cannot page through them"
                )
            span = _narrower(cursor, width, page)
            continue
        sink(page)
        span = next_span(width, len(page))
        cursor = stop


def _narrower(cursor: datetime, width: timedelta, page: list[Record]) -> timedelta:
    """A width expected to hold about TARGET records, from a full page's own start times."""
    half = max(MIN_SPAN, timedelta(seconds=math.floor(width.total_seconds() / 2)))
    starts = [parse_time((r.get("attributes") or {}).get("started_at")) for r in page]
    last = max((t for t in starts if t is not None), default=None)
    if last is None or last <= cursor:
        return half
    guess = timedelta(seconds=math.floor((last - cursor).total_seconds() * TARGET / len(page)))
    return max(MIN_SPAN, min(half, guess))


def walk_range(
    client: ApiClient,
    kind: str,
    query: str,
    start: datetime,
    end: datetime,
    sink: DedupSink,
    *,
    check: Callable[[], None] = lambda: None,
) -> None:
    """`walk`, with ranges longer than CHUNK cut into up to `max_concurrency` concurrent chunks."""
    start, end = _whole(start, floor=True), _whole(end, floor=False)
    if end <= start:
        return
    parts = min(client.max_concurrency, math.ceil((end - start) / CHUNK))
    if parts <= 1:
        walk(client, kind, query, start, end, sink, check=check)
        return
    size = timedelta(seconds=math.ceil((end - start).total_seconds() / parts))
    chunks = list(time_windows(start, end, size))

    def run(chunk: tuple[datetime, datetime]) -> Any:
        walk(client, kind, query, chunk[0], chunk[1], sink, check=check)

    run(chunks[0])  # alone first: a rejected key or a bad query fails once, not once per thread
    for _ in client.map_concurrent(run, chunks[1:]):
        pass


def _whole(value: datetime, *, floor: bool) -> datetime:
    if value.microsecond == 0:
        return value
    down = value.replace(microsecond=0)
    return down if floor else down + timedelta(seconds=1)


def merge_windows(
    times: list[datetime], *, pad: timedelta, max_windows: int
) -> list[tuple[datetime, datetime]]:
    """Cover sorted instants with at most `max_windows` windows, merging the closest ones first."""
    windows: list[list[datetime]] = []
    for t in times:
        a, b = _whole(t - pad, floor=True), _whole(t + pad, floor=False) + MIN_SPAN
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    while len(windows) > max_windows:
        gaps = [windows[i + 1][0] - windows[i][1] for i in range(len(windows) - 1)]
        i = gaps.index(min(gaps))
        windows[i][1] = windows[i + 1][1]
        del windows[i + 1]
    return [(a, b) for a, b in windows]
