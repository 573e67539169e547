"""Collectors: DORA failures and deployments by time windows, monitor events by cursor or page.

First run (or fullSync): everything from `timeAfter` (else two years back) to now.
Later runs, per kind:
  * new records: the window since the previous successful run, minus `lookbackHours` (24 h by
    default), because DORA events are often sent late with their real start time;
  * failures only: failures are mutable (`finished_at` is set when they end) but DORA lists filter
    on the start time, so the failures still open in our tool table, started within
    `openLookbackDays`, are re-read by walking the windows around their start times (merged into
    at most 16 windows). The cost follows the number of open failures, not the history.
The state advances only when the whole collection succeeded; pages that arrived are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select

from core.collect import RawWriter, Watermark
from core.http import AuthError, cursor_pages, page_number_pages, set_param
from core.models import utcnow
from core.plugin import TaskContext
from plugins.datadog.api import EVENTS_LIMIT, explain_auth
from plugins.datadog.connection import DatadogConnection, DatadogOptions, Kind
from plugins.datadog.models import RAW_DEPLOYMENTS, RAW_FAILURES, RAW_MONITOR_EVENTS, DatadogFailure
from plugins.datadog.tasks.common import epoch_ms, params_of, scope_of, state_of, wants
from plugins.datadog.tasks.windows import DedupSink, merge_windows, walk_range

DEFAULT_HISTORY = timedelta(days=730)  # DORA Metrics keep two years
OPEN_WINDOWS = 16
OPEN_PAD = timedelta(seconds=1)
MONITOR_SOURCE = "source:alert"
Page = dict[str, Any]


def collect_failures(ctx: TaskContext) -> None:
    if wants(ctx, "failures"):
        _collect_dora(ctx, "failures", RAW_FAILURES)


def collect_deployments(ctx: TaskContext) -> None:
    if wants(ctx, "deployments"):
        _collect_dora(ctx, "deployments", RAW_DEPLOYMENTS)


def collect_monitor_events(ctx: TaskContext) -> None:
    if not wants(ctx, "monitors"):
        return
    with _Run(ctx, "monitors", RAW_MONITOR_EVENTS) as run:
        since, until = run.range()
        options = _options(ctx)
        if options.monitor_events_api == "v1":
            _events_v1(ctx, run.writer.add_many, since, until)
        else:
            _events_v2(ctx, run.writer.add_many, since, until)


def _collect_dora(ctx: TaskContext, kind: Kind, table: Table) -> None:
    query = scope_of(ctx).query
    with _Run(ctx, kind, table) as run:
        since, until = run.range()
        sink = DedupSink(run.writer.add_many)
        ranges = [(since, until)]
        if kind == "failures" and run.incremental:
            ranges += _open_failure_windows(ctx, since)
        for start, end in ranges:
            walk_range(ctx.client, kind, query, start, end, sink, check=ctx.check_cancelled)
            ctx.progress.advance(1, records=0)
        ctx.progress.advance(0, records=sink.records)


class _Run:
    """One incremental collection of one kind: range, raw writer, fullSync reset, state on success."""

    def __init__(self, ctx: TaskContext, kind: Kind, table: Table) -> None:
        self.ctx = ctx
        self.kind = kind
        self.state = state_of(ctx)
        self.writer = RawWriter(ctx.db, table, params_of(ctx))
        self.started = utcnow()
        self.requested_after = ctx.time_after
        mark = None if ctx.full_sync else self.state.load(kind)
        if mark is not None and not mark.covers(self.requested_after):
            mark = None  # timeAfter moved earlier: the older history was never collected
        self.mark = mark

    @property
    def incremental(self) -> bool:
        return self.mark is not None and self.mark.latest_success_start is not None

    def range(self) -> tuple[datetime, datetime]:
        until = self.started.replace(microsecond=0) + timedelta(seconds=1)
        if self.incremental:
            assert self.mark is not None and self.mark.latest_success_start is not None
            lookback = timedelta(hours=_options(self.ctx).lookback_hours)
            since = self.mark.latest_success_start - lookback
            if self.mark.time_after is not None:
                since = max(since, self.mark.time_after)
            return since, until
        return self.requested_after or until - DEFAULT_HISTORY, until

    def __enter__(self) -> _Run:
        if self.ctx.full_sync:
            self.writer.delete_all()
            for entity in (self.kind, f"extract:{self.kind}", f"convert:{self.kind}"):
                self.state.clear(entity)  # everything of this kind is redone
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.writer.flush()  # what arrived is kept even when a later page failed
        if exc_type is None:
            time_after = self.requested_after if self.mark is None else self.mark.time_after
            self.state.save(self.kind, Watermark(time_after=time_after, latest_success_start=self.started))
        elif isinstance(exc, AuthError):
            conn = self.ctx.connection
            assert isinstance(conn, DatadogConnection)
            raise explain_auth(exc, conn, self.ctx.client) from exc


def _open_failure_windows(ctx: TaskContext, since: datetime) -> list[tuple[datetime, datetime]]:
    """Windows around the start times of failures still open, older than `since` (already re-read)."""
    scope = scope_of(ctx)
    oldest = utcnow() - timedelta(days=_options(ctx).open_lookback_days)
    t = DatadogFailure
    with ctx.db.session() as s:
        starts = list(
            s.scalars(
                select(t.started_at)
                .where(
                    t.connection_id == ctx.connection_id,
                    t.scope_id == scope.id,
                    t.finished_at.is_(None),
                    t.started_at >= oldest,
                    t.started_at < since,
                )
                .order_by(t.started_at)
            )
        )
    windows = merge_windows([x for x in starts if x is not None], pad=OPEN_PAD, max_windows=OPEN_WINDOWS)
    return [(a, min(b, since)) for a, b in windows if a < since]


def _events_v2(
    ctx: TaskContext, sink: Callable[[list[Page]], None], since: datetime, until: datetime
) -> None:
    """Events API v2 (cursor in `meta.page.after`), monitor alerts only, oldest first."""
    query = " ".join(p for p in (MONITOR_SOURCE, scope_of(ctx).query) if p)
    params = {
        "filter[query]": query,
        "filter[from]": str(epoch_ms(since)),
        "filter[to]": str(epoch_ms(until)),
        "sort": "timestamp",
        "page[limit]": EVENTS_LIMIT,
    }
    pages = cursor_pages(
        ctx.client,
        "GET",
        "/api/v2/events",
        params=params,
        next_cursor=_after,
        apply_cursor=set_param("page[cursor]"),
        items=lambda body: body["data"],
        validate=_list_of("data"),
    )
    _drain(ctx, pages, sink)


def _events_v1(
    ctx: TaskContext, sink: Callable[[list[Page]], None], since: datetime, until: datetime
) -> None:
    """Events API v1: `page` numbers with `unaggregated=true`, 1000 events a page."""
    params: dict[str, Any] = {
        "start": int(epoch_ms(since) // 1000),
        "end": int(epoch_ms(until) // 1000),
        "sources": "alert",
        "unaggregated": "true",
    }
    tags = query_tags(scope_of(ctx).query)
    if tags:
        params["tags"] = ",".join(tags)
    pages = page_number_pages(
        ctx.client,
        "/api/v1/events",
        params=params,
        page_size=EVENTS_LIMIT,
        items=lambda body: body["events"],
        validate=_list_of("events"),
        max_pages=10_000,
    )
    _drain(ctx, pages, sink)


def _drain(ctx: TaskContext, pages: Iterator[list[Page]], sink: Callable[[list[Page]], None]) -> None:
    for page in pages:
        ctx.check_cancelled()
        sink(page)
        ctx.progress.advance(1, records=len(page))


def query_tags(query: str) -> list[str]:
    """The plain `key:value` terms of a query: all v1's `tags` filter can express."""
    return [
        t for t in query.split() if ":" in t and not any(c in t for c in '()*"') and not t.startswith("-")
    ]


def _after(body: Any) -> str | None:
    page = ((body.get("meta") or {}).get("page") or {}) if isinstance(body, dict) else {}
    after = page.get("after") if isinstance(page, dict) else None
    return after if isinstance(after, str) and after else None


def _list_of(key: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise ValueError(f"response has no {key!r} list")
        if not all(isinstance(item, dict) for item in body[key]):
            raise ValueError(f"{key!r} holds something other than objects")

    return check


def _options(ctx: TaskContext) -> DatadogOptions:
    opts = ctx.options
    return opts if isinstance(opts, DatadogOptions) else DatadogOptions.model_validate(opts.model_dump())


