"""Small pieces the Datadog subtasks share: scope access, ids, time parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from core.collect import StateStore, raw_params
from core.plugin import TaskContext
from plugins.datadog.connection import DatadogScope, Kind

_DIGITS = re.compile(r"^-?\d+$")


def scope_of(ctx: TaskContext) -> DatadogScope:
    if ctx.scope is None:
        raise ValueError("a Datadog task needs a scope (scopeId)")
    scope = ctx.scope
    if not isinstance(scope, DatadogScope):  # a legacy blueprint naming no saved scope
        scope = DatadogScope.model_validate(scope.model_dump())
    return scope


def wants(ctx: TaskContext, kind: Kind) -> bool:
    """Whether the scope collects this kind of record (subtasks of other kinds return at once)."""
    return kind in scope_of(ctx).kinds


def params_of(ctx: TaskContext) -> str:
    return raw_params(ConnectionId=ctx.connection_id, ScopeId=scope_of(ctx).id)


def state_of(ctx: TaskContext) -> StateStore:
    return StateStore(ctx.db, "datadog", ctx.connection_id, scope_of(ctx).id)


def board_id(connection_id: int, scope: str) -> str:
    return f"datadog:Scope:{connection_id}:{scope}"


def failure_issue_id(connection_id: int, failure: str) -> str:
    return f"datadog:Failure:{connection_id}:{failure}"


def deployment_id(connection_id: int, deployment: str) -> str:
    return f"datadog:Deployment:{connection_id}:{deployment}"


def monitor_incident_id(connection_id: int, monitor: int, group: str, trigger_ms: int) -> str:
    return f"datadog:MonitorIncident:{connection_id}:{monitor}:{group}:{trigger_ms}"


def parse_time(value: Any) -> datetime | None:
    """Datadog timestamps → naive UTC: int64 seconds/ms/µs/ns (numbers or digit strings) or RFC 3339."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _DIGITS.match(text):
            return _from_epoch(int(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    if isinstance(value, int | float):
        return _from_epoch(value)
    return None


def _from_epoch(value: float) -> datetime | None:
    """The unit follows the magnitude: ns > 1e17 > µs > 1e14 > ms > 1e11 > s."""
    magnitude = abs(value)
    if magnitude >= 1e17:
        seconds, micros = divmod(int(value) // 1000, 1_000_000)
    elif magnitude >= 1e14:
        seconds, micros = divmod(int(value), 1_000_000)
    elif magnitude >= 1e11:
        seconds, micros = divmod(int(value * 1000), 1_000_000)
    else:
        seconds, micros = divmod(int(value * 1_000_000), 1_000_000)
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None, microsecond=micros)
    except (OverflowError, OSError, ValueError):
        return None


def epoch_ms(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


ENVIRONMENTS = {
    "prod": "PRODUCTION",
    "production": "PRODUCTION",
    "prd": "PRODUCTION",
    "live": "PRODUCTION",
    "staging": "STAGING",
    "stage": "STAGING",
    "stg": "STAGING",
    "preprod": "STAGING",
    "test": "TESTING",
    "testing": "TESTING",
    "qa": "TESTING",
    "dev": "DEVELOPMENT",
    "development": "DEVELOPMENT",
}


def domain_environment(env: str | None) -> str | None:
    """Datadog's free-form `env` tag → DevLake's PRODUCTION | STAGING | TESTING | DEVELOPMENT."""
    if not env:
        return None
    key = env.strip().lower()
    return ENVIRONMENTS.get(key) or ENVIRONMENTS.get(key.split("-")[0]) or env.strip().upper()[:255]


def lead_time_minutes(created: datetime | None, resolved: datetime | None) -> int | None:
    if created is None or resolved is None or resolved < created:
        return None
    return int((resolved - created).total_seconds() // 60)


def clip(value: Any, size: int = 255) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= size else text[: size - 1] + "…"
