"""A real HTTP server speaking the Datadog API subset the plugin uses, with fault injection.

The HTTP plumbing (keep-alive, connection tracking, drop, lifecycle) is ``core.testing.simserver``'s;
this module holds what is Datadog's: routes, error envelopes, X-RateLimit-* headers. Endpoints:

- ``GET /api/v1/validate`` (API key) and everything else (API key + application key): 403 on a bad key
- ``POST /api/v2/dora/failures|deployments``: ``data.type`` required, ``limit`` ≤ 1000, no cursor
- ``POST /api/v2/dora/failure|incident|deployment``: send a DORA event (API key)
- ``GET /api/v2/events``: ``filter[query|from|to]``, ``sort``, ``page[limit]`` ≤ 1000, ``page[cursor]``
  (next cursor in ``meta.page.after``)
- ``GET /api/v1/events``: ``start``/``end`` required, ``page`` with ``unaggregated=true``, 1000 a page
- ``POST /api/v1/events``: receive an event (read back with ``Store.received()`` or ``/_sim/posted``)
- ``/_sim/*``: control plane (info, stats, faults)

Every API answer carries ``X-RateLimit-Limit/Period/Remaining/Reset/Name``.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar

from core.testing.simserver import (
    ApiSimulator,
    FaultRuleBase,
    Headers,
    Query,
    Reply,
    RequestStats,
    SimConfigBase,
    SimHandler,
    malformed,
)

from .data import MS_NS, NS, PostedEvent, Store, compile_query, to_ns

MAX_DORA_LIMIT = 1000
MAX_EVENTS_LIMIT = 1000
V1_PAGE = 1000
LIST_TYPES = {"failures": "dora_failures_list_request", "deployments": "dora_deployments_list_request"}
ALERT_TYPES = {"error", "warning", "info", "success", "user_update", "recommendation", "snapshot"}
_RATE_KNOBS = ("error_rate_5xx", "rate_429", "html_429_fraction", "malformed_rate", "drop_rate")
_JSON = "application/json"
_HTML = "text/html; charset=utf-8"


def errors_body(*errors: Any) -> bytes:
    """Datadog's error envelope: `{"errors": [...]}`, strings or JSON:API objects."""
    return json.dumps({"errors": list(errors)}).encode()


def _bad(detail: str) -> dict[str, str]:
    return {"status": "400", "title": "Bad Request", "detail": detail}


class _Invalid(Exception):
    def __init__(self, *errors: Any) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass
class FaultRule(FaultRuleBase):
    """Requests whose path matches ``path`` (fnmatch) get ``fault``, after letting ``skip`` pass,
    at most ``times`` times (None = forever)."""

    path: str = "/api/v2/dora/*"
    times: int | None = None
    skip: int = 0
    seen: int = 0
    fired: int = 0

    def take(self, path: str, query: Query) -> bool:
        """Matches on the path alone (the query is not looked at); counts what it skips and fires."""
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class SimConfig(SimConfigBase):
    """Runtime knobs; every rate is a probability per API request, drawn from a seeded RNG."""

    api_key: str = "sim-api-key-0123456789"
    app_key: str = "sim-app-key-0123456789abcdef"
    latency_ms: float = 0.0
    error_rate_5xx: float = 0.0
    rate_429: float = 0.0
    html_429_fraction: float = 0.0
    ratelimit_reset: int = 1
    rate_limit_per_period: int | None = None  # enforce a real budget per endpoint name
    rate_limit_period: int = 60
    malformed_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    rule_class: ClassVar[type[FaultRule]] = FaultRule
    rate_knobs: ClassVar[Collection[str]] = _RATE_KNOBS

    def clear_faults(self) -> None:
        """Also lift the enforced rate-limit budget."""
        super().clear_faults()
        self.rate_limit_per_period = None


