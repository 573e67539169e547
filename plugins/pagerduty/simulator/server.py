"""A real HTTP server speaking the PagerDuty REST API v2 subset the collector uses, with fault injection.

Routes: GET /incidents, /incidents/{id}, /incidents/{id}/log_entries, /log_entries, /log_entries/{id},
/services, /services/{id}, /priorities, /abilities, /users/me; plus the /_sim control plane.

Log entries follow PagerDuty's list semantics (since/until on created_at, half-open, default last month,
at most 6 months; is_overview; include[]=incidents|services; classic offset paging with the same
offset + limit <= 10,000 rule as /incidents) with one deliberate difference: they are listed oldest first
(PagerDuty lists newest first), so paging is deterministic while entries are being added;
``sort_by=created_at:desc`` gives PagerDuty's order. Other include[] values (channels, teams) and
time_zone are accepted and ignored (times are UTC); date_range is not a log_entries parameter and is ignored.

The HTTP plumbing (keep-alive, connection tracking, drop, lifecycle) is ``core.testing.simserver``'s; this
module holds what is PagerDuty's: routes, error envelopes, ratelimit-* headers, the control plane.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import traceback
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
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

from .data import STATUSES, Store, add_months, fmt_ts, generate, parse_iso

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MAX_OFFSET_PLUS_LIMIT = 10_000
MAX_WINDOW_MONTHS = 6
DEFAULT_WINDOW_MONTHS = 1
RATE_LIMIT_CEILING = 960  # PagerDuty's documented per-minute REST budget, echoed in ratelimit-limit
ABILITIES = [
    "sso", "advanced_reports", "teams", "read_only_users", "team_responders", "service_support_hours",
    "urgencies", "manage_schedules", "manage_api_keys", "coordinated_responding", "event_rules",
    "response_operations", "preview_incident_alert_grouping",
]  # fmt: skip
_RATE_KNOBS = ("error_rate_5xx", "error_html_fraction", "rate_429", "drop_rate", "malformed_rate")
_JSON = "application/json; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_NUMBER_PATH = re.compile(r"^/_sim/incidents/(\d+)(?:/(status|priority|urgency))?$")


class _Invalid(Exception):
    """Raised by query-parameter parsing; becomes PagerDuty's 400 "Invalid Input Provided"."""

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def error_body(message: str, code: int, errors: list[str] | None = None) -> bytes:
    """PagerDuty's error envelope, used by every non-2xx JSON answer."""
    return json.dumps({"error": {"message": message, "code": code, "errors": errors or []}}).encode()


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------- config


@dataclass
class FaultRule(FaultRuleBase):
    """A targeted fault: requests whose path matches ``path`` (fnmatch) and whose query contains every
    ``params`` pair get ``fault`` — e.g. ``FaultRule("malformed", params={"offset": "200"})`` makes that
    page fail deterministically. ``times`` limits how often it fires (None = forever).
    """

    path: str = "/incidents"
    params: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    fired: int = 0

    def take(self, path: str, query: Query) -> bool:
        """Path glob plus every param value present among the request's values for that key, while
        ``times`` allows; counted as fired."""
        if self.times is not None and self.fired >= self.times:
            return False
        if not fnmatch.fnmatchcase(path, self.path) or not all(
            v in query.get(k, ()) for k, v in self.params.items()
        ):
            return False
        self.fired += 1
        return True


@dataclass
class SimConfig(SimConfigBase):
    """Runtime knobs; every rate is a probability per API request, drawn from a seeded RNG."""

    token: str = "sim-token"
    latency_ms: float = 0.0
    error_rate_5xx: float = 0.0
    error_html_fraction: float = 0.5
    rate_429: float = 0.0
    rate_limit_headers: bool = True
    ratelimit_reset: int = 1
    rate_limit_per_minute: int | None = None
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    rule_class: ClassVar[type[FaultRule]] = FaultRule
    rate_knobs: ClassVar[Collection[str]] = _RATE_KNOBS

    def clear_faults(self) -> None:
        """Back to a healthy server, keeping the token and seed: also lift the enforced per-minute budget."""
        super().clear_faults()
        self.rate_limit_per_minute = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for GET /_sim/faults."""
        return asdict(self)


class SimStats(RequestStats):
    """Request counters (API paths only, not /_sim) so tests can assert how a client behaved; by_path is
    keyed by route template, and the log keeps the most recent ``log_size`` requests."""

    def __init__(self, log_size: int = 2000) -> None:
        super().__init__()
        self.by_fault: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)

    def record(
        self, method: str, route: str, path: str, query: str, status: int | None, fault: str | None
    ) -> None:
        """Count one answered (or dropped: status None) request."""
        with self._lock:
            self._count(route, status)
            if fault:
                self.by_fault[fault] += 1
            self.log.append(
                {"method": method, "path": path, "query": query, "status": status, "fault": fault}
            )

    def _snapshot(self) -> dict[str, Any]:
        return {**super()._snapshot(), "by_fault": dict(self.by_fault)}

    def requests_log(self) -> list[dict[str, Any]]:
        """The most recent requests, oldest first."""
        with self._lock:
            return list(self.log)

    def _reset(self) -> None:
        super()._reset()
        self.by_fault.clear()
        self.log.clear()


class _Handler(SimHandler):
    """PagerDuty's server name and JSON content type; DELETE is routed too (the /_sim/faults reset)."""

    server_version = "PagerDutySimulator/1.0"
    content_type = _JSON

    def do_DELETE(self) -> None:
        """Dispatch."""
        self.dispatch("DELETE")


