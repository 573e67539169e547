"""Deterministic, in-memory PagerDuty data for the simulator.

The store keeps incidents sorted by ``created_at`` with one sorted index per (service, status) pair so a
query for a service and a time window is a couple of bisects instead of a scan over 100k records, and it
caches each incident's serialized JSON so serving a 100-incident page is mostly a byte join.

It also keeps the incident log (PagerDuty's log entries). The history of generated incidents is not stored
as objects: the first log query encodes every generated incident's trigger/assign/acknowledge/resolve
entries as one 64-bit int each ((created_at << 32) | (incident_number << 3) | kind) in a sorted array, and a
page decodes only the entries it returns. Entries produced later (mutations, incidents added one by one)
are objects in a second sorted index; a query bisects both and merges.
"""

from __future__ import annotations

import calendar
import heapq
import json
import math
import random
import re
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

STATUSES: tuple[str, ...] = ("triggered", "acknowledged", "resolved")
URGENCIES: tuple[str, ...] = ("high", "low")
PRIORITY_NAMES: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5")
DEFAULT_API_BASE = "https://api.sim.pagerduty.com"
DEFAULT_WEB_BASE = "https://sim.pagerduty.com"
# Serialized incidents kept in memory (~1.6 KB each, only once served): enough for a 100k-incident
# benchmark to be served from cache on its second pass; 0 disables caching.
DEFAULT_CACHE_LIMIT = 120_000
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_PAIRS = [a + b for a in _ID_ALPHABET for b in _ID_ALPHABET]  # half the choices() calls per id
_PRIORITY_COLORS = ("a8171c", "eb6016", "f9b406", "0c9e50", "7a8a9b")
_ISO_OFFSET_SPACE = re.compile(r" (\d{2}:?\d{2})$")

# Log entry types: the first four are the ones synthesized from an incident's own timestamps (their index
# is the "kind" in an encoded entry); every type except priority/urgency changes is an "overview" entry.
TRIGGER, ASSIGN, ACKNOWLEDGE, RESOLVE = (
    "trigger_log_entry",
    "assign_log_entry",
    "acknowledge_log_entry",
    "resolve_log_entry",
)
UNACKNOWLEDGE = "unacknowledge_log_entry"
PRIORITY_CHANGE = "priority_change_log_entry"
URGENCY_CHANGE = "urgency_change_log_entry"
NON_OVERVIEW_TYPES = frozenset({PRIORITY_CHANGE, URGENCY_CHANGE})
_KIND_BITS = 3
_RECORDED_KIND = 7  # low bits of a recorded (non-synthesized) entry's code: never a synthesized kind
_NUMBER_MASK = (1 << (32 - _KIND_BITS)) - 1
# Log entry ids: the entry's code through a bijective 64-bit scramble, in base 36 ("R" + 13 chars).
_ID_MASK = (1 << 64) - 1
_ID_MULT = 0x9E3779B97F4A7C15
_ID_UNMULT = pow(_ID_MULT, -1, 1 << 64)
_ID_XOR = 0x5DEECE66D2B4F1A3

TimeLike = datetime | str | int | float

# --------------------------------------------------------------------------------------------- time helpers


def fmt_ts(ts: int) -> str:
    """Render epoch seconds the way PagerDuty does ("2024-01-05T10:00:00Z")."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_iso(value: str) -> int:
    """Parse an ISO 8601 date/datetime to epoch seconds (ceil, so half-open bounds stay exact); naive = UTC.

    A ``+`` offset that arrived unencoded in a query string has become a space; it is restored first.
    """
    text = _ISO_OFFSET_SPACE.sub(r"+\1", value.strip())
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return math.ceil(dt.timestamp())


def to_ts(value: TimeLike) -> int:
    """Accept the time types tests naturally have at hand and normalise them to epoch seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return math.ceil(value.timestamp())
    if isinstance(value, str):
        return parse_iso(value)
    return math.ceil(value)