class SimStats(RequestStats):
    """Request counters (API paths only) so tests and benchmarks can see how a client behaved; by_path is
    keyed by "METHOD path", and the log keeps the first 5000 requests with their bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[dict[str, Any]] = []

    def record(self, method: str, path: str, status: int | None, body: Any = None) -> None:
        with self._lock:
            self._count(f"{method} {path}", status)
            if len(self.log) < 5000:
                self.log.append({"method": method, "path": path, "status": status, "body": body})

    def _reset(self) -> None:
        super()._reset()
        self.log.clear()


class _Handler(SimHandler):
    server_version = "DatadogSimulator/1.0"
    content_type = _JSON


class DatadogSimulator(ApiSimulator[Store, SimConfig, SimStats]):
    """In-process (background thread) or foreground Datadog API simulator.

    ``store`` defaults to an empty ``Store()``, ``config`` to ``SimConfig()``; rate-limit budgets are
    counted per endpoint name.
    """

    handler_class = _Handler
    thread_name = "dd-sim"

    def __init__(
        self,
        store: Store | None = None,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            Store() if store is None else store,
            SimConfig() if config is None else config,
            SimStats(),
            host=host,
            port=port,
        )

    def add_rule(
        self, fault: str, path: str = "/api/v2/dora/*", times: int | None = None, skip: int = 0
    ) -> FaultRule:
        rule = FaultRule(fault, path, times, skip)
        with self._lock:
            self.config.rules.append(rule)
        return rule

    # -- request handling -----------------------------------------------------------------------------

    def handle(self, h: SimHandler, method: str) -> None:
        path, raw_query, query = h.target()
        length = h.headers.get("Content-Length")
        raw = h.rfile.read(int(length)) if length and length.strip().isdigit() else b""
        if path.startswith("/_sim"):
            status, payload = self._control(method, path, raw)
            h.send(status, json.dumps(payload).encode())
            return
        fault = self._pick_fault(path, query)
        self._delay()
        if fault == "drop":
            self.stats.record(method, path, None)
            h.drop()
            return
        name = _limit_name(path)
        if fault is not None and fault != "malformed":
            status, content, ctype, headers = self._fault_reply(int(fault), name)
            self.stats.record(method, path, status)
            h.send(status, content, ctype, headers)
            return
        budget = self._spend(name)
        if budget is None:
            status, content, ctype, headers = self._fault_reply(429, name, real=True)
            self.stats.record(method, path, status)
            h.send(status, content, ctype, headers)
            return
        try:
            status, content, headers = self._api(method, path, query, raw, h)
        except _Invalid as exc:
            status, content, headers = 400, errors_body(*exc.errors), {}
        except Exception:  # a simulator bug must look like a 500
            import traceback

            traceback.print_exc()
            status, content, headers = 500, errors_body("Internal Server Error"), {}
        if fault == "malformed" and status < 300:
            content = malformed(content)
        headers = {**self._ratelimit_headers(name, *budget), **headers}
        self.stats.record(method, path, status, _safe_json(raw) if method == "POST" else raw_query)
        h.send(status, content, _JSON, headers)

    def _spend(self, name: str) -> tuple[int, int] | None:
        """(remaining, reset) after counting this request; None when the real budget is used up."""
        cfg = self.config
        period = max(1, cfg.rate_limit_period)
        limit = cfg.rate_limit_per_period or 1000
        now = int(time.time())
        window = now - now % period
        count = self._windows.hit(window, name)
        reset = max(1, window + period - now)
        if cfg.rate_limit_per_period and count > limit:
            return None
        return max(0, limit - count), reset

    def _ratelimit_headers(self, name: str, remaining: int, reset: int) -> Headers:
        return {
            "X-RateLimit-Limit": str(self.config.rate_limit_per_period or 1000),
            "X-RateLimit-Period": str(self.config.rate_limit_period),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Name": name,
        }

    def _fault_reply(self, status: int, name: str, real: bool = False) -> tuple[int, bytes, str, Headers]:
        if status == 429:
            headers = self._ratelimit_headers(name, 0, max(0, self.config.ratelimit_reset))
            if self._chance(self.config.html_429_fraction):
                page = b"<html><head><title>429 Too Many Requests</title></head><body>slow down</body></html>"
                return 429, page, _HTML, headers
            return (
                429,
                errors_body("Rate limit exceeded" if not real else "Too many requests"),
                _JSON,
                headers,
            )
        if status == 502:
            return 502, b"<html><head><title>502 Bad Gateway</title></head></html>", _HTML, {}
        return status, errors_body(HTTPStatus(status).phrase), _JSON, {}

    # -- API ------------------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, list[str]], raw: bytes, h: SimHandler) -> Reply:
        api_ok = h.headers.get("DD-API-KEY") == self.config.api_key
        app_ok = h.headers.get("DD-APPLICATION-KEY") == self.config.app_key
        forbidden: Reply = (403, errors_body("Forbidden"), {})
        if (method, path) == ("GET", "/api/v1/validate"):
            return (200, b'{"valid":true}', {}) if api_ok else forbidden
        intake = {
            ("POST", "/api/v1/events"): self._post_event,
            ("POST", "/api/v2/dora/failure"): lambda b: self._send_dora("failures", b),
            ("POST", "/api/v2/dora/incident"): lambda b: self._send_dora("failures", b),
            ("POST", "/api/v2/dora/deployment"): lambda b: self._send_dora("deployments", b),
        }
        if (method, path) in intake:
            return intake[(method, path)](_body(raw)) if api_ok else forbidden
        if method == "POST" and path in ("/api/v2/dora/failures", "/api/v2/dora/deployments"):
            if not (api_ok and app_ok):
                return forbidden
            return self._dora_list(path.rsplit("/", 1)[1], _body(raw))
        if (method, path) == ("GET", "/api/v2/events"):
            return self._events_v2(query) if api_ok and app_ok else forbidden
        if (method, path) == ("GET", "/api/v1/events"):
            return self._events_v1(query) if api_ok and app_ok else forbidden
        return 404, errors_body("Not found"), {}

    def _dora_list(self, kind: str, body: Any) -> Reply:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _Invalid(_bad("missing 'data'"))
        if data.get("type") != LIST_TYPES[kind]:
            raise _Invalid(_bad(f"invalid type {data.get('type')!r}: expected {LIST_TYPES[kind]!r}"))
        attrs = data.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise _Invalid(_bad("'attributes' must be an object"))
        if {"cursor", "page", "offset"} & set(attrs):
            raise _Invalid("this endpoint has no pagination: narrow the time range instead")
        limit = attrs.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_DORA_LIMIT:
            raise _Invalid(f"limit must be an integer between 1 and {MAX_DORA_LIMIT}")
        start = _instant(attrs.get("from"), "from", 0)
        end = _instant(attrs.get("to"), "to", time.time_ns())
        sort = attrs.get("sort", "-started_at")
        if sort not in ("started_at", "-started_at"):
            raise _Invalid(_bad(f"invalid sort {sort!r}"))
        table = self.store.table(kind)
        with self.store.lock:
            ids = table.query(start, end, str(attrs.get("query") or ""), limit, sort.startswith("-"))
            parts = [table.encoded(i) for i in ids]
        return 200, b'{"data":[' + b",".join(parts) + b"]}", {}

    def _send_dora(self, kind: str, body: Any) -> Reply:
        attrs = ((body or {}).get("data") or {}).get("attributes") if isinstance(body, dict) else None
        if not isinstance(attrs, dict) or "started_at" not in attrs:
            raise _Invalid(_bad("attributes.started_at is required"))
        attrs = dict(attrs)
        started, finished = attrs.pop("started_at"), attrs.pop("finished_at", None)
        rid = attrs.pop("id", None)
        started_ns = _instant(started, "started_at", 0)
        finished_ns = None if finished is None else _instant(finished, "finished_at", 0)
        if kind == "failures":
            rec = self.store.add_failure(started_ns, finished_ns, id=rid, **attrs)
        else:
            if finished_ns is None:
                raise _Invalid(_bad("attributes.finished_at is required"))
            rec = self.store.add_deployment(started_ns, finished_ns, id=rid, **attrs)
        return 202, json.dumps({"data": {"id": rec.id, "type": rec.type}}).encode(), {}

    def _post_event(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise _Invalid("invalid JSON body")
        problems = []
        title, text = body.get("title"), body.get("text")
        if not isinstance(title, str) or not title:
            problems.append("title is required")
        elif len(title) > 100:
            problems.append("title must be at most 100 characters")
        if not isinstance(text, str) or not text:
            problems.append("text is required")
        elif len(text) > 4000:
            problems.append("text must be at most 4000 characters")
        if body.get("alert_type", "info") not in ALERT_TYPES:
            problems.append(f"alert_type must be one of {sorted(ALERT_TYPES)}")
        if len(str(body.get("aggregation_key") or "")) > 100:
            problems.append("aggregation_key must be at most 100 characters")
        if problems:
            raise _Invalid(*problems)
        with self.store.lock:
            event_id = 9_000_000 + len(self.store.posted)
            self.store.posted.append(PostedEvent(body, event_id, time.time()))
        event = {
            **body,
            "id": event_id,
            "date_happened": int(time.time()),
            "url": f"/event/event?id={event_id}",
        }
        return 202, json.dumps({"status": "ok", "event": event}).encode(), {}

    def _events_v2(self, q: dict[str, list[str]]) -> Reply:
        limit = _int(q, "page[limit]", 10)
        if not 1 <= limit <= MAX_EVENTS_LIMIT:
            raise _Invalid(_bad(f"page[limit] must be between 1 and {MAX_EVENTS_LIMIT}"))
        start = _ms_param(_one(q, "filter[from]"), 0)
        end = _ms_param(_one(q, "filter[to]"), time.time_ns() // MS_NS)
        text = _one(q, "filter[query]") or "*"
        terms = " ".join(t for t in text.split() if t != "*")
        match = compile_query(terms)
        descending = (_one(q, "sort") or "-timestamp") == "-timestamp"
        cursor = _one(q, "page[cursor]")
        after = _decode_cursor(cursor) if cursor else None
        events = list(self.store.events_between(start, end))
        if descending:
            events.reverse()
        out = []
        for e in events:
            key = (e.ts_ms, e.seq)
            if after is not None and (key <= after if not descending else key >= after):
                continue
            if match(_event_facets(e)):
                out.append(e)
                if len(out) > limit:
                    break
        more = len(out) > limit
        page = out[:limit]
        meta: dict[str, Any] = {"page": {}}
        if more and page:
            meta["page"]["after"] = _encode_cursor((page[-1].ts_ms, page[-1].seq))
        body = {"data": [e.v2() for e in page], "meta": meta, "links": {}}
        return 200, json.dumps(body, separators=(",", ":")).encode(), {}

    def _events_v1(self, q: dict[str, list[str]]) -> Reply:
        if _one(q, "start") is None or _one(q, "end") is None:
            raise _Invalid("start and end are required (POSIX seconds)")
        start, end = _int(q, "start", 0), _int(q, "end", 0)
        page = _int(q, "page", 0)
        unaggregated = (_one(q, "unaggregated") or "").lower() == "true"
        if page and not unaggregated:
            raise _Invalid("page requires unaggregated=true")
        sources = {s.strip().lower() for s in (_one(q, "sources") or "").split(",") if s.strip()}
        tags = [t.strip() for t in (_one(q, "tags") or "").split(",") if t.strip()]
        events = [
            e
            for e in self.store.events_between(start * 1000, end * 1000 + 999, end_inclusive=True)
            if (not sources or sources & {"alert", "monitor"}) and all(t in e.tags for t in tags)
        ]
        events.reverse()  # v1 answers newest first
        size = V1_PAGE if unaggregated else len(events)
        chunk = events[page * size : (page + 1) * size]
        return 200, json.dumps({"events": [e.v1() for e in chunk]}, separators=(",", ":")).encode(), {}

    # -- control plane --------------------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        try:
            if path == "/_sim/info":
                return 200, {
                    "failures": len(self.store.failures),
                    "deployments": len(self.store.deployments),
                    "monitor_events": len(self.store.events),
                    "posted": len(self.store.posted),
                }
            if path == "/_sim/stats":
                if method == "POST":
                    self.stats.reset()
                return 200, self.stats.snapshot()
            if path == "/_sim/faults":
                if method in ("PUT", "POST"):
                    with self._lock:
                        self.config.update(_body(raw) or {})
                return 200, asdict(self.config)
            if path == "/_sim/posted":
                return 200, {"events": self.store.received()}
        except (ValueError, TypeError) as exc:
            return 400, {"errors": [str(exc)]}
        return 404, {"errors": ["unknown control path"]}


def _limit_name(path: str) -> str:
    if path.startswith("/api/v2/dora/"):
        return "dora_metrics"
    if path.startswith("/api/v2/events"):
        return "events_search"
    if path == "/api/v1/validate":
        return "validate"
    return "events"


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise _Invalid("invalid JSON body") from None


def _safe_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _instant(value: Any, name: str, default: int) -> int:
    """RFC 3339 string or int (s/ms/ns by magnitude) → epoch ns."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 1e17 else value * MS_NS if value > 1e11 else value * NS
    if isinstance(value, str):
        try:
            return to_ns(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise _Invalid(_bad(f"{name} must be an RFC 3339 date-time"))


def _one(q: dict[str, list[str]], key: str) -> str | None:
    values = q.get(key)
    return values[-1] if values else None


def _int(q: dict[str, list[str]], key: str, default: int) -> int:
    value = _one(q, key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise _Invalid(_bad(f"{key} must be an integer")) from None


def _ms_param(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if value.lstrip("-").isdigit():
        return int(value)
    if value == "now":
        return time.time_ns() // MS_NS
    try:
        return to_ns(datetime.fromisoformat(value).astimezone(UTC)) // MS_NS
    except ValueError:
        raise _Invalid(_bad(f"invalid time {value!r}")) from None


def _event_facets(e: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"source": ["alert"], "monitor_id": [str(e.monitor_id)]}
    for tag in e.tags:
        k, _, v = tag.partition(":")
        out.setdefault(k.lower(), []).append(v)
    return out


def _encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts, seq = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(ts), int(seq)
    except (ValueError, TypeError):
        raise _Invalid(_bad("invalid page[cursor]")) from None
