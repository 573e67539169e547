"""Which stored incident a Datadog-style event belongs to.

Datadog matches incident events by `id`, or else by env + service + started_at. Each
incident has two aliases in `_tool_webhook_incident_keys`: `id:<id>` (when the sender gave
one) and `m:<hash of env|services|started_at>`. Aliases are inserted before they are read
back, so concurrent events for one incident wait on the same alias row (MySQL) or run one
after another (SQLite) and agree on one key: 50 identical events leave one row.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import upsert
from plugins.webhook import ids
from plugins.webhook.models import WebhookIncidentKey
from plugins.webhook.schemas.datadog import FailureAttributes
from plugins.webhook.timestamps import epoch_millis


def match_identity(attrs: FailureAttributes) -> list[object]:
    """env + services + started_at (ms: what both backends store), as Datadog matches."""
    services = sorted(attrs.services or [])
    return [attrs.env or "", services or ["team:" + (attrs.team or "")], epoch_millis(attrs.started_at)]


def match_alias(attrs: FailureAttributes) -> str:
    digest = hashlib.sha256(repr(match_identity(attrs)).encode()).hexdigest()[:48]
    return f"m:{digest}"


def generated_key(connection_id: int, attrs: FailureAttributes) -> str:
    """The UUID an event without id gets: the same for the same env/services/started_at."""
    return ids.generated_key(connection_id, *match_identity(attrs))


def resolve(session: Session, connection_id: int, attrs: FailureAttributes) -> str:
    """The key the event's incident is stored under (creating its aliases if new)."""
    by_id = f"id:{attrs.id}" if attrs.id else None
    if by_id:
        known = _target(session, connection_id, by_id)
        if known is not None:
            _claim(session, connection_id, match_alias(attrs), known)
            return known
    generated = generated_key(connection_id, attrs)
    matched = _claim(session, connection_id, match_alias(attrs), attrs.id or generated)
    if by_id is None:
        return matched
    # An event with an id adopts an incident first stored without one (same env, service and
    # start); an incident already claimed by another id stays that one's.
    candidate = matched if matched == generated else str(attrs.id)
    return _claim(session, connection_id, by_id, candidate)


def _claim(session: Session, connection_id: int, alias: str, key: str) -> str:
    """Insert alias → key unless the alias exists; return what the alias points at."""
    upsert(
        session,
        WebhookIncidentKey,
        [{"connection_id": connection_id, "alias": alias, "issue_key": key}],
        update=[],
    )
    found = _target(session, connection_id, alias)
    return found if found is not None else key


def _target(session: Session, connection_id: int, alias: str) -> str | None:
    table = WebhookIncidentKey.__table__
    query = select(table.c.issue_key).where(table.c.connection_id == connection_id, table.c.alias == alias)
    return session.connection().execute(query).scalar()