# --------------------------------------------------------------------------------------------- simulator


class PagerDutySimulator(ApiSimulator[Store, SimConfig, SimStats]):
    """In-process (background thread) or foreground PagerDuty REST v2 simulator.

    ``store`` defaults to ``generate(1000, 5, seed=0)``; ``config`` to ``SimConfig()`` (token "sim-token");
    the stats keep the last ``log_size`` requests for /_sim/requests.
    """

    handler_class = _Handler
    thread_name = "pd-sim"

    def __init__(
        self,
        store: Store | None = None,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_size: int = 2000,
    ) -> None:
        super().__init__(
            generate(1000, 5, seed=0) if store is None else store,
            SimConfig() if config is None else config,
            SimStats(log_size),
            host=host,
            port=port,
        )

    @property
    def headers(self) -> dict[str, str]:
        """The headers a well-behaved client sends, for tests and demos."""
        return {
            "Authorization": f"Token token={self.config.token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }

    # -- fault helpers --------------------------------------------------------------------------------

    def add_rule(
        self, fault: str, path: str = "/incidents", times: int | None = None, **params: str
    ) -> FaultRule:
        """Shortcut: ``sim.add_rule("malformed", offset="200")``; params use wire names (``"service_ids[]"``
        needs the dict form ``FaultRule(..., params={...})``)."""
        rule = FaultRule(fault=fault, path=path, params=params, times=times)
        with self._lock:
            self.config.rules.append(rule)
        return rule

    def _ratelimit_headers(self, remaining: int = 0, reset: int | None = None) -> Headers:
        limit = self.config.rate_limit_per_minute or RATE_LIMIT_CEILING
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(max(0, remaining)),
            "ratelimit-reset": str(self.config.ratelimit_reset if reset is None else reset),
        }

    def _budget(self) -> Reply | None:
        """Fixed one-minute window budget (rate_limit_per_minute): a real 429, not a random one."""
        limit = self.config.rate_limit_per_minute
        if not limit:
            return None
        now = time.time()
        window = int(now // 60) * 60
        if self._windows.hit(window) <= limit:
            return None
        headers: Headers = {}
        if self.config.rate_limit_headers:
            headers = self._ratelimit_headers(0, max(1, int(window + 60 - now)))
        return 429, error_body("Rate Limit Exceeded", 2020, ["Too many requests"]), headers

    # -- request handling -----------------------------------------------------------------------------

    def handle(self, h: SimHandler, method: str) -> None:
        """Entry point per request: control plane, or faults + API + stats."""
        path, raw_query, query = h.target()
        body = b""
        length = h.headers.get("Content-Length")
        if length:
            if not length.strip().isdigit():
                h.close_connection = True
                h.send(400, error_body("Bad Request", 400, ["invalid Content-Length"]))
                return
            body = h.rfile.read(int(length))
        elif h.headers.get("Transfer-Encoding"):
            h.close_connection = True
            h.send(411, error_body("Length Required", 411, ["chunked bodies are not supported"]))
            return
        if path == "/_sim" or path.startswith("/_sim/"):
            status, payload = self._control(method, path, body)
            h.send(status, _json(payload))
            return

        route = _route(path)
        fault = self._pick_fault(path, query)
        self._delay()
        if fault == "drop":
            self.stats.record(method, route, path, raw_query, None, fault)
            h.drop()
            return
        if fault is not None and fault != "malformed":
            status, content, ctype, headers = self._fault_reply(int(fault))
            self.stats.record(method, route, path, raw_query, status, fault)
            h.send(status, content, ctype, headers)
            return
        try:
            status, content, headers = self._budget() or self._api(method, path, query, h)
        except Exception:  # a simulator bug must look like a 500, never like an injected "drop"
            traceback.print_exc()
            status, content, headers = 500, error_body("Internal Server Error", 500, ["simulator bug"]), {}
            fault = "internal"
        if fault == "malformed" and status == 200:
            content = malformed(content)
        elif fault == "malformed":
            fault = None  # only successful bodies get corrupted; errors pass through untouched
        self.stats.record(method, route, path, raw_query, status, fault)
        h.send(status, content, _JSON, headers)

    def _fault_reply(self, status: int) -> tuple[int, bytes, str, Headers]:
        if status == 429:
            headers = self._ratelimit_headers() if self.config.rate_limit_headers else {}
            return 429, error_body("Rate Limit Exceeded", 2020, ["Too many requests"]), _JSON, headers
        phrase = HTTPStatus(status).phrase
        if self._chance(self.config.error_html_fraction):
            title = f"{status} {phrase}"
            html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            return status, html.encode(), _HTML, {}
        return status, error_body(phrase, status, ["Simulated server error"]), _JSON, {}

    def _api(self, method: str, path: str, query: dict[str, list[str]], h: SimHandler) -> Reply:
        auth = (h.headers.get("Authorization") or "").strip()
        match = re.fullmatch(r"Token token=(\S+)", auth)
        if match is None or match.group(1) != self.config.token:
            return 401, error_body("Authentication failed", 2006, ["Invalid or missing API token"]), {}
        if method != "GET":
            return 404, error_body("Not Found", 2100, [f"{method} {path} is not simulated"]), {}
        try:
            if path == "/incidents":
                return self._list_incidents(query)
            if path == "/log_entries":
                return self._list_log_entries(query)
            if path.startswith("/log_entries/") and path.count("/") == 2:
                return self._get_log_entry(path.rsplit("/", 1)[1], query)
            if path.startswith("/incidents/") and path.endswith("/log_entries") and path.count("/") == 3:
                return self._incident_log_entries(path.split("/")[2], query)
            if path.startswith("/incidents/") and path.count("/") == 2:
                inc = self.store.get_by_id(path.rsplit("/", 1)[1])
                if inc is None:
                    return 404, error_body("Not Found", 2100, ["Incident Not Found"]), {}
                return 200, b'{"incident":' + self.store.render(inc) + b"}", {}
            if path == "/services":
                return self._list_services(query)
            if path.startswith("/services/") and path.count("/") == 2:
                svc = self.store.services.get(path.rsplit("/", 1)[1])
                if svc is None:
                    return 404, error_body("Not Found", 2100, ["Service Not Found"]), {}
                return 200, _json({"service": self.store.service_dict(svc)}), {}
            if path == "/abilities":
                return 200, _json({"abilities": ABILITIES}), {}
            if path == "/priorities":
                prios = list(self.store.priorities.values())
                page = {"priorities": prios, "limit": 25, "offset": 0, "more": False, "total": None}
                return 200, _json(page), {}
            if path == "/users/me":
                # Real PagerDuty: account-level API tokens have no "current user".
                return 400, error_body("Invalid Input Provided", 2001, ["Not allowed for API tokens"]), {}
        except _Invalid as exc:
            return 400, error_body("Invalid Input Provided", 2001, exc.errors), {}
        return 404, error_body("Not Found", 2100, [f"No route for {path}"]), {}

    def _window(self, query: dict[str, list[str]]) -> tuple[int, int]:
        """since/until: default the month before until (default now); at most 6 months; since <= until."""
        since = _time_param(query, "since")
        until = _time_param(query, "until")
        if until is None:
            until = self.store.now()
        if since is None:
            since = add_months(until, -DEFAULT_WINDOW_MONTHS)
        if since > until:
            raise _Invalid("Since must be before until")
        if since < add_months(until, -MAX_WINDOW_MONTHS):
            raise _Invalid("Date range cannot exceed 6 months")
        return since, until

    def _list_incidents(self, query: dict[str, list[str]]) -> Reply:
        limit, offset, want_total = _paging(query)
        store = self.store
        since: int | None
        until: int | None
        if _first(query, "date_range") is not None:
            if _first(query, "date_range") != "all":
                raise _Invalid("date_range must be 'all'")
            since = until = None
        else:
            since, until = self._window(query)
        statuses = _multi(query, "statuses")
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise _Invalid(f"Invalid status: {bad[0]}")
        sort_by = _sort_by(query)
        rendered, total = store.query_json(
            since=since,
            until=until,
            service_ids=_multi(query, "service_ids"),
            statuses=statuses,
            offset=offset,
            limit=limit,
            descending=sort_by.endswith(":desc"),
        )
        return 200, _page("incidents", rendered, limit, offset, total, want_total), {}

    def _list_log_entries(self, query: dict[str, list[str]]) -> Reply:
        """GET /log_entries: every incident's log entries created in [since, until) (date_range is not
        supported here, as in PagerDuty: it is ignored)."""
        limit, offset, want_total = _paging(query)
        since, until = self._window(query)
        includes = set(_multi(query, "include"))
        rendered, total = self.store.log_entries_json(
            since=since,
            until=until,
            overview=_bool_param(query, "is_overview"),
            offset=offset,
            limit=limit,
            descending=_sort_by(query).endswith(":desc"),
            include_incidents="incidents" in includes,
            include_services="services" in includes,
        )
        return 200, _page("log_entries", rendered, limit, offset, total, want_total), {}

    def _incident_log_entries(self, incident_id: str, query: dict[str, list[str]]) -> Reply:
        """GET /incidents/{id}/log_entries: all of that incident's entries (since/until only if given)."""
        store = self.store
        inc = store.get_by_id(incident_id)
        if inc is None:
            return 404, error_body("Not Found", 2100, ["Incident Not Found"]), {}
        limit, offset, want_total = _paging(query)
        since = _time_param(query, "since")
        until = _time_param(query, "until")
        entries = [
            e
            for e in store.incident_log(inc, overview=_bool_param(query, "is_overview"))
            if (since is None or e.ts >= since) and (until is None or e.ts < until)
        ]
        if _sort_by(query).endswith(":desc"):
            entries.reverse()
        includes = set(_multi(query, "include"))
        rendered = [
            store.render_entry(
                e, include_incident="incidents" in includes, include_service="services" in includes
            )
            for e in entries[offset : offset + limit]
        ]
        return 200, _page("log_entries", rendered, limit, offset, len(entries), want_total), {}

    def _get_log_entry(self, entry_id: str, query: dict[str, list[str]]) -> Reply:
        """GET /log_entries/{id}."""
        entry = self.store.find_log_entry(entry_id)
        if entry is None:
            return 404, error_body("Not Found", 2100, ["Log Entry Not Found"]), {}
        includes = set(_multi(query, "include"))
        body = self.store.render_entry(
            entry, include_incident="incidents" in includes, include_service="services" in includes
        )
        return 200, b'{"log_entry":' + body + b"}", {}

    def _list_services(self, query: dict[str, list[str]]) -> Reply:
        limit, offset, want_total = _paging(query)
        matches = self.store.find_services(_first(query, "query"))
        page = matches[offset : offset + limit]
        return (
            200,
            _json(
                {
                    "services": [self.store.service_dict(s) for s in page],
                    "limit": limit,
                    "offset": offset,
                    "more": offset + len(page) < len(matches),
                    "total": len(matches) if want_total else None,
                }
            ),
            {},
        )

    # -- control plane --------------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            return self._control_route(method, path, data)
        except KeyError as exc:
            return 404, {"error": {"message": "Not Found", "code": 2100, "errors": [str(exc)]}}
        except (ValueError, TypeError) as exc:
            return 400, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [str(exc)]}}
        except Exception as exc:
            traceback.print_exc()
            return 500, {"error": {"message": "Internal Server Error", "code": 500, "errors": [repr(exc)]}}

    def _control_route(self, method: str, path: str, data: dict[str, Any]) -> tuple[int, Any]:
        store = self.store
        if path == "/_sim/stats" and method == "GET":
            return 200, self.stats.snapshot()
        if path == "/_sim/reset-stats" and method == "POST":
            self.stats.reset()
            return 200, self.stats.snapshot()
        if path == "/_sim/requests" and method == "GET":
            return 200, {"requests": self.stats.requests_log()}
        if path in ("/_sim/faults", "/_sim/config"):
            if method == "POST":
                with self._lock:
                    self.config.update(data)
            elif method == "DELETE":
                with self._lock:
                    self.config.clear_faults()
            elif method != "GET":
                raise KeyError(f"{method} {path}")
            return 200, self.config.to_dict()
        if path == "/_sim/clock" and method == "POST":
            store.set_now(data.get("now"))
            return 200, {"now": fmt_ts(store.now()), "frozen": data.get("now") is not None}
        if path == "/_sim/info" and method == "GET":
            span = store.time_span()
            return 200, {
                "incidents": len(store),
                "services": [
                    {"id": s.id, "name": s.name, "incidents": store.count(s.id)}
                    for s in store.find_services()
                ],
                "by_status": {st: store.count(None, st) for st in STATUSES},
                "log_entries": store.log_entry_count(),
                "first_created_at": fmt_ts(span[0]) if span else None,
                "last_created_at": fmt_ts(span[1]) if span else None,
                "now": fmt_ts(store.now()),
                "token": self.config.token,
            }
        if path == "/_sim/incidents" and method == "POST":
            if "service_id" not in data:
                raise ValueError("service_id is required")
            inc = store.create_incident(**data)
            return 201, {"incident": store.incident_dict(inc)}
        match = _NUMBER_PATH.match(path)
        if match:
            number, action = int(match.group(1)), match.group(2)
            if action is None and method == "GET":
                return 200, {"incident": store.incident_dict(store.get(number))}
            if action == "status" and method == "POST":
                inc = store.update_status(number, data["status"], at=data.get("at"))
            elif action == "priority" and method == "POST":
                inc = store.set_priority(number, data.get("priority"), at=data.get("at"))
            elif action == "urgency" and method == "POST":
                inc = store.set_urgency(number, data["urgency"], at=data.get("at"))
            else:
                raise KeyError(f"{method} {path}")
            return 200, {"incident": store.incident_dict(inc)}
        raise KeyError(f"{method} {path}")


