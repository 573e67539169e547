"""Blueprint request bodies: both DevLake styles, validated into one normalized form.

The current style names `connections: [{pluginName, connectionId, scopes: [{scopeId}]}]`; the
legacy one (DevLake's PagerDuty docs) names `settings: {version, connections: [{plugin,
connectionId, scope: [{entities, options}]}]}`. Both become the current shape, which is what
`blueprints.connections` stores (core/services/connections.py relies on it). A legacy connection
without a scope id collects every scope of the account: it is stored with `scopes: []` and the
plugin's `plan` decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from core.plugin import CamelModel
from core.services.errors import InvalidInput

READ_ONLY = ("id", "createdAt", "updatedAt", "nextRunAt")


def validate_cron(value: str) -> str:
    """`manual` or a 5-field cron expression (UTC), as APScheduler parses it."""
    text = " ".join(value.split())
    if text.lower() == "manual":
        return "manual"
    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(f"not a 5-field cron expression or 'manual': {exc}") from None
    return text


class _Lenient(CamelModel):
    """DevLake clients send extra keys inside connections and scopes (e.g. scopeConfigId)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ScopeRef(_Lenient):
    scope_id: str = Field(min_length=1, max_length=255)

    @field_validator("scope_id", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class ConnectionRef(_Lenient):
    plugin_name: str = Field(min_length=1, max_length=64)
    connection_id: int = Field(ge=1)
    scopes: list[ScopeRef] = Field(default_factory=list)


class NotifyTarget(_Lenient):
    """A connection told when a pipeline of the blueprint finishes (Plugin.notify)."""

    plugin_name: str = Field(min_length=1, max_length=64)
    connection_id: int = Field(ge=1)


class LegacyScope(_Lenient):
    entities: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


class LegacyConnection(_Lenient):
    plugin: str = Field(min_length=1, max_length=64)
    connection_id: int = Field(ge=1)
    scope: list[LegacyScope] = Field(default_factory=list)


class LegacySettings(_Lenient):
    version: str = "1.0.0"
    connections: list[LegacyConnection] = Field(default_factory=list)


class BlueprintBody(CamelModel):
    """The whole editable blueprint; unknown fields are rejected so typos do not pass silently."""

    name: str = Field(min_length=1, max_length=255)
    project_name: str | None = Field(default=None, max_length=255)
    mode: Literal["NORMAL", "ADVANCED"] = "NORMAL"
    plan: Any = None
    connections: list[ConnectionRef] | None = None
    settings: LegacySettings | None = None
    cron_config: str = "manual"
    enable: bool = True
    is_manual: bool | None = None
    skip_on_fail: bool = False
    time_after: datetime | None = None
    full_sync: bool = False
    labels: list[str] = Field(default_factory=list)
    notify: list[NotifyTarget] = Field(default_factory=list)

    @field_validator("cron_config")
    @classmethod
    def _cron(cls, v: str) -> str:
        return validate_cron(v)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("project_name")
    @classmethod
    def _project(cls, v: str | None) -> str | None:
        return v or None

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        cleaned = [label.strip() for label in v]
        if any(not label or len(label) > 255 for label in cleaned):
            raise ValueError("labels must be non-empty strings of at most 255 characters")
        return list(dict.fromkeys(cleaned))


class TriggerBody(CamelModel):
    skip_collectors: bool = False
    full_sync: bool = False


def legacy_to_connections(settings: LegacySettings) -> tuple[list[dict[str, Any]], datetime | None]:
    """Legacy `settings.connections` → normalized connections, plus the earliest `start_date`.

    A scope entry whose options name a `scopeId` selects that scope; otherwise the connection
    collects every scope. Other options (entities, plugin-specific ones) are kept as `options`.
    """
    out: list[dict[str, Any]] = []
    earliest: datetime | None = None
    for i, conn in enumerate(settings.connections):
        scope_ids: list[str] = []
        options: dict[str, Any] = {}
        for j, entry in enumerate(conn.scope):
            opts = dict(entry.options)
            opts.pop("connectionId", None)
            scope_id = opts.pop("scopeId", None)
            if scope_id not in (None, ""):
                scope_ids.append(str(scope_id))
            for key in ("start_date", "startDate", "timeAfter"):
                if opts.get(key):
                    parsed = _parse_time(opts[key])
                    if parsed is None:
                        raise InvalidInput.field(
                            f"settings.connections.{i}.scope.{j}.options.{key}", "not an ISO 8601 time"
                        )
                    if earliest is None or parsed < earliest:
                        earliest = parsed
            if entry.entities:
                options["entities"] = sorted({*options.get("entities", []), *entry.entities})
            options.update(opts)
        item: dict[str, Any] = {
            "pluginName": conn.plugin,
            "connectionId": conn.connection_id,
            "scopes": [{"scopeId": s} for s in dict.fromkeys(scope_ids)],
        }
        if options:
            item["options"] = options
        out.append(item)
    return out, earliest


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
