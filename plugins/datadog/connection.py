"""Datadog connection, scope and task options."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from core.plugin import ConnectionBase, ScopeBase, TaskOptions

DEFAULT_ENDPOINT = "https://api.datadoghq.com"
# Datadog's documented per-endpoint budgets are per minute and announced in X-RateLimit-* headers,
# which the client honours; this client-side cap only keeps a burst from using the whole budget.
DEFAULT_RATE_LIMIT = 18_000
SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "ddog-gov.com",
    "us2.ddog-gov.com",
)
_HOST = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}(:\d+)?$", re.IGNORECASE)
Kind = Literal["failures", "deployments", "monitors"]
KINDS: tuple[Kind, ...] = ("failures", "deployments", "monitors")


def site_endpoint(value: str) -> str:
    """A site name ("datadoghq.eu", "app.datadoghq.eu", "us5.datadoghq.com") → its API base URL.

    Full URLs pass through, so a proxy or the simulator can be named directly.
    """
    text = value.strip().rstrip("/")
    if text.startswith(("http://", "https://")):
        return text
    host = text.lower()
    for prefix in ("app.", "api."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    if host in SITES:
        return f"https://api.{host}"
    if _HOST.match(text):
        return f"https://{text}"  # an API host we do not know (a new site, a private gateway)
    return text  # not a URL: the base validator explains what is expected


class DatadogConnection(ConnectionBase):
    endpoint: str | None = DEFAULT_ENDPOINT
    api_key: SecretStr = Field(min_length=1)
    app_key: SecretStr = Field(min_length=1)
    rate_limit_per_hour: int | None = DEFAULT_RATE_LIMIT

    @field_validator("endpoint", mode="before")
    @classmethod
    def _site(cls, value: Any) -> Any:
        return site_endpoint(value) if isinstance(value, str) and value.strip() else value


class DatadogScope(ScopeBase):
    """A named filter in Datadog's event-platform syntax and the kinds of records it collects."""

    query: str = Field(default="", max_length=2000)
    kinds: list[Kind] = Field(default_factory=lambda: ["failures"], min_length=1)

    @field_validator("kinds")
    @classmethod
    def _unique(cls, value: list[Kind]) -> list[Kind]:
        return [k for k in KINDS if k in value]


class DatadogOptions(TaskOptions):
    """Task options beyond the common ones (timeAfter, or the legacy `start_date`, included).

    `lookbackHours`: an incremental run re-reads this much before the previous run, because
    DORA events are often sent late (a failure posted when it is over, with its real start).
    `openLookbackDays`: still-open failures started within this many days are re-read so late
    finishes are picked up. `monitorEventsApi`: v2 (cursor) or v1 (page numbers).
    """

    lookback_hours: float = Field(default=24.0, ge=0, le=24 * 90)
    open_lookback_days: float = Field(default=90.0, ge=0, le=3650)
    monitor_events_api: Literal["v1", "v2"] = "v2"
