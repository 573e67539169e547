"""Deterministic, in-memory Datadog data for the simulator: DORA failures and deployments,
monitor alert events, and the events clients post.

DORA records are kept sorted by (started_at, id) so a time-window query is two bisects, and each
record's JSON is cached so serving a 1000-record page is mostly a byte join. Monitor events are
generated from alert episodes (alert, renotifications, recovery), which are kept as the truth
tests compare against.
"""

from __future__ import annotations

import json
import random
import re
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

NS = 1_000_000_000
MS_NS = 1_000_000
SERVICES = ("checkout", "payments", "search", "catalog", "auth", "frontend")
ENVS = ("production", "production", "production", "staging", "dev")
TEAMS = ("backend", "platform", "web", "data")
SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
WEB = "https://app.datadoghq.com"


def to_ns(value: datetime | int | str) -> int:
    """datetime (naive = UTC), epoch ns, or RFC 3339 → epoch ns."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp()) * NS + value.microsecond * 1000


def ns_to_datetime(ns: int) -> datetime:
    """Epoch ns → naive UTC datetime (µs precision)."""
    return datetime.fromtimestamp(ns // NS, UTC).replace(tzinfo=None, microsecond=(ns % NS) // 1000)


def rfc3339(ns: int) -> str:
    base = datetime.fromtimestamp(ns // NS, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ns % NS:09d}Z"


# --------------------------------------------------------------------------------------------- queries

_TERM = re.compile(r'(-)?@?([\w.-]+):(\([^)]*\)|"[^"]*"|\S+)')


def compile_query(query: str) -> Callable[[dict[str, list[str]]], bool]:
    """Datadog's event-platform syntax, the subset scopes use: `key:value`, `key:(a OR b)`,
    `-key:value`, `*` wildcards, terms ANDed. A record is given as {key: [values]}."""
    terms: list[tuple[bool, str, list[str]]] = []
    for neg, key, raw in _TERM.findall(query or ""):
        if raw.startswith("("):
            values = [v.strip().strip('"') for v in re.split(r"\s+OR\s+", raw[1:-1].strip()) if v.strip()]
        else:
            values = [raw.strip('"')]
        terms.append((bool(neg), key.lower(), [v.lower() for v in values]))

    def match(record: dict[str, list[str]]) -> bool:
        for neg, key, values in terms:
            have = [h.lower() for h in record.get(key, [])]
            hit = any(fnmatchcase(h, v) for h in have for v in values)
            if hit == neg:
                return False
        return True

    return match


# --------------------------------------------------------------------------------------------- DORA records


@dataclass
class DoraRecord:
    """One failure or deployment; `attrs` are Datadog's attributes minus the timestamps."""

    id: str
    kind: str  # failure | deployment
    started_ns: int
    finished_ns: int | None
    attrs: dict[str, Any]
    type: str
    rfc3339: bool = False  # serialize the timestamps as strings instead of int64 ns

    def facets(self) -> dict[str, list[str]]:
        a = self.attrs
        services = a.get("services") or ([a["service"]] if a.get("service") else [])
        out: dict[str, list[str]] = {"service": list(services)}
        for key in ("env", "team", "severity", "version", "name"):
            if a.get(key):
                out[key] = [str(a[key])]
        for tag in a.get("custom_tags") or []:
            k, _, v = tag.partition(":")
            out.setdefault(k.lower(), []).append(v)
        return out

    def to_json(self) -> dict[str, Any]:
        def stamp(ns: int) -> int | str:
            return rfc3339(ns) if self.rfc3339 else ns

        attributes = dict(self.attrs)
        attributes["started_at"] = stamp(self.started_ns)
        if self.finished_ns is not None:
            attributes["finished_at"] = stamp(self.finished_ns)
        return {"id": self.id, "type": self.type, "attributes": attributes}


