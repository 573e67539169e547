"""Paginators and time-window splitting shared by all plugins.

Each paginator yields one list of items per page, in API order, so callers can store raw pages
as they arrive instead of holding a whole collection in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

from core.http.client import ApiClient, Params, Validator
from core.http.errors import MalformedResponse

log = logging.getLogger(__name__)

P = TypeVar("P")

TOTAL_TRUE: Mapping[str, str] = MappingProxyType({"total": "true"})
"""PagerDuty only computes ``total`` when asked, since counting is expensive for it."""


class PaginationLimitError(ValueError):
    """The API cannot page this far (e.g. PagerDuty's 10,000 offset cap): split the query into
    smaller time windows (see split_time_windows) and page each one."""


# -- offset / limit --------------------------------------------------------------------------------


def _page_validator(items_key: str, validate: Validator | None) -> Validator:
    def check(body: Any) -> None:
        if not isinstance(body, dict):
            raise TypeError(f"expected a JSON object, got {type(body).__name__}")
        if not isinstance(body.get(items_key), list):
            raise KeyError(f"response has no {items_key!r} list")
        if validate is not None:
            validate(body)

    return check


def offset_pages(
    client: ApiClient,
    path: str,
    *,
    params: Params | None = None,
    limit: int,
    items_key: str,
    total_param: Mapping[str, str] | None = TOTAL_TRUE,
    max_offset: int | None = None,
    validate: Validator | None = None,
    first_page: Any = None,
) -> Iterator[list[dict[str, Any]]]:
    """Classic ``{limit, offset, more, total}`` pagination (PagerDuty), concurrent when possible.

    The first page is requested with ``total_param``; when the answer carries an integer ``total``
    the remaining offsets are fetched through ``client.map_concurrent`` (still yielded in order),
    otherwise pages are walked one by one while ``more`` is true. ``first_page`` is an already
    fetched offset-0 page (e.g. from a split_time_windows probe) so it is not requested twice.

    No request ever has ``offset + limit > max_offset`` (the last page's limit is trimmed instead);
    when the result set is larger than ``max_offset`` a PaginationLimitError is raised before any
    page is yielded, so the caller can split its time window rather than silently lose records.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if max_offset is not None and max_offset < limit:
        raise ValueError("max_offset must be at least limit")
    base = dict(params or {})
    check = _page_validator(items_key, validate)
    page_size = limit

    def fetch(offset: int, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
        size = page_size if max_offset is None else min(page_size, max_offset - offset)
        query = {**base, **(extra or {}), "limit": size, "offset": offset}
        body: dict[str, Any] = client.get_json(path, params=query, validate=check)
        return body

    if first_page is None:
        first = fetch(0, total_param)
    else:
        check(first_page)
        first = first_page
    total = first.get("total")
    if not isinstance(total, int) or isinstance(total, bool):
        total = None
    if total is not None and max_offset is not None and total > max_offset:
        raise PaginationLimitError(
            f"{client.connection}: {path} matches {total} records but the API pages at most "
            f"{max_offset}; split the query into smaller time windows"
        )
    yield first[items_key]
    offset = len(first[items_key])
    if offset == 0:
        return
    # The server may cap limit (PagerDuty: 100); page boundaries follow what it actually returned.
    page_size = min(limit, offset)
    more = total > offset if total is not None else bool(first.get("more"))
    if total is not None and more:
        offsets = range(offset, total, page_size)
        last: dict[str, Any] = first
        for page in client.map_concurrent(fetch, offsets):
            last = page
            yield page[items_key]
        offset = offsets[-1] + len(last[items_key])
        more = bool(last.get("more")) and bool(last[items_key])  # records added while we paged
    while more:
        if max_offset is not None and offset >= max_offset:
            raise PaginationLimitError(
                f"{client.connection}: {path} has more than {max_offset} records, the most the API "
                "pages through; split the query into smaller time windows"
            )
        page = fetch(offset)
        yield page[items_key]
        offset += len(page[items_key])
        more = bool(page.get("more")) and bool(page[items_key])


# -- cursor ----------------------------------------------------------------------------------------


def cursor_pages(
    client: ApiClient,
    method: str,
    path: str,
    *,
    params: Params | None = None,
    json: dict[str, Any] | None = None,
    next_cursor: Callable[[Any], str | None],
    apply_cursor: Callable[[dict[str, Any], str], None],
    items: Callable[[Any], list[Any]],
    validate: Validator | None = None,
) -> Iterator[list[Any]]:
    """Sequential cursor pagination (Datadog v2: ``meta.page.after`` -> ``page[cursor]``).

    ``apply_cursor(target, cursor)`` writes the cursor into the next request: ``target`` is the JSON
    body when ``json`` was given (search endpoints), else the query parameters. Both are copies, so
    the caller's dicts are never modified. A cursor that repeats is treated as a server bug and
    raises MalformedResponse rather than looping forever.
    """
    query: dict[str, Any] = dict(params or {})
    body = deepcopy(json) if json is not None else None
    seen: set[str] = set()
    while True:
        data = client.request_json(method, path, params=query, json=body, validate=validate)
        yield items(data)
        cursor = next_cursor(data)
        if not cursor:
            return
        if cursor in seen:
            raise MalformedResponse(
                f"{method.upper()} {path} returned cursor {cursor!r} twice; stopping to avoid a loop",
                connection=client.connection,
            )
        seen.add(cursor)
        apply_cursor(body if body is not None else query, cursor)


def set_param(name: str) -> Callable[[dict[str, Any], str], None]:
    """An ``apply_cursor`` that sets a query parameter, e.g. ``set_param("page[cursor]")``."""

    def apply(target: dict[str, Any], cursor: str) -> None:
        target[name] = cursor

    return apply


def set_json_path(*keys: str) -> Callable[[dict[str, Any], str], None]:
    """An ``apply_cursor`` that sets a nested body field, e.g. ``set_json_path("page", "cursor")``."""
    if not keys:
        raise ValueError("set_json_path needs at least one key")

    def apply(target: dict[str, Any], cursor: str) -> None:
        node = target
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = cursor

    return apply


# -- page number -----------------------------------------------------------------------------------


def page_number_pages(
    client: ApiClient,
    path: str,
    *,
    params: Params | None = None,
    page_param: str = "page",
    start: int = 0,
    page_size: int,
    items: Callable[[Any], list[Any]],
    validate: Validator | None = None,
    max_pages: int | None = None,
) -> Iterator[list[Any]]:
    """Page-number pagination (Datadog v1 events): stops at the first page shorter than ``page_size``.

    ``max_pages`` guards against an API that ignores the page parameter and returns the same full
    page forever; exceeding it raises PaginationLimitError.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    base = dict(params or {})
    page = start
    fetched = 0
    while True:
        if max_pages is not None and fetched >= max_pages:
            raise PaginationLimitError(
                f"{client.connection}: {path} still returns full pages after {max_pages} pages; "
                "split the query into smaller time windows"
            )
        data = client.get_json(path, params={**base, page_param: page}, validate=validate)
        batch = items(data)
        fetched += 1
        yield batch
        if len(batch) < page_size:
            return
        page += 1


# -- time windows ----------------------------------------------------------------------------------


def time_windows(start: datetime, end: datetime, span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive half-open windows ``[a, b)`` of at most ``span`` covering ``[start, end)`` exactly."""
    if span <= timedelta(0):
        raise ValueError("span must be positive")
    cursor = start
    while cursor < end:
        stop = min(cursor + span, end)
        yield cursor, stop
        cursor = stop


def split_time_windows(
    start: datetime,
    end: datetime,
    *,
    probe: Callable[[datetime, datetime], tuple[int, P]],
    cap: int,
    max_span: timedelta | None,
    min_span: timedelta = timedelta(seconds=1),
) -> Iterator[tuple[datetime, datetime, P]]:
    """Cover ``[start, end)`` with half-open windows whose probed count fits under ``cap``.

    The range is first chopped into spans of at most ``max_span`` (None: one span). Each span is
    probed: ``probe(a, b)`` returns ``(count, payload)``. If ``count > cap`` the span is halved and
    each half probed again, earliest first; otherwise ``(a, b, payload)`` is yielded so the caller
    can reuse the payload (typically the first page it just fetched) instead of fetching it again.
    Windows come out in time order, with no gaps or overlaps.

    Semantics of ``cap``: the largest count that is known to be complete.
      * APIs that report totals (PagerDuty): count = total, cap = the most the API pages through
        (10,000).
      * APIs without totals (Datadog DORA lists): count = number of items in one page requested with
        ``limit``, and cap = limit - 1. A page with exactly ``limit`` items means "maybe more", so the
        window is split; a shorter page is known complete and its payload is the whole window.

    Midpoints fall on whole multiples of ``min_span`` from the span start, so with whole-second
    bounds an API with second resolution sees exact boundaries. A span no wider than ``min_span``
    that still exceeds the cap cannot be split and raises PaginationLimitError.
    """
    if cap < 0:
        raise ValueError("cap must be >= 0")
    if min_span <= timedelta(0):
        raise ValueError("min_span must be positive")
    spans = time_windows(start, end, max_span) if max_span is not None else iter([(start, end)])
    for span_start, span_end in spans:
        stack = [(span_start, span_end)]  # LIFO, right half pushed first: earliest window comes out first
        while stack:
            a, b = stack.pop()
            count, payload = probe(a, b)
            if count <= cap:
                yield a, b, payload
                continue
            mid = _midpoint(a, b, min_span)
            if mid is None:
                raise PaginationLimitError(
                    f"{count} records between {a.isoformat()} and {b.isoformat()} exceed the limit of {cap} "
                    f"and the window cannot be split below {min_span}"
                )
            log.debug("splitting window %s..%s (%d > %d)", a.isoformat(), b.isoformat(), count, cap)
            stack.append((mid, b))
            stack.append((a, mid))


def _midpoint(a: datetime, b: datetime, step: timedelta) -> datetime | None:
    """A split point strictly inside ``(a, b)`` on a ``step`` boundary from ``a``, or None."""
    steps = max(1, ((b - a) / 2) // step)
    mid = a + step * steps
    return mid if a < mid < b else None
