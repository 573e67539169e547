"""PagerDuty connection, scope and task options."""

from __future__ import annotations

from pydantic import Field, SecretStr

from core.plugin import ConnectionBase, ScopeBase, TaskOptions

DEFAULT_ENDPOINT = "https://api.pagerduty.com"
DEFAULT_RATE_LIMIT = 57_600  # PagerDuty allows 960 requests a minute per API key


class PagerDutyConnection(ConnectionBase):
    endpoint: str | None = DEFAULT_ENDPOINT  # the EU account host (https://api.eu.pagerduty.com) works too
    token: SecretStr = Field(min_length=1)
    rate_limit_per_hour: int | None = DEFAULT_RATE_LIMIT


class PagerDutyScope(ScopeBase):
    """A PagerDuty service."""

    url: str | None = None
    description: str | None = None


class PagerDutyOptions(TaskOptions):
    """Task options: the common ones (connectionId, scopeId, timeAfter — or the legacy
    `start_date` — fullSync)."""
