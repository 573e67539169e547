"""Collectors: every incident of a service, by time windows that fit PagerDuty's offset cap.

First run (or fullSync): the history from `timeAfter` (else the service's creation) to now is
cut into windows of at most six months; each window is probed with `total=true` (the probe's
first page is kept), windows over 10,000 incidents are halved until they fit, and then every
remaining page of every window is fetched concurrently within the connection's rate limit.

Later runs: incidents created since the last successful run (minus a small overlap), plus the
incidents that changed since then, found through the log entries API with the incidents
included — so the number of requests follows what changed, not the size of the history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from core.collect import RawWriter, Watermark
from core.http import split_time_windows, time_windows
from core.http.pages import RecordPage
from core.models import utcnow
from core.plugin import TaskContext
from plugins.pagerduty.api import OFFSET_CAP, PAGE_LIMIT
from plugins.pagerduty.models import RAW_INCIDENTS, RAW_SERVICES
from plugins.pagerduty.tasks.common import format_time, params_of, parse_time, scope_id, state_of

MAX_SPAN = timedelta(days=180)  # PagerDuty answers 400 beyond six months per query
OVERLAP = timedelta(minutes=10)  # re-read a little of the previous run against clock skew
EARLIEST = datetime(2009, 1, 1)  # PagerDuty was founded in 2009: nothing is older
ENTITY = "incidents"
Page = dict[str, Any]


def collect_services(ctx: TaskContext) -> None:
    """The scope's service record (name, url, creation date): one request."""
    service = scope_id(ctx)
    body = ctx.client.get_json(f"/services/{service}", validate=_object_with("service"))
    with RawWriter(ctx.db, RAW_SERVICES, params_of(ctx)) as writer:
        writer.add(body["service"], url=f"/services/{service}")
    ctx.progress.advance(1, records=1)


def collect_incidents(ctx: TaskContext) -> None:
    service = scope_id(ctx)
    state = state_of(ctx)
    writer = RawWriter(ctx.db, RAW_INCIDENTS, params_of(ctx))
    started = utcnow()
    requested_after = ctx.time_after
    mark = None if ctx.full_sync else state.load(ENTITY)
    if mark is not None and not mark.covers(requested_after):
        mark = None  # timeAfter moved earlier: the older history was never collected
    if ctx.full_sync:
        writer.delete_all()
        state.clear()  # extract/convert watermarks too: everything is redone
    base = {"service_ids[]": [service], "sort_by": "created_at:asc", "time_zone": "UTC"}
    until = started.replace(microsecond=0) + timedelta(seconds=1)
    try:
        if mark is None or mark.latest_success_start is None:
            start = requested_after or _service_created(ctx) or EARLIEST
            _collect_windows(ctx, "/incidents", "incidents", base, start, until, writer.add_json)
        else:
            since = mark.latest_success_start - OVERLAP
            _collect_windows(ctx, "/incidents", "incidents", base, since, until, writer.add_json)

            def changed(entries: list[bytes]) -> None:
                writer.add_many(_changed_incidents(entries, service))

            log_params = {"include[]": ["incidents"], "is_overview": "false", "time_zone": "UTC"}
            _collect_windows(ctx, "/log_entries", "log_entries", log_params, since, until, changed)
    finally:
        writer.flush()  # what arrived is kept even when a later page fails; the state is not advanced
    time_after = requested_after if mark is None else mark.time_after
    state.save(ENTITY, Watermark(time_after=time_after, latest_success_start=started))


def _collect_windows(
    ctx: TaskContext,
    path: str,
    items_key: str,
    base: dict[str, Any],
    start: datetime,
    end: datetime,
    sink: Callable[[list[bytes]], None],
) -> None:
    """Fetch every record of [start, end): probes first, then all remaining pages concurrently.
    `sink` gets each page's records as the JSON text received."""
    client = ctx.client

    def fetch(window: tuple[datetime, datetime], offset: int, total: bool = False) -> RecordPage:
        ctx.check_cancelled()
        params = {
            **base,
            "since": format_time(window[0]),
            "until": format_time(window[1]),
            "limit": PAGE_LIMIT,
            "offset": offset,
        }
        if total:
            params["total"] = "true"
        return client.get_records(path, key=items_key, params=params)

    def probe(a: datetime, b: datetime) -> tuple[int, RecordPage]:
        page = fetch((a, b), 0, total=True)
        return page.matches, page

    spans = list(time_windows(start, end, MAX_SPAN))
    jobs: list[tuple[tuple[datetime, datetime], int]] = []
    for span, (count, first) in zip(spans, client.map_concurrent(lambda s: probe(*s), spans), strict=True):
        windows: Iterator[tuple[datetime, datetime, RecordPage]]
        if count > OFFSET_CAP:
            windows = split_time_windows(span[0], span[1], probe=probe, cap=OFFSET_CAP, max_span=None)
        else:
            windows = iter([(span[0], span[1], first)])
        for a, b, page in windows:
            sink(page.records)
            ctx.progress.advance(0, records=len(page.records))
            jobs.extend(((a, b), offset) for offset in range(len(page.records), page.matches, PAGE_LIMIT))
    ctx.progress.set_total(len(jobs))
    for page in client.map_concurrent(lambda job: fetch(*job), jobs):
        sink(page.records)
        ctx.progress.advance(1, records=len(page.records))


def _changed_incidents(entries: list[bytes], service: str) -> list[Page]:
    """The included incidents of log entries, one per incident (its latest state), of this service."""
    latest: dict[str, Page] = {}
    for entry in map(orjson.loads, entries):
        incident = entry.get("incident")
        if not isinstance(incident, dict) or incident.get("type") != "incident":
            continue  # an incident_reference: included incidents were not expanded
        if (incident.get("service") or {}).get("id") == service and incident.get("id"):
            latest[str(incident["id"])] = incident
    return list(latest.values())


def _service_created(ctx: TaskContext) -> datetime | None:
    """The service's creation date from the raw service record collected just before."""
    with ctx.db.reading() as s:
        data = s.scalar(
            select(RAW_SERVICES.c.data)
            .where(RAW_SERVICES.c.params == params_of(ctx))
            .order_by(RAW_SERVICES.c.id.desc())
            .limit(1)
        )
    if data is None:
        return None
    created = parse_time(json.loads(data).get("created_at"))
    return created - timedelta(days=1) if created else None


def _object_with(key: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise ValueError(f"response has no {key!r} object")

    return check
