"""Small pieces the PagerDuty subtasks share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.collect import StateStore, raw_params
from core.plugin import TaskContext


def scope_id(ctx: TaskContext) -> str:
    if ctx.scope is None:
        raise ValueError("a PagerDuty task needs a service (scopeId)")
    return ctx.scope.id


def params_of(ctx: TaskContext) -> str:
    return raw_params(ConnectionId=ctx.connection_id, ScopeId=scope_id(ctx))


def state_of(ctx: TaskContext) -> StateStore:
    return StateStore(ctx.db, "pagerduty", ctx.connection_id, scope_id(ctx))


def parse_time(value: Any) -> datetime | None:
    """PagerDuty timestamps ("2022-11-03T06:23:06.000000Z") → naive UTC; junk → None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def format_time(value: datetime) -> str:
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def incident_prefix(connection_id: int) -> str:
    return f"pagerduty:Incident:{connection_id}:"


def incident_id(connection_id: int, number: int) -> str:
    return f"{incident_prefix(connection_id)}{number}"


def service_board_id(connection_id: int, service: str) -> str:
    return f"pagerduty:Service:{connection_id}:{service}"