# --------------------------------------------------------------------------------------------- query parsing


def _route(path: str) -> str:
    """Stats key: templated so per-incident paths don't explode the counter."""
    if path.startswith("/incidents/"):
        return "/incidents/{id}/log_entries" if path.endswith("/log_entries") else "/incidents/{id}"
    if path.startswith("/services/"):
        return "/services/{id}"
    if path.startswith("/log_entries/"):
        return "/log_entries/{id}"
    return path


def _page(key: str, rendered: list[bytes], limit: int, offset: int, total: int, want_total: bool) -> bytes:
    """PagerDuty's classic pagination envelope around already-serialized items."""
    more = "true" if offset + len(rendered) < total else "false"
    shown = total if want_total else "null"
    tail = f'],"limit":{limit},"offset":{offset},"more":{more},"total":{shown}}}'
    return f'{{"{key}":['.encode() + b",".join(rendered) + tail.encode()


def _sort_by(query: dict[str, list[str]]) -> str:
    sort_by = _first(query, "sort_by") or "created_at:asc"
    if sort_by not in ("created_at", "created_at:asc", "created_at:desc"):
        raise _Invalid(f"sort_by {sort_by!r} is not supported by the simulator")
    return sort_by


def _bool_param(query: dict[str, list[str]], key: str) -> bool:
    raw = (_first(query, key) or "").lower()
    if raw not in ("", "true", "false"):
        raise _Invalid(f"{key} must be true or false")
    return raw == "true"


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _multi(query: dict[str, list[str]], key: str) -> list[str]:
    """PagerDuty arrays arrive as ``key[]=a&key[]=b``; the bare ``key=a`` spelling is accepted too."""
    return [v for v in query.get(f"{key}[]", []) + query.get(key, []) if v]


def _int_param(query: dict[str, list[str]], key: str, default: int) -> int:
    raw = _first(query, key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _Invalid(f"{key.capitalize()} must be an integer") from None


def _paging(query: dict[str, list[str]]) -> tuple[int, int, bool]:
    """limit (capped at 100 like the real API), offset, total flag, and the offset+limit <= 10,000 rule."""
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    offset = _int_param(query, "offset", 0)
    if limit < 1:
        raise _Invalid("Limit must be greater than 0")
    if offset < 0:
        raise _Invalid("Offset must be greater than or equal to 0")
    limit = min(limit, MAX_LIMIT)
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise _Invalid("Offset must be less than 10000")
    return limit, offset, (_first(query, "total") or "").lower() == "true"


def _time_param(query: dict[str, list[str]], key: str) -> int | None:
    raw = _first(query, key)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise _Invalid(f"{key.capitalize()} is not a valid ISO 8601 date") from None