def add_months(ts: int, months: int) -> int:
    """Shift by calendar months (day clamped to month end), the way PagerDuty's "6 months" rule counts."""
    dt = datetime.fromtimestamp(ts, UTC)
    month_index = dt.year * 12 + (dt.month - 1) + months
    year, month = divmod(month_index, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return int(dt.replace(year=year, month=month + 1, day=day).timestamp())


# --------------------------------------------------------------------------------------------- entities


@dataclass(frozen=True)
class ServiceSpec:
    """What a test wants a service to look like; ``weight`` skews how many incidents land on it."""

    name: str
    weight: float = 1.0
    id: str | None = None
    description: str | None = None
    status: str = "active"


@dataclass(slots=True, eq=False)
class Ref:
    """A PagerDuty "reference" object, pre-built once because thousands of incidents share it."""

    id: str
    name: str
    ref: dict[str, Any]


@dataclass(slots=True, eq=False)
class Service:
    """A service plus its owning team and escalation policy (PagerDuty nests both in incidents)."""

    id: str
    name: str
    description: str
    status: str
    created_ts: int
    team: Ref
    escalation_policy: Ref
    ref: dict[str, Any]


@dataclass(slots=True, eq=False)
class Incident:
    """Mutable incident state; kept small (slots, shared refs) so 100k of them stay memory-lean."""

    number: int
    id: str
    created_ts: int
    service: Service
    title: str
    status: str
    urgency: str
    priority: dict[str, Any] | None
    incident_key: str
    assignee: Ref | None
    updated_ts: int
    last_change_ts: int
    changed_by: dict[str, Any]
    ack_ts: int | None = None
    resolved_ts: int | None = None
    description: str | None = None
    # None for a generated incident never mutated (its history is synthesized from its timestamps);
    # otherwise every log entry of the incident, oldest first.
    log: list[LogEntry] | None = None
    key: tuple[int, int] = field(init=False)
    title_json: str = field(init=False)
    key_json: str = field(init=False)

    def __post_init__(self) -> None:
        """Fix the sort key (created_at never changes; the number breaks ties) and pre-escape the strings
        that never change, so re-rendering after a mutation or a cache eviction stays cheap."""
        self.key = (self.created_ts, self.number)
        self.title_json = json.dumps(self.title)
        self.key_json = json.dumps(self.incident_key)


def _base36(value: int) -> str:
    digits = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(_ID_ALPHABET[rem])
    return "".join(reversed(digits)).rjust(13, "0")


def entry_id(code: int) -> str:
    """PagerDuty-like 14-char log entry id, a bijection of the entry's code (so it can be looked up)."""
    return "R" + _base36((((code & _ID_MASK) * _ID_MULT) & _ID_MASK) ^ _ID_XOR)


def entry_code(ident: str) -> int | None:
    """Inverse of :func:`entry_id`; None for something that cannot be one of our ids."""
    if len(ident) != 14 or ident[0] != "R" or not ident.isalnum() or not ident.isupper():
        return None
    try:
        scrambled = int(ident[1:], 36)
    except ValueError:
        return None
    if scrambled > _ID_MASK:
        return None
    return ((scrambled ^ _ID_XOR) * _ID_UNMULT) & _ID_MASK


@dataclass(slots=True, eq=False)
class LogEntry:
    """One incident log entry. ``code`` orders and identifies it: synthesized entries (a generated
    incident's history) are ``(created_at << 32) | (number << 3) | kind``, recorded ones ``(seq << 3) | 7``.
    ``agent``/``channel``/``extra`` hold shared or small dicts; ``extra`` adds type-specific fields.
    """

    code: int
    ts: int
    type: str
    incident: Incident
    agent: dict[str, Any] | None
    channel: dict[str, Any]
    summary: str
    extra: dict[str, Any] | None = None
    synthetic: bool = False

    @property
    def id(self) -> str:
        """The entry's PagerDuty id."""
        return entry_id(self.code)

    @property
    def overview(self) -> bool:
        """Whether ``is_overview=true`` lists it."""
        return self.type not in NON_OVERVIEW_TYPES

    @property
    def sort_key(self) -> tuple[int, int]:
        """Recorded entries sort by (created_at, recording order)."""
        return (self.ts, self.code >> _KIND_BITS)


class _EntryIndex:
    """Recorded log entries sorted by (created_at, seq), with a parallel key list for bisect."""

    __slots__ = ("items", "keys")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.items: list[LogEntry] = []

    def insert(self, entry: LogEntry) -> None:
        """Entries usually arrive in time order (an append), but a back-dated mutation lands in place."""
        key = entry.sort_key
        if not self.keys or self.keys[-1] <= key:
            self.keys.append(key)
            self.items.append(entry)
            return
        i = bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.items.insert(i, entry)

    def bounds(self, since: int | None, until: int | None) -> tuple[int, int]:
        """Half-open window on created_at."""
        lo = 0 if since is None else bisect_left(self.keys, (since,))
        hi = len(self.keys) if until is None else bisect_left(self.keys, (until,))
        return lo, max(lo, hi)


class _Index:
    """Incidents sorted by (created_at, number) with a parallel key list for bisect."""

    __slots__ = ("items", "keys")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.items: list[Incident] = []

    def append(self, inc: Incident) -> None:
        """Bulk-load path: the generator feeds incidents already in key order."""
        self.keys.append(inc.key)
        self.items.append(inc)

    def insert(self, inc: Incident) -> None:
        """Keep the order when a test back-dates or adds an incident."""
        i = bisect_left(self.keys, inc.key)
        self.keys.insert(i, inc.key)
        self.items.insert(i, inc)

    def remove(self, inc: Incident) -> None:
        """Used when a status change moves an incident between status indexes."""
        i = bisect_left(self.keys, inc.key)
        if i < len(self.items) and self.items[i] is inc:
            del self.keys[i]
            del self.items[i]

    def bounds(self, since: int | None, until: int | None) -> tuple[int, int]:
        """Half-open window on created_at: since <= created_at < until."""
        lo = 0 if since is None else bisect_left(self.keys, (since,))
        hi = len(self.keys) if until is None else bisect_left(self.keys, (until,))
        return lo, max(lo, hi)


# --------------------------------------------------------------------------------------------- store


class Store:
    """Thread-safe incident store: the single source of truth behind every simulator endpoint."""

    def __init__(
        self,
        services: Sequence[Service],
        users: Sequence[Ref],
        team_members: dict[str, list[Ref]],
        priorities: Sequence[dict[str, Any]],
        *,
        seed: int = 0,
        api_base: str = DEFAULT_API_BASE,
        web_base: str = DEFAULT_WEB_BASE,
        cache_limit: int = DEFAULT_CACHE_LIMIT,
    ) -> None:
        self.seed = seed
        self.api_base = api_base
        self.web_base = web_base
        self.services: dict[str, Service] = {s.id: s for s in services}
        self.users: list[Ref] = list(users)
        self.team_members = team_members
        self.priorities: dict[str, dict[str, Any]] = {p["name"]: p for p in priorities}
        self.cache_limit = cache_limit
        self._lock = threading.RLock()
        self._by_number: dict[int, Incident] = {}
        self._by_id: dict[str, Incident] = {}
        self._indexes: dict[tuple[str | None, str | None], _Index] = {}
        self._cache: dict[int, bytes] = {}
        self._fragments: dict[int, str] = {}
        self._fragment_owners: list[dict[str, Any]] = []
        self._next_number = 1
        self._fixed_now: int | None = None
        self._id_rng = random.Random(f"incidentlake-sim:incident-ids:{seed}")
        self._rng = random.Random(f"incidentlake-sim:mutations:{seed}")
        # log entries: encoded synthesized history (built lazily from _pending_log) + recorded entries
        self._gen_codes: Sequence[int] = array("Q")
        self._pending_log: list[Incident] = []
        self._recorded_all = _EntryIndex()
        self._recorded_overview = _EntryIndex()
        self._recorded_by_seq: dict[int, LogEntry] = {}
        self._next_seq = 1

    # -- clock ----------------------------------------------------------------------------------------

    def now(self) -> int:
        """The store's notion of "now" (defaults for mutations and for the API's default window)."""
        return self._fixed_now if self._fixed_now is not None else int(time.time())

    def set_now(self, value: TimeLike | None) -> None:
        """Freeze the clock so "last month" default windows are reproducible in tests; None unfreezes."""
        self._fixed_now = None if value is None else to_ts(value)

    # -- ids / bulk load ------------------------------------------------------------------------------

    def new_incident_id(self) -> str:
        """PagerDuty-like 14-char uppercase id, deterministic from the seed and creation order."""
        while True:
            ident = "Q" + "".join(self._id_rng.choices(_ID_PAIRS, k=7))[:13]
            if ident not in self._by_id:
                return ident

    def _index(self, service_id: str | None, status: str | None) -> _Index:
        idx = self._indexes.get((service_id, status))
        if idx is None:
            idx = self._indexes[(service_id, status)] = _Index()
        return idx

    def _index_keys(self, inc: Incident) -> tuple[tuple[str | None, str | None], ...]:
        sid = inc.service.id
        return ((None, None), (sid, None), (None, inc.status), (sid, inc.status))

    def bulk_load(self, incidents: Iterable[Incident]) -> None:
        """Load incidents that are already sorted by (created_at, number); O(n) appends, no insort."""
        with self._lock:
            everything = self._index(None, None)
            last = 0
            for inc in incidents:
                self._by_number[inc.number] = inc
                self._by_id[inc.id] = inc
                sid, status = inc.service.id, inc.status
                everything.append(inc)
                self._index(sid, None).append(inc)
                self._index(None, status).append(inc)
                self._index(sid, status).append(inc)
                last = max(last, inc.number)
                self._pending_log.append(inc)
            self._next_number = max(self._next_number, last + 1)

    # -- reads ----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_number)

    def __iter__(self) -> Iterator[Incident]:
        """Incidents in created_at order (a snapshot, so callers may mutate while iterating)."""
        with self._lock:
            return iter(list(self._index(None, None).items))

    def get(self, number: int) -> Incident:
        """Look up by incident_number; KeyError if unknown."""
        return self._by_number[number]

    def get_by_id(self, incident_id: str) -> Incident | None:
        """Look up by PagerDuty id, None if unknown (the API turns that into a 404)."""
        return self._by_id.get(incident_id)

    def time_span(self) -> tuple[int, int] | None:
        """First and last created_at, for demos and for tests picking windows."""
        with self._lock:
            keys = self._index(None, None).keys
            return (keys[0][0], keys[-1][0]) if keys else None

    def count(self, service_id: str | None = None, status: str | None = None) -> int:
        """O(1) counts per service/status, handy for assertions and the demo banner."""
        with self._lock:
            idx = self._indexes.get((service_id, status))
            return len(idx.items) if idx else 0

    def _parts(
        self,
        since: int | None,
        until: int | None,
        service_ids: Sequence[str],
        statuses: Sequence[str],
    ) -> list[tuple[_Index, int, int]]:
        svcs: list[str | None] = list(dict.fromkeys(service_ids)) or [None]
        sts: list[str | None] = list(dict.fromkeys(statuses)) or [None]
        parts = []
        for sid in svcs:
            for st in sts:
                idx = self._indexes.get((sid, st))
                if idx is not None:
                    lo, hi = idx.bounds(since, until)
                    if hi > lo:
                        parts.append((idx, lo, hi))
        return parts

    def query(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        service_ids: Sequence[str] = (),
        statuses: Sequence[str] = (),
        offset: int = 0,
        limit: int = 25,
        descending: bool = False,
    ) -> tuple[list[Incident], int]:
        """One page plus the total match count; bisect per index, k-way merge only across indexes."""
        with self._lock:
            parts = self._parts(since, until, service_ids, statuses)
            total = sum(hi - lo for _, lo, hi in parts)
            if offset >= total or limit <= 0:
                return [], total
            if len(parts) == 1:
                idx, lo, hi = parts[0]
                if not descending:
                    return idx.items[lo + offset : min(hi, lo + offset + limit)], total
                top = hi - offset
                return idx.items[max(lo, top - limit) : top][::-1], total
            iters = [
                map(idx.items.__getitem__, range(hi - 1, lo - 1, -1) if descending else range(lo, hi))
                for idx, lo, hi in parts
            ]
            merged = heapq.merge(*iters, key=_sort_key, reverse=descending)
            return list(islice(merged, offset, offset + limit)), total

    def query_json(self, **criteria: Any) -> tuple[list[bytes], int]:
        """:meth:`query` (same keyword arguments) with the incidents serialized, rendered under
        the lock (no stale cache)."""
        with self._lock:
            page, total = self.query(**criteria)
            return [self.render(inc) for inc in page], total

    def render(self, inc: Incident) -> bytes:
        """Serialized incident, cached; the cache is bounded by wholesale clearing to stay memory-lean."""
        with self._lock:
            data = self._cache.get(inc.number)
            if data is None:
                data = self._encode(inc)
                if self.cache_limit > 0:
                    if len(self._cache) >= self.cache_limit:
                        self._cache.clear()
                    self._cache[inc.number] = data
            return data

    def warm_cache(self) -> int:
        """Render every incident now (up to the cache limit), so the first pass over the data costs
        the server what later passes do; returns how many were rendered."""
        with self._lock:
            incidents = list(self._by_number.values())[: max(0, self.cache_limit)]
            for inc in incidents:
                self.render(inc)
            return len(incidents)

    def _fragment(self, obj: dict[str, Any] | None) -> str:
        """JSON of a shared reference dict, encoded once: refs are ~half of every incident's bytes."""
        if obj is None:
            return "null"
        key = id(obj)
        frag = self._fragments.get(key)
        if frag is None:
            frag = self._fragments[key] = json.dumps(obj, separators=(",", ":"))
            self._fragment_owners.append(obj)  # keep it alive so its id() is never reused
        return frag

    def _encode(self, inc: Incident) -> bytes:
        """Hand-assembled JSON equal to ``json.dumps(incident_dict(inc))``: ~4x faster on cache misses."""
        frag = self._fragment
        created = fmt_ts(inc.created_ts)
        updated = created if inc.updated_ts == inc.created_ts else fmt_ts(inc.updated_ts)
        changed = updated if inc.last_change_ts == inc.updated_ts else fmt_ts(inc.last_change_ts)
        status = inc.status
        svc = inc.service
        resolved = status == "resolved"
        assignee_json = frag(inc.assignee.ref) if inc.assignee else None
        if resolved or assignee_json is None:
            assignments = "[]"
        else:
            assignments = f'[{{"at":"{created}","assignee":{assignee_json}}}]'
        if status == "acknowledged" and inc.ack_ts is not None:
            acks = f'[{{"at":"{fmt_ts(inc.ack_ts)}","acknowledger":{assignee_json or frag(svc.ref)}}}]'
        else:
            acks = "[]"
        title = inc.title_json
        desc = title if inc.description is None else json.dumps(inc.description)
        resolved_at = "null"
        if resolved and inc.resolved_ts is not None:
            resolved_at = f'"{changed if inc.resolved_ts == inc.last_change_ts else fmt_ts(inc.resolved_ts)}"'
        counts = f'{{"all":1,"triggered":{int(not resolved)},"resolved":{int(resolved)}}}'
        iid = inc.id
        return (
            f'{{"id":"{iid}","type":"incident","summary":"[#{inc.number}] {title[1:]},'
            f'"self":"{self.api_base}/incidents/{iid}","html_url":"{self.web_base}/incidents/{iid}",'
            f'"incident_number":{inc.number},"title":{title},"description":{desc},'
            f'"created_at":"{created}","updated_at":"{updated}","status":"{status}",'
            f'"incident_key":{inc.key_json},"service":{frag(svc.ref)},'
            f'"assignments":{assignments},"acknowledgements":{acks},'
            f'"last_status_change_at":"{changed}","last_status_change_by":{frag(inc.changed_by)},'
            f'"escalation_policy":{frag(svc.escalation_policy.ref)},"teams":[{frag(svc.team.ref)}],'
            f'"priority":{frag(inc.priority)},"urgency":"{inc.urgency}","resolved_at":{resolved_at},'
            f'"resolve_reason":null,"alert_counts":{counts},"pending_actions":[],"is_mergeable":true}}'
        ).encode()

    def incident_dict(self, inc: Incident) -> dict[str, Any]:
        """The incident in PagerDuty REST v2 shape."""
        created = fmt_ts(inc.created_ts)
        status = inc.status
        svc = inc.service
        assignee_ref = inc.assignee.ref if inc.assignee else None
        if status == "resolved" or assignee_ref is None:
            assignments: list[dict[str, Any]] = []
        else:
            assignments = [{"at": created, "assignee": assignee_ref}]
        if status == "acknowledged" and inc.ack_ts is not None:
            acks = [{"at": fmt_ts(inc.ack_ts), "acknowledger": assignee_ref or svc.ref}]
        else:
            acks = []
        resolved = status == "resolved"
        return {
            "id": inc.id,
            "type": "incident",
            "summary": f"[#{inc.number}] {inc.title}",
            "self": f"{self.api_base}/incidents/{inc.id}",
            "html_url": f"{self.web_base}/incidents/{inc.id}",
            "incident_number": inc.number,
            "title": inc.title,
            "description": inc.description if inc.description is not None else inc.title,
            "created_at": created,
            "updated_at": fmt_ts(inc.updated_ts),
            "status": status,
            "incident_key": inc.incident_key,
            "service": svc.ref,
            "assignments": assignments,
            "acknowledgements": acks,
            "last_status_change_at": fmt_ts(inc.last_change_ts),
            "last_status_change_by": inc.changed_by,
            "escalation_policy": svc.escalation_policy.ref,
            "teams": [svc.team.ref],
            "priority": inc.priority,
            "urgency": inc.urgency,
            "resolved_at": fmt_ts(inc.resolved_ts) if resolved and inc.resolved_ts is not None else None,
            "resolve_reason": None,
            "alert_counts": {"all": 1, "triggered": 0 if resolved else 1, "resolved": 1 if resolved else 0},
            "pending_actions": [],
            "is_mergeable": True,
        }

    def service_dict(self, svc: Service) -> dict[str, Any]:
        """The service in PagerDuty REST v2 shape."""
        return {
            "id": svc.id,
            "type": "service",
            "summary": svc.name,
            "self": f"{self.api_base}/services/{svc.id}",
            "html_url": f"{self.web_base}/service-directory/{svc.id}",
            "name": svc.name,
            "description": svc.description,
            "status": svc.status,
            "created_at": fmt_ts(svc.created_ts),
            "escalation_policy": svc.escalation_policy.ref,
            "teams": [svc.team.ref],
            "alert_creation": "create_alerts_and_incidents",
        }

    def find_services(self, query: str | None = None) -> list[Service]:
        """Services sorted by name (as PagerDuty lists them), optionally name-filtered case-insensitively."""
        needle = (query or "").lower()
        return sorted(
            (s for s in self.services.values() if needle in s.name.lower()), key=lambda s: (s.name, s.id)
        )

    # -- log entries ----------------------------------------------------------------------------------

    def _flush_log(self) -> None:
        """Encode the history of bulk-loaded incidents not yet in the synthesized index (once, lazily).

        An incident mutated before this ran has already snapshotted its generated history into
        ``inc.log`` (synthetic entries), so its codes come from there, not from its current state.
        """
        pending = self._pending_log
        if not pending:
            return
        if self._next_number > _NUMBER_MASK:
            raise ValueError("too many incidents for the log entry encoding")
        codes: list[int] = list(self._gen_codes)
        add = codes.append
        for inc in pending:
            if inc.log is not None:
                codes.extend(e.code for e in inc.log if e.synthetic)
                continue
            n = inc.number << _KIND_BITS
            c = (inc.created_ts << 32) | n
            add(c)
            if inc.assignee is not None:
                add(c | 1)
            if inc.ack_ts is not None:
                add((inc.ack_ts << 32) | n | 2)
            if inc.resolved_ts is not None and inc.status == "resolved":
                add((inc.resolved_ts << 32) | n | 3)
        codes.sort()
        self._pending_log = []
        try:
            self._gen_codes = array("Q", codes)  # 8 bytes per entry instead of ~44 in a list
        except OverflowError:  # a created_at before 1970: keep the (bigger) list
            self._gen_codes = codes

    def _synth_entry(self, inc: Incident, kind: int, ts: int, code: int, synthetic: bool) -> LogEntry:
        """Build one of the four entries an incident's timestamps imply (trigger/assign/ack/resolve)."""
        svc = inc.service
        if kind == 0:
            return LogEntry(
                code,
                ts,
                TRIGGER,
                inc,
                svc.ref,
                _CHANNEL_API,
                "Triggered through the API.",
                {"event_details": {"description": inc.title}, "contexts": []},
                synthetic,
            )
        if kind == 1:
            assignee = inc.assignee.ref if inc.assignee else svc.ref
            return LogEntry(
                code,
                ts,
                ASSIGN,
                inc,
                svc.ref,
                _CHANNEL_AUTO,
                f"Assigned to {assignee['summary']}.",
                {"assignees": [assignee]},
                synthetic,
            )
        if kind == 2:
            agent = inc.assignee.ref if inc.assignee else svc.ref
            return LogEntry(
                code, ts, ACKNOWLEDGE, inc, agent, *_by_agent(agent, "Acknowledged"), None, synthetic
            )
        agent = inc.changed_by  # resolved is final, so this is who resolved it
        return LogEntry(code, ts, RESOLVE, inc, agent, *_by_agent(agent, "Resolved"), None, synthetic)

    def _synthesized(self, inc: Incident) -> list[LogEntry]:
        """The history a generated incident's current (never mutated) state implies, oldest first."""
        n = inc.number << _KIND_BITS
        parts = [(inc.created_ts, 0)]
        if inc.assignee is not None:
            parts.append((inc.created_ts, 1))
        if inc.ack_ts is not None:
            parts.append((inc.ack_ts, 2))
        if inc.resolved_ts is not None and inc.status == "resolved":
            parts.append((inc.resolved_ts, 3))
        return [self._synth_entry(inc, kind, ts, (ts << 32) | n | kind, True) for ts, kind in parts]

    def _decode(self, code: int) -> LogEntry:
        return self._synth_entry(
            self._by_number[(code >> _KIND_BITS) & _NUMBER_MASK], code & 7, code >> 32, code, True
        )

    def _pin_history(self, inc: Incident) -> None:
        """Before a generated incident's first change, snapshot the history its timestamps imply: after the
        change they no longer would (an acknowledgement undone, a new acknowledged_at...)."""
        if inc.log is None:
            inc.log = self._synthesized(inc)

    def _record(
        self,
        inc: Incident,
        type_: str,
        ts: int,
        agent: dict[str, Any] | None,
        channel: dict[str, Any],
        summary: str,
        extra: dict[str, Any] | None = None,
    ) -> LogEntry:
        """Append a log entry produced by a change (caller holds the lock, and pinned the history)."""
        if inc.log is None:
            raise RuntimeError("_pin_history must run before the incident changes")
        seq = self._next_seq
        self._next_seq += 1
        entry = LogEntry((seq << _KIND_BITS) | _RECORDED_KIND, ts, type_, inc, agent, channel, summary, extra)
        inc.log.append(entry)
        self._recorded_by_seq[seq] = entry
        self._recorded_all.insert(entry)
        if entry.overview:
            self._recorded_overview.insert(entry)
        return entry

    def _record_synth(self, inc: Incident, kind: int, ts: int) -> None:
        e = self._synth_entry(inc, kind, ts, 0, False)
        self._record(inc, e.type, ts, e.agent, e.channel, e.summary, e.extra)

    def log_entry_count(self, overview: bool = False) -> int:
        """Every log entry in the store (or only the overview ones)."""
        with self._lock:
            self._flush_log()
            recorded = self._recorded_overview if overview else self._recorded_all
            return len(self._gen_codes) + len(recorded.items)

    def log_entries(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        overview: bool = False,
        offset: int = 0,
        limit: int = 25,
        descending: bool = False,
    ) -> tuple[list[LogEntry], int]:
        """One page of log entries with since <= created_at < until, plus the total match count.

        Ascending order is (created_at, then synthesized before recorded entries, then incident number /
        recording order). Both indexes are bisected; the page's position in their merge is found by a
        binary search, so cost depends on the page size, not on the offset or the store size.
        """
        with self._lock:
            self._flush_log()
            gen = self._gen_codes
            glo = 0 if since is None else bisect_left(gen, since << 32)
            ghi = len(gen) if until is None else max(glo, bisect_left(gen, until << 32))
            rec = self._recorded_overview if overview else self._recorded_all
            rlo, rhi = rec.bounds(since, until)
            ng, nr = ghi - glo, rhi - rlo
            total = ng + nr
            if descending:
                a, b = max(0, total - offset - limit), max(0, total - offset)
            else:
                a, b = min(total, offset), min(total, offset + limit)
            if a >= b or limit <= 0:
                return [], total
            rkeys = rec.keys

            def gen_taken(k: int) -> int:
                """How many synthesized entries are among the first k of the merge."""
                lo, hi = max(0, k - nr), min(k, ng)
                while lo < hi:
                    mid = (lo + hi) // 2
                    ts = gen[glo + mid] >> 32
                    if mid + bisect_left(rkeys, (ts,), rlo, rhi) - rlo < k:
                        lo = mid + 1
                    else:
                        hi = mid
                return lo

            ia, ib = gen_taken(a), gen_taken(b)
            ja, jb = a - ia, b - ib
            gens: list[tuple[int, int, Any]] = [(c >> 32, 0, c) for c in gen[glo + ia : glo + ib]]
            recs: list[tuple[int, int, Any]] = [(e.ts, 1, e) for e in rec.items[rlo + ja : rlo + jb]]
            merged = heapq.merge(gens, recs, key=_merge_key)  # stable: synthesized first on equal times
            page: list[LogEntry] = [item if src else self._decode(item) for _, src, item in merged]
            if descending:
                page.reverse()
            return page, total

    def log_entries_json(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        overview: bool = False,
        offset: int = 0,
        limit: int = 25,
        descending: bool = False,
        include_incidents: bool = False,
        include_services: bool = False,
    ) -> tuple[list[bytes], int]:
        """Like :meth:`log_entries` but serialized under the lock (included incidents are current)."""
        with self._lock:
            page, total = self.log_entries(
                since=since, until=until, overview=overview, offset=offset, limit=limit, descending=descending
            )
            return [
                self.render_entry(e, include_incident=include_incidents, include_service=include_services)
                for e in page
            ], total

    def incident_log(self, inc: Incident, *, overview: bool = False) -> list[LogEntry]:
        """Every log entry of one incident, oldest first."""
        with self._lock:
            entries = self._synthesized(inc) if inc.log is None else list(inc.log)
            entries.sort(key=_entry_ts)
            return [e for e in entries if e.overview] if overview else entries

    def find_log_entry(self, ident: str) -> LogEntry | None:
        """Look a log entry up by id (GET /log_entries/{id}); None if there is none."""
        code = entry_code(ident)
        if code is None:
            return None
        with self._lock:
            if code & 7 == _RECORDED_KIND:
                return self._recorded_by_seq.get(code >> _KIND_BITS)
            self._flush_log()
            gen = self._gen_codes
            i = bisect_left(gen, code)
            if i == len(gen) or gen[i] != code:
                return None
            return self._decode(code)

    def entry_dict(self, entry: LogEntry) -> dict[str, Any]:
        """The log entry in PagerDuty REST v2 shape, with an incident_reference."""
        inc = entry.incident
        svc = inc.service
        eid = entry.id
        out: dict[str, Any] = {
            "id": eid,
            "type": entry.type,
            "summary": entry.summary,
            "self": f"{self.api_base}/log_entries/{eid}",
            "html_url": None,
            "created_at": fmt_ts(entry.ts),
            "agent": entry.agent,
            "channel": entry.channel,
            "service": svc.ref,
            "incident": {
                "id": inc.id,
                "type": "incident_reference",
                "summary": f"[#{inc.number}] {inc.title}",
                "self": f"{self.api_base}/incidents/{inc.id}",
                "html_url": f"{self.web_base}/incidents/{inc.id}",
            },
            "teams": [svc.team.ref],
        }
        if entry.extra:
            out.update(entry.extra)
        return out

    def render_entry(
        self, entry: LogEntry, *, include_incident: bool = False, include_service: bool = False
    ) -> bytes:
        """Serialized entry; ``include_incident`` embeds the incident's current state (the exact bytes of
        GET /incidents/{id}), ``include_service`` the full service object."""
        with self._lock:
            d = self.entry_dict(entry)
            if include_service:
                d["service"] = self.service_dict(entry.incident.service)
            if not include_incident:
                return json.dumps(d, separators=(",", ":")).encode()
            del d["incident"]
            head = json.dumps(d, separators=(",", ":"))
            return head[:-1].encode() + b',"incident":' + self.render(entry.incident) + b"}"

    # -- mutations ------------------------------------------------------------------------------------

    def _ts_or_now(self, at: TimeLike | None) -> int:
        return self.now() if at is None else to_ts(at)

    def create_incident(
        self,
        service_id: str,
        created_at: TimeLike | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        status: str = "triggered",
        status_at: TimeLike | None = None,
        urgency: str = "high",
        priority: str | None = None,
        incident_key: str | None = None,
        assignee_id: str | None = None,
    ) -> Incident:
        """Add an incident (next incident_number); a non-triggered status is applied at ``status_at``."""
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._lock:
            svc = self.services.get(service_id)
            if svc is None:
                raise KeyError(f"unknown service {service_id!r}")
            created = self._ts_or_now(created_at)
            if assignee_id is not None:
                assignee: Ref | None = next((u for u in self.users if u.id == assignee_id), None)
                if assignee is None:
                    raise KeyError(f"unknown user {assignee_id!r}")
            else:
                members = self.team_members.get(svc.team.id) or self.users
                assignee = self._rng.choice(members) if members else None
            number = self._next_number
            self._next_number += 1
            inc = Incident(
                number=number,
                id=self.new_incident_id(),
                created_ts=created,
                service=svc,
                title=title or f"Simulated incident #{number} on {svc.name}",
                description=description,
                status="triggered",
                urgency=urgency,
                priority=self._priority(priority),
                incident_key=incident_key or f"{self._rng.getrandbits(128):032x}",
                assignee=assignee,
                updated_ts=created,
                last_change_ts=created,
                changed_by=svc.ref,
            )
            self.insert_incident(inc)
            if status != "triggered":
                self.update_status(number, status, at=status_at if status_at is not None else created)
            return inc

    def insert_incident(self, inc: Incident) -> None:
        """Insert one incident into every index (kept sorted) and log what its state implies: trigger
        and assignment at created_at, plus acknowledge/resolve at their timestamps if it has them."""
        with self._lock:
            if inc.number in self._by_number or inc.id in self._by_id:
                raise ValueError(f"duplicate incident {inc.number}/{inc.id}")
            self._by_number[inc.number] = inc
            self._by_id[inc.id] = inc
            for k in self._index_keys(inc):
                self._index(*k).insert(inc)
            self._next_number = max(self._next_number, inc.number + 1)
            inc.log = []
            self._record_synth(inc, 0, inc.created_ts)
            if inc.assignee is not None:
                self._record_synth(inc, 1, inc.created_ts)
            if inc.ack_ts is not None:
                self._record_synth(inc, 2, inc.ack_ts)
            if inc.resolved_ts is not None and inc.status == "resolved":
                self._record_synth(inc, 3, inc.resolved_ts)

    def _priority(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        if name not in self.priorities:
            raise ValueError(f"priority must be one of {sorted(self.priorities)} or None")
        return self.priorities[name]

    def update_status(self, incident_number: int, status: str, at: TimeLike | None = None) -> Incident:
        """Move an incident through triggered -> acknowledged -> resolved, bumping updated_at and logging
        an acknowledge/resolve (or, back to triggered, an unacknowledge) entry at ``at`` (default: now).

        Resolved is final, as in PagerDuty; setting the current status again is a no-op.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._lock:
            inc = self._by_number[incident_number]
            if inc.status == status:
                return inc
            if inc.status == "resolved":
                raise ValueError(f"incident {incident_number} is resolved; its status cannot change")
            ts = max(self._ts_or_now(at), inc.created_ts)
            self._pin_history(inc)
            sid = inc.service.id
            self._index(None, inc.status).remove(inc)
            self._index(sid, inc.status).remove(inc)
            who = inc.assignee.ref if inc.assignee else inc.service.ref
            if status == "acknowledged":
                inc.ack_ts = ts
                inc.changed_by = who
            elif status == "resolved":
                inc.resolved_ts = ts
                inc.changed_by = who
            else:  # back to triggered, e.g. an acknowledgement timed out
                inc.ack_ts = None
                inc.changed_by = inc.service.ref
            inc.status = status
            inc.last_change_ts = ts
            inc.updated_ts = ts
            self._index(None, status).insert(inc)
            self._index(sid, status).insert(inc)
            self._cache.pop(incident_number, None)
            if status == "acknowledged":
                self._record_synth(inc, 2, ts)
            elif status == "resolved":
                self._record_synth(inc, 3, ts)
            else:
                svc_ref = inc.service.ref
                self._record(
                    inc, UNACKNOWLEDGE, ts, svc_ref, _CHANNEL_TIMEOUT, "Unacknowledged due to timeout."
                )
            return inc

    def set_priority(
        self, incident_number: int, priority: str | None, at: TimeLike | None = None
    ) -> Incident:
        """Change (or clear) the priority: bumps updated_at and logs a priority_change_log_entry at ``at``.

        Setting the current priority again changes nothing (and logs nothing).
        """
        with self._lock:
            inc = self._by_number[incident_number]
            old, new = inc.priority, self._priority(priority)
            if new is old:
                return inc
            ts = max(self._ts_or_now(at), inc.created_ts)
            self._pin_history(inc)
            inc.priority = new
            inc.updated_ts = ts
            self._cache.pop(incident_number, None)
            agent = inc.assignee.ref if inc.assignee else inc.service.ref
            channel, _ = _by_agent(agent, "")
            if old is None:
                summary = f'Priority set to "{new["name"] if new else ""}".'
            elif new is None:
                summary = f'Priority "{old["name"]}" removed.'
            else:
                summary = f'Priority changed from "{old["name"]}" to "{new["name"]}".'
            channel = {**channel, "old_priority": old, "new_priority": new}
            self._record(inc, PRIORITY_CHANGE, ts, agent, channel, summary)
            return inc

    def set_urgency(self, incident_number: int, urgency: str, at: TimeLike | None = None) -> Incident:
        """Change the urgency: bumps updated_at and logs an urgency_change_log_entry at ``at``.

        Setting the current urgency again changes nothing (and logs nothing).
        """
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}")
        with self._lock:
            inc = self._by_number[incident_number]
            old = inc.urgency
            if urgency == old:
                return inc
            ts = max(self._ts_or_now(at), inc.created_ts)
            self._pin_history(inc)
            inc.urgency = urgency
            inc.updated_ts = ts
            self._cache.pop(incident_number, None)
            agent = inc.assignee.ref if inc.assignee else inc.service.ref
            channel, _ = _by_agent(agent, "")
            summary = f'Urgency changed from "{old}" to "{urgency}".'
            self._record(inc, URGENCY_CHANGE, ts, agent, channel, summary)
            return inc


def _sort_key(inc: Incident) -> tuple[int, int]:
    return inc.key


def _merge_key(item: tuple[int, int, Any]) -> tuple[int, int]:
    return item[0], item[1]


def _entry_ts(entry: LogEntry) -> int:
    return entry.ts


_CHANNEL_API: dict[str, Any] = {"type": "api"}
_CHANNEL_AUTO: dict[str, Any] = {"type": "auto"}
_CHANNEL_WEB: dict[str, Any] = {"type": "web"}
_CHANNEL_TIMEOUT: dict[str, Any] = {"type": "timeout"}


def _by_agent(agent: dict[str, Any], verb: str) -> tuple[dict[str, Any], str]:
    """Channel and summary of an action taken by a user (in the web app) or a service (through the API)."""
    if agent.get("type") == "user_reference":
        return _CHANNEL_WEB, f"{verb} by {agent['summary']}."
    return _CHANNEL_API, f"{verb} through the API."


# --------------------------------------------------------------------------------------------- generator

_SERVICE_NAMES = (
    *("checkout-api", "payments", "search", "auth-gateway", "inventory", "notifications"),
    *("web-frontend", "orders-db", "billing-worker", "recommendations", "media-cdn", "analytics-pipeline"),
)
_TEAM_NAMES = ("Platform", "Payments", "Core SRE", "Data", "Growth", "Mobile", "Storefront", "Security")
_FIRST = (
    *("Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia"),
    *("Tim", "Sophie", "Guido", "Edsger", "Hedy", "John", "Katherine", "Donald", "Shafi", "Leslie"),
)
_LAST = (
    *("Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Turing"),
    *("Perlman", "Berners-Lee", "Wilson", "van Rossum", "Dijkstra", "Lamarr", "McCarthy", "Johnson"),
    *("Knuth", "Goldwasser", "Lamport"),
)
_PROBLEMS: tuple[tuple[str, int, int], ...] = (
    ("Error rate above {}%", 2, 40),
    ("p99 latency above {}ms", 300, 5000),
    ("High CPU usage ({}%)", 85, 100),
    ("Disk usage at {}%", 88, 100),
    ("Memory pressure: {} OOM kills", 1, 30),
    ("Health check failing on {} hosts", 1, 12),
    ("Queue backlog above {} messages", 1000, 90000),
    ("TLS certificate expires in {} days", 1, 14),
    ("Replication lag {}s", 30, 900),
    ("Connection pool exhausted ({} waiting)", 10, 500),
    ("5xx spike: {} errors/min", 50, 5000),
    ("Pod CrashLoopBackOff ({} restarts)", 3, 60),
)
# cumulative thresholds: 35% no priority, then P1..P5
_PRIORITY_CUTS = (0.35, 0.40, 0.50, 0.70, 0.85, 1.0)


def _short_id(rng: random.Random) -> str:
    return "P" + "".join(rng.choices(_ID_ALPHABET, k=6))


def _cycled_name(names: Sequence[str], i: int, suffix: str) -> str:
    """Reuse the realistic name list, suffixing a round number once it runs out."""
    rnd, pos = divmod(i, len(names))
    return names[pos] + (suffix.format(rnd + 1) if rnd else "")


def _user_name(i: int) -> str:
    return f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7 + i // len(_FIRST)) % len(_LAST)]}"


def _ref(kind: str, ident: str, name: str, api_base: str, web_base: str, path: str) -> Ref:
    return Ref(
        id=ident,
        name=name,
        ref={
            "id": ident,
            "type": kind,
            "summary": name,
            "self": f"{api_base}/{path}/{ident}",
            "html_url": f"{web_base}/{path}/{ident}",
        },
    )


def generate(
    n_incidents: int = 1000,
    services: Sequence[ServiceSpec] | int = 5,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    seed: int = 0,
    *,
    weights: Sequence[float] | None = None,
    n_users: int = 20,
    n_teams: int = 4,
    open_fraction: float = 0.01,
    api_base: str = DEFAULT_API_BASE,
    web_base: str = DEFAULT_WEB_BASE,
    cache_limit: int = 20_000,
    freeze_clock: bool = True,
) -> Store:
    """Build a reproducible store: same arguments and seed give byte-identical data.

    ``start``/``end`` default to 2024-01-01 .. 2025-01-01 (fixed so results never depend on the wall
    clock). ``weights`` (or ``ServiceSpec.weight``) sets each service's share of incidents. Most incidents
    are resolved after a log-normal delay (minutes to days); those whose resolution would fall after
    ``end`` stay triggered/acknowledged, plus ``open_fraction`` of old ones left open. With
    ``freeze_clock`` the store's "now" is ``end``, so the API's default "last month" window is reproducible.
    """
    start_ts = to_ts(start) if start is not None else to_ts("2024-01-01T00:00:00Z")
    end_ts = to_ts(end) if end is not None else to_ts("2025-01-01T00:00:00Z")
    if end_ts <= start_ts:
        raise ValueError("end must be after start")
    specs = (
        [ServiceSpec(name=_cycled_name(_SERVICE_NAMES, i, "-{}")) for i in range(services)]
        if isinstance(services, int)
        else list(services)
    )
    if not specs:
        raise ValueError("at least one service is required")
    svc_weights = list(weights) if weights is not None else [s.weight for s in specs]
    if len(svc_weights) != len(specs):
        raise ValueError("weights must have one entry per service")

    meta_rng = random.Random(f"incidentlake-sim:meta:{seed}")
    rng = random.Random(f"incidentlake-sim:incidents:{seed}")
    n_teams = max(1, n_teams)
    n_users = max(1, n_users)

    bases = (api_base, web_base)
    teams = [
        _ref("team_reference", _short_id(meta_rng), _cycled_name(_TEAM_NAMES, i, " {}"), *bases, "teams")
        for i in range(n_teams)
    ]
    policies = [
        _ref(
            "escalation_policy_reference",
            _short_id(meta_rng),
            f"{t.name} Escalation",
            *bases,
            "escalation_policies",
        )
        for t in teams
    ]
    users = [
        _ref("user_reference", _short_id(meta_rng), _user_name(i), *bases, "users") for i in range(n_users)
    ]
    team_members: dict[str, list[Ref]] = {t.id: [] for t in teams}
    for i, u in enumerate(users):
        team_members[teams[i % n_teams].id].append(u)
    priorities = []
    for i, name in enumerate(PRIORITY_NAMES):
        pid = _short_id(meta_rng)
        priorities.append(
            {
                "id": pid,
                "type": "priority",
                "summary": name,
                "self": f"{api_base}/priorities/{pid}",
                "html_url": None,
                "name": name,
                "description": f"Priority {name}",
                "color": _PRIORITY_COLORS[i],
                "order": (len(PRIORITY_NAMES) - i) * 128,
            }
        )

    svc_objs: list[Service] = []
    for i, spec in enumerate(specs):
        sid = spec.id or _short_id(meta_rng)
        team = teams[i % n_teams]
        svc_objs.append(
            Service(
                id=sid,
                name=spec.name,
                description=spec.description if spec.description is not None else f"{spec.name} (simulated)",
                status=spec.status,
                created_ts=start_ts - 86400 * (30 + i),
                team=team,
                escalation_policy=policies[i % n_teams],
                ref={
                    "id": sid,
                    "type": "service_reference",
                    "summary": spec.name,
                    "self": f"{api_base}/services/{sid}",
                    "html_url": f"{web_base}/service-directory/{sid}",
                },
            )
        )
    if len({s.id for s in svc_objs}) != len(svc_objs):
        raise ValueError("service ids must be unique")

    store = Store(
        svc_objs,
        users,
        team_members,
        priorities,
        seed=seed,
        api_base=api_base,
        web_base=web_base,
        cache_limit=cache_limit,
    )
    span = end_ts - start_ts
    rnd = rng.random
    created = sorted(int(start_ts + rnd() * span) for _ in range(n_incidents))
    svc_idx = rng.choices(range(len(svc_objs)), weights=svc_weights, k=n_incidents) if n_incidents else []
    members = [team_members[s.team.id] or users for s in svc_objs]
    n_problems = len(_PROBLEMS)
    cuts = _PRIORITY_CUTS
    prio_list = priorities
    log_mu = math.log(45 * 60)

    def build() -> Iterator[Incident]:
        for i in range(n_incidents):
            c = created[i]
            svc = svc_objs[svc_idx[i]]
            team_users = members[svc_idx[i]]
            assignee = team_users[int(rnd() * len(team_users))]
            tmpl, lo, hi = _PROBLEMS[int(rnd() * n_problems)]
            title = tmpl.format(lo + int(rnd() * (hi - lo))) + f" on {svc.name}"
            p = rnd()
            prio = prio_list[bisect_right(cuts, p) - 1] if p >= cuts[0] else None
            resolve_after = min(max(int(rng.lognormvariate(log_mu, 1.6)), 60), 14 * 86400)
            ack_after = 15 + int(rng.expovariate(1 / 300))
            status = "triggered"
            ack_ts = resolved_ts = None
            changed_by = svc.ref
            last = c
            if c + resolve_after < end_ts and rnd() >= open_fraction:
                status, resolved_ts, last = "resolved", c + resolve_after, c + resolve_after
                changed_by = assignee.ref if rnd() < 0.85 else svc.ref
            elif c + ack_after < end_ts and rnd() < 0.6:
                status, ack_ts, last = "acknowledged", c + ack_after, c + ack_after
                changed_by = assignee.ref
            yield Incident(
                number=i + 1,
                id=store.new_incident_id(),
                created_ts=c,
                service=svc,
                title=title,
                status=status,
                urgency="high" if rnd() < 0.75 else "low",
                priority=prio,
                incident_key=f"{rng.getrandbits(128):032x}",
                assignee=assignee,
                updated_ts=last,
                last_change_ts=last,
                changed_by=changed_by,
                ack_ts=ack_ts,
                resolved_ts=resolved_ts,
            )

    store.bulk_load(build())
    if freeze_clock:
        store.set_now(end_ts)
    return store