class DoraTable:
    """Records of one kind sorted by (started_ns, id), with cached JSON."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, str]] = []
        self.by_id: dict[str, DoraRecord] = {}
        self._json: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def put(self, record: DoraRecord) -> None:
        old = self.by_id.get(record.id)
        if old is not None:
            self.keys.pop(bisect_left(self.keys, (old.started_ns, old.id)))
        self.by_id[record.id] = record
        self._json.pop(record.id, None)
        insort(self.keys, (record.started_ns, record.id))

    def bulk_load(self, records: list[DoraRecord]) -> None:
        for r in records:
            self.by_id[r.id] = r
        self.keys = sorted((r.started_ns, r.id) for r in self.by_id.values())
        self._json.clear()

    def touched(self, record_id: str) -> None:
        self._json.pop(record_id, None)

    def encoded(self, record_id: str) -> bytes:
        data = self._json.get(record_id)
        if data is None:
            data = json.dumps(self.by_id[record_id].to_json(), separators=(",", ":")).encode()
            self._json[record_id] = data
        return data

    def query(self, start_ns: int, end_ns: int, query: str, limit: int, descending: bool) -> list[str]:
        """Ids of records started in [start, end) matching `query`, sorted, at most `limit`."""
        lo = bisect_left(self.keys, (start_ns, ""))
        hi = bisect_left(self.keys, (end_ns, ""))
        match = compile_query(query) if query.strip() else None
        positions = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
        out: list[str] = []
        for i in positions:
            rid = self.keys[i][1]
            if match is None or match(self.by_id[rid].facets()):
                out.append(rid)
                if len(out) >= limit:
                    break
        return out


# --------------------------------------------------------------------------------------------- monitors


@dataclass
class MonitorEvent:
    seq: int
    monitor_id: int
    monitor_name: str
    groups: list[str]
    transition: str  # alert | renotify | recovery | warn
    ts_ms: int
    priority: int | None
    tags: list[str]

    @property
    def group_key(self) -> str:
        return ",".join(sorted(self.groups)) or "*"

    @property
    def v2_id(self) -> str:
        return f"AZ{self.seq:020d}"

    def title(self) -> str:
        word = {"alert": "Triggered", "renotify": "Re-Triggered", "recovery": "Recovered", "warn": "Warn"}
        on = f" on {{{','.join(self.groups)}}}" if self.groups else ""
        prefix = f"[P{self.priority}] " if self.priority else ""
        return f"{prefix}[{word[self.transition]}{on}] {self.monitor_name}"

    @property
    def status(self) -> str:
        return {"recovery": "success", "warn": "warning"}.get(self.transition, "error")

    def url(self) -> str:
        return f"{WEB}/monitors/{self.monitor_id}"

    def message(self) -> str:
        return f"{self.monitor_name} is {self.status} for {self.group_key} @slack-oncall"

    def v2(self) -> dict[str, Any]:
        iso = datetime.fromtimestamp(self.ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{self.ts_ms % 1000:03d}Z"
        )
        return {
            "id": self.v2_id,
            "type": "event",
            "attributes": {
                "timestamp": iso,
                "message": self.message(),
                "tags": [*self.tags, "source:alert", f"monitor_id:{self.monitor_id}"],
                "attributes": {
                    "evt": {"id": str(self.seq), "source_id": 36, "type": "query_alert_monitor"},
                    "monitor_id": self.monitor_id,
                    "monitor_groups": list(self.groups),
                    "monitor": {
                        "id": self.monitor_id,
                        "name": self.monitor_name,
                        "priority": self.priority,
                        "tags": list(self.tags),
                    },
                    "status": self.status,
                    "title": self.title(),
                    "timestamp": self.ts_ms,
                    "source_type_name": "Monitor Alert",
                    "url": self.url(),
                },
            },
        }

    def v1(self) -> dict[str, Any]:
        return {
            "id": self.seq,
            "id_str": str(self.seq),
            "date_happened": self.ts_ms // 1000,
            "title": self.title(),
            "text": self.message(),
            "alert_type": self.status,
            "priority": "normal",
            "source_type_name": "Monitor Alert",
            "tags": [*self.tags, f"monitor_id:{self.monitor_id}"],
            "monitor_id": self.monitor_id,
            "monitor_groups": list(self.groups),
            "monitor_group_status": 3 if self.status == "error" else 0,
            "url": f"/event/event?id={self.seq}",
        }


@dataclass
class Episode:
    """The truth for one expected incident: a (monitor, group) alert and its recovery."""

    monitor_id: int
    group_key: str
    alert_ms: int
    recovery_ms: int | None
    name: str


@dataclass
class PostedEvent:
    body: dict[str, Any]
    id: int
    received_at: float


@dataclass
class Store:
    """Everything the simulator serves; thread-safe through `lock`."""

    failures: DoraTable = field(default_factory=DoraTable)
    deployments: DoraTable = field(default_factory=DoraTable)
    events: list[MonitorEvent] = field(default_factory=list)  # sorted by (ts_ms, seq)
    episodes: dict[tuple[int, str, int], Episode] = field(default_factory=dict)
    posted: list[PostedEvent] = field(default_factory=list)
    open_episodes: dict[tuple[int, str], Episode] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    seed: int = 0
    _seq: int = 0
    _rng: random.Random = field(default_factory=random.Random)

    def table(self, kind: str) -> DoraTable:
        return self.failures if kind in ("failure", "failures") else self.deployments

    # -- mutation API (tests, control plane, the intake endpoints) ------------------------------------

    def add_failure(
        self,
        started: datetime | int | str,
        finished: datetime | int | str | None = None,
        *,
        id: str | None = None,
        **attrs: Any,
    ) -> DoraRecord:
        with self.lock:
            rid = id or self._new_id()
            base = {"name": f"failure {rid}", "services": [self._rng.choice(SERVICES)], "env": "production"}
            record = DoraRecord(
                rid, "failure", to_ns(started), None if finished is None else to_ns(finished),
                {**base, **attrs}, "dora_failure",
            )  # fmt: skip
            self.failures.put(record)
            return record

    def finish_failure(self, failure_id: str, finished: datetime | int | str) -> DoraRecord:
        with self.lock:
            record = self.failures.by_id[failure_id]
            record.finished_ns = to_ns(finished)
            self.failures.touched(failure_id)
            return record

    def open_failures(self) -> list[DoraRecord]:
        with self.lock:
            return [r for r in self.failures.by_id.values() if r.finished_ns is None]

    def add_deployment(
        self,
        started: datetime | int | str,
        finished: datetime | int | str,
        *,
        id: str | None = None,
        **attrs: Any,
    ) -> DoraRecord:
        with self.lock:
            rid = id or self._new_id()
            base = {"service": self._rng.choice(SERVICES), "env": "production"}
            record = DoraRecord(
                rid, "deployment", to_ns(started), to_ns(finished), {**base, **attrs}, "dora_deployment"
            )
            self.deployments.put(record)
            return record

    def add_monitor_event(
        self,
        monitor_id: int,
        transition: str,
        at: datetime | int,
        *,
        groups: list[str] | None = None,
        name: str | None = None,
        priority: int | None = None,
        tags: list[str] | None = None,
    ) -> MonitorEvent:
        """Append one notification and keep the episode truth up to date."""
        ts_ms = to_ns(at) // MS_NS
        with self.lock:
            self._seq += 1
            event = MonitorEvent(
                self._seq, monitor_id, name or f"Monitor {monitor_id}", list(groups or []), transition,
                ts_ms, priority, list(tags or ["env:production", "service:checkout", "team:backend"]),
            )  # fmt: skip
            insort(self.events, event, key=lambda e: (e.ts_ms, e.seq))
            self._track(event)
            return event

    def _track(self, event: MonitorEvent) -> None:
        key = (event.monitor_id, event.group_key)
        current = self.open_episodes.get(key)
        if event.transition in ("alert", "warn", "renotify") and current is None:
            episode = Episode(*key, event.ts_ms, None, event.monitor_name)
            self.episodes[(*key, event.ts_ms)] = episode
            self.open_episodes[key] = episode
        elif event.transition == "recovery" and current is not None:
            current.recovery_ms = event.ts_ms
            del self.open_episodes[key]

    def received(self) -> list[dict[str, Any]]:
        """Bodies clients posted to /api/v1/events, oldest first."""
        with self.lock:
            return [p.body for p in self.posted]

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(64):016x}"

    # -- queries --------------------------------------------------------------------------------------

    def events_between(
        self, start_ms: int, end_ms: int, *, end_inclusive: bool = False
    ) -> Iterator[MonitorEvent]:
        with self.lock:
            lo = bisect_left(self.events, start_ms, key=lambda e: e.ts_ms)
            items = self.events[lo:]
        for e in items:
            if e.ts_ms > end_ms or (e.ts_ms == end_ms and not end_inclusive):
                return
            yield e


# --------------------------------------------------------------------------------------------- generation


def generate(
    failures: int = 1000,
    deployments: int = 0,
    *,
    start: datetime,
    end: datetime,
    seed: int = 1,
    monitors: int = 0,
    episodes_per_group: int = 3,
    open_fraction: float = 0.1,
    rfc3339_fraction: float = 0.1,
    incident_type_fraction: float = 0.1,
    services: tuple[str, ...] = SERVICES,
) -> Store:
    """A store with `failures` and `deployments` started uniformly in [start, end) (ms precision),
    and `monitors` monitors of 1-3 groups, each group alerting `episodes_per_group` times."""
    rng = random.Random(seed)
    store = Store(seed=seed, _rng=random.Random(seed + 1))
    lo, hi = to_ns(start) // MS_NS, to_ns(end) // MS_NS
    end_ms = hi
    recs: list[DoraRecord] = []
    for _ in range(failures):
        started = rng.randrange(lo, hi)
        finished: int | None = started + rng.randrange(60_000, 8 * 3_600_000)
        if rng.random() < open_fraction or finished > end_ms:
            finished = None
        svc = [rng.choice(services)] + ([rng.choice(services)] if rng.random() < 0.2 else [])
        attrs: dict[str, Any] = {
            "name": f"{svc[0]} degraded: {rng.choice(('errors', 'latency', 'outage', 'saturation'))}",
            "services": list(dict.fromkeys(svc)),
            "env": rng.choice(ENVS),
            "team": rng.choice(TEAMS),
            "severity": rng.choice(SEVERITIES),
            "version": f"v1.{rng.randrange(50)}.{rng.randrange(10)}",
            "custom_tags": [f"region:{rng.choice(('us-east-1', 'eu-west-1'))}"],
        }
        if rng.random() < 0.8:
            attrs["git"] = {
                "commit_sha": f"{rng.getrandbits(160):040x}",
                "repository_url": f"https://github.com/acme/{svc[0]}",
            }
        kind = "dora_incident" if rng.random() < incident_type_fraction else "dora_failure"
        recs.append(
            DoraRecord(
                f"{rng.getrandbits(64):016x}",
                "failure",
                started * MS_NS,
                None if finished is None else finished * MS_NS,
                attrs,
                kind,
                rng.random() < rfc3339_fraction,
            )
        )
    store.failures.bulk_load(recs)
    deps: list[DoraRecord] = []
    for _ in range(deployments):
        started = rng.randrange(lo, hi)
        svc0 = rng.choice(services)
        attrs = {
            "service": svc0,
            "env": rng.choice(ENVS),
            "team": rng.choice(TEAMS),
            "version": f"v1.{rng.randrange(50)}.{rng.randrange(10)}",
        }
        if rng.random() < 0.9:
            attrs["git"] = {
                "commit_sha": f"{rng.getrandbits(160):040x}",
                "repository_url": f"https://github.com/acme/{svc0}",
            }
        finished = started + rng.randrange(30_000, 1_200_000)
        deps.append(
            DoraRecord(
                f"{rng.getrandbits(64):016x}",
                "deployment",
                started * MS_NS,
                finished * MS_NS,
                attrs,
                "dora_deployment",
                rng.random() < rfc3339_fraction,
            )
        )
    store.deployments.bulk_load(deps)
    _generate_monitors(store, rng, monitors, episodes_per_group, lo, hi, services)
    return store


def _generate_monitors(
    store: Store,
    rng: random.Random,
    monitors: int,
    per_group: int,
    lo: int,
    hi: int,
    services: tuple[str, ...],
) -> None:
    for m in range(monitors):
        monitor_id = 1000 + m
        svc = rng.choice(services)
        name = f"{svc} {rng.choice(('error rate', 'p99 latency', 'CPU', 'disk'))} is high"
        priority = rng.choice((None, 1, 2, 3))
        tags = [f"service:{svc}", f"env:{rng.choice(ENVS)}", f"team:{rng.choice(TEAMS)}"]
        n_groups = rng.randrange(4)
        groups = [[]] if n_groups == 0 else [[f"host:{svc}-{g}"] for g in range(n_groups)]
        span = max(1, (hi - lo) // max(1, per_group))
        for group in groups:
            t = lo + rng.randrange(span // 2 + 1)
            for i in range(per_group):
                if t >= hi:
                    break
                store.add_monitor_event(monitor_id, "alert", t * MS_NS, groups=group, name=name,
                                        priority=priority, tags=tags)  # fmt: skip
                for r in range(rng.randrange(3)):
                    renotify = t + (r + 1) * 600_000
                    if renotify < hi:
                        store.add_monitor_event(monitor_id, "renotify", renotify * MS_NS, groups=group,
                                                name=name, priority=priority, tags=tags)  # fmt: skip
                recovery = t + rng.randrange(1_900_000, 3 * 3_600_000)
                last = i == per_group - 1
                if recovery < hi and not (last and rng.random() < 0.3):
                    store.add_monitor_event(monitor_id, "recovery", recovery * MS_NS, groups=group, name=name,
                                            priority=priority, tags=tags)  # fmt: skip
                t = recovery + rng.randrange(600_000, span + 600_001)
