"""Push keys: random 32-byte tokens shown once; only their SHA-256 is stored
(`webhook_api_keys`), and a key opens only its own connection's routes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.crypto import hash_api_key
from core.db import upsert
from core.logs import register_secret
from core.models import Connection, WebhookApiKey, utcnow
from plugins.webhook.ids import PLUGIN

KEY_BYTES = 32
PREFIX_CHARS = 6
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is advisory; avoid a write per push


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def issue_key(session: Session, connection_id: int) -> str:
    """Create a key for the connection, store its hash, and return it (the only time)."""
    key = new_key()
    now = utcnow()
    upsert(
        session,
        WebhookApiKey,
        [
            {
                "key_hash": hash_api_key(key),
                "connection_id": connection_id,
                "prefix": key[:PREFIX_CHARS],
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    register_secret(key)
    return key


def revoke_keys(session: Session, connection_id: int) -> None:
    session.execute(delete(WebhookApiKey).where(WebhookApiKey.connection_id == connection_id))


def rotate_key(session: Session, connection_id: int) -> str:
    """Replace every key of the connection with a new one."""
    revoke_keys(session, connection_id)
    return issue_key(session, connection_id)


@dataclass(frozen=True)
class KeyOwner:
    """The webhook connection a key opens."""

    id: int
    name: str


def key_owner(session: Session, key: str | None) -> KeyOwner | None:
    """The connection a presented key belongs to (one query), or None for a missing/unknown key."""
    if not key:
        return None
    table, conns = WebhookApiKey.__table__, Connection.__table__
    hashed = hash_api_key(key)
    query = (
        select(table.c.connection_id, table.c.last_used_at, conns.c.name)
        .join(conns, (conns.c.plugin == PLUGIN) & (conns.c.id == table.c.connection_id))
        .where(table.c.key_hash == hashed)
    )
    row = session.connection().execute(query).first()
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        stale = or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - _TOUCH_EVERY)
        session.connection().execute(
            update(table).where(table.c.key_hash == hashed, stale).values(last_used_at=now)
        )
    return KeyOwner(int(row.connection_id), row.name)


def bearer_token(header: str | None) -> str | None:
    """`Authorization: Bearer <key>` → key."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
