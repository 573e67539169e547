"""Monitor events of both APIs (v2 search, v1 list) → one normalized shape, and alert pairing.

A monitor notifies per (monitor id, group): "[Triggered on {host:a}] …" opens an alert,
"[Re-Triggered …]" renotifies, "[Recovered on {host:a}] …" closes it. Titles are read first;
without a recognizable title the status (v2) or `alert_type` (v1) decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugins.datadog.tasks.common import clip, epoch_ms, parse_time

ALERT, RENOTIFY, RECOVERY, OTHER = "alert", "renotify", "recovery", "other"
NO_GROUP = "*"
_TITLE = re.compile(
    r"^\s*(?:\[P\d\]\s*)?\[(?P<t>[A-Za-z][A-Za-z -]*?)(?: on \{(?P<g>[^}]*)\})?\]\s*(?P<rest>.*)$"
)
_ALERT_STATUSES = {"error", "warning", "alert", "warn", "failure", "critical"}
_RECOVERY_STATUSES = {"success", "ok", "recovered"}


def transition_of(title: str | None, status: str | None) -> str:
    match = _TITLE.match(title or "")
    if match:
        word = match.group("t").strip().lower()
        if "recover" in word:
            return RECOVERY
        if word.startswith("re-") or word.startswith("renotif"):
            return RENOTIFY
        if word in ("triggered", "warn", "alert", "warning"):
            return ALERT
        if "no data" in word:
            return OTHER
    state = (status or "").lower()
    if state in _RECOVERY_STATUSES:
        return RECOVERY
    if state in _ALERT_STATUSES:
        return ALERT
    return OTHER


def _tag(tags: list[Any], key: str) -> str | None:
    prefix = f"{key}:"
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(prefix):
            return tag[len(prefix) :] or None
    return None


def _group_key(groups: Any, title: str | None) -> str:
    if isinstance(groups, list) and groups:
        return clip(",".join(sorted(str(g) for g in groups)), 200) or NO_GROUP
    match = _TITLE.match(title or "")
    if match and match.group("g"):
        return clip(",".join(sorted(p.strip() for p in match.group("g").split(","))), 200) or NO_GROUP
    return NO_GROUP


def _monitor_name(title: str | None, monitor: dict[str, Any]) -> str | None:
    if isinstance(monitor.get("name"), str) and monitor["name"]:
        return str(monitor["name"])
    match = _TITLE.match(title or "")
    return match.group("rest") if match else title


def _priority(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"P{value}"
    return clip(value, 64) if value not in (None, "", "normal", "low") else None


@dataclass(frozen=True)
class MonitorEvent:
    id: str
    monitor_id: int
    group_key: str
    transition: str
    status: str | None
    happened_at: datetime
    title: str | None
    message: str | None
    monitor_name: str | None
    priority: str | None
    tags: list[Any]
    url: str | None

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "monitor_id": self.monitor_id,
            "group_key": self.group_key,
            "transition": self.transition,
            "status": clip(self.status, 64),
            "happened_at": self.happened_at,
            "happened_ms": epoch_ms(self.happened_at),
            "title": self.title,
            "message": self.message,
            "monitor_name": clip(self.monitor_name),
            "priority": self.priority,
            "service": clip(_tag(self.tags, "service")),
            "env": clip(_tag(self.tags, "env")),
            "team": clip(_tag(self.tags, "team")),
            "url": self.url,
        }


def normalize(record: Any) -> MonitorEvent | None:
    """A v2 or v1 event record → MonitorEvent; None for anything that is not a monitor event."""
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("attributes"), dict):
        return _from_v2(record)
    return _from_v1(record)


def _monitor_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _from_v2(record: dict[str, Any]) -> MonitorEvent | None:
    outer = record["attributes"]
    inner = outer.get("attributes") if isinstance(outer.get("attributes"), dict) else {}
    monitor = inner.get("monitor") if isinstance(inner.get("monitor"), dict) else {}
    monitor_id = _monitor_id(inner.get("monitor_id")) or _monitor_id(monitor.get("id"))
    happened = parse_time(outer.get("timestamp")) or parse_time(inner.get("timestamp"))
    if monitor_id is None or happened is None or not record.get("id"):
        return None
    title = inner.get("title") if isinstance(inner.get("title"), str) else None
    tags = outer.get("tags") if isinstance(outer.get("tags"), list) else []
    return MonitorEvent(
        id=str(record["id"]),
        monitor_id=monitor_id,
        group_key=_group_key(inner.get("monitor_groups"), title),
        transition=transition_of(title, inner.get("status")),
        status=inner.get("status"),
        happened_at=happened,
        title=title,
        message=outer.get("message") if isinstance(outer.get("message"), str) else None,
        monitor_name=_monitor_name(title, monitor),
        priority=_priority(monitor.get("priority")),
        tags=tags,
        url=inner.get("url") if isinstance(inner.get("url"), str) else None,
    )


def _from_v1(record: dict[str, Any]) -> MonitorEvent | None:
    monitor_id = _monitor_id(record.get("monitor_id"))
    happened = parse_time(record.get("date_happened"))
    event_id = record.get("id_str") or record.get("id")
    if monitor_id is None or happened is None or event_id in (None, ""):
        return None
    title = record.get("title") if isinstance(record.get("title"), str) else None
    tags = record.get("tags") if isinstance(record.get("tags"), list) else []
    return MonitorEvent(
        id=str(event_id),
        monitor_id=monitor_id,
        group_key=_group_key(record.get("monitor_groups"), title),
        transition=transition_of(title, record.get("alert_type")),
        status=record.get("alert_type"),
        happened_at=happened,
        title=title,
        message=record.get("text") if isinstance(record.get("text"), str) else None,
        monitor_name=_monitor_name(title, {}),
        priority=_priority(record.get("priority")),
        tags=tags,
        url=record.get("url") if isinstance(record.get("url"), str) else None,
    )


@dataclass
class Episode:
    """One incident of a (monitor, group): from its alert to its recovery (or still open)."""

    alert: Any  # a tool row (or anything with the MonitorEvent attributes)
    recovery: Any | None = None


def pair(events: list[Any]) -> list[Episode]:
    """Events of one (monitor, group), in time order → episodes.

    An alert opens an episode; alerts and renotifications while one is open are ignored; a
    recovery closes the open episode (a recovery with none open is ignored). A renotification
    with nothing open (its alert predates the collected range) opens one.
    """
    episodes: list[Episode] = []
    current: Episode | None = None
    for event in events:
        kind = event.transition
        if kind in (ALERT, RENOTIFY):
            if current is None:
                current = Episode(alert=event)
                episodes.append(current)
        elif kind == RECOVERY and current is not None:
            current.recovery = event
            current = None
    return episodes

