"""The webhook connection (a name; its push key lives hashed in `webhook_api_keys`) and the
one tool table: which incident a pushed Datadog-style event belongs to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime, utcnow
from core.plugin import ConnectionBase, ScopeBase


class WebhookConnection(ConnectionBase):
    """Only a name: pushes need no endpoint, token or rate limit."""


class WebhookScope(ScopeBase):
    """The connection's single scope (`webhook:<connectionId>`): its board and cicd scope."""


class WebhookIncidentKey(Base):
    """Aliases of a pushed incident: `id:<sender id>` and `m:<env|services|started_at hash>`.

    Datadog matches incident events by id, or else by env + service + started_at; both
    aliases point at the key the incident was stored under, so a start event and its
    resolution land on one row whichever of the two identifies it.
    """

    __tablename__ = "_tool_webhook_incident_keys"

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    issue_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
