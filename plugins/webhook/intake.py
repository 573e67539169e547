"""The push intake: authenticate, validate, write, all in one transaction per request.

Called by the routes (in a worker thread); every outcome other than success is an
`IntakeError` the route words in its API's style. Writes go through `core.db.upsert` on
deterministic ids, so repeats and concurrent duplicates collapse into one row; a
transaction that loses a lock conflict is run again whole (`retry_on_deadlock`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core.db import Database, is_lock_conflict, retry_on_deadlock, upsert
from core.models import (
    Board,
    BoardIssue,
    CicdDeployment,
    CicdDeploymentCommit,
    CicdScope,
    Connection,
    Issue,
    utcnow,
)
from plugins.webhook import ids, incident_keys, keys, rows
from plugins.webhook.errors import IntakeError, bad_field, from_validation
from plugins.webhook.schemas.datadog import DeploymentRequest, FailureRequest
from plugins.webhook.schemas.devlake import DeploymentBody, IssueBody
from plugins.webhook.timestamps import epoch_millis

log = logging.getLogger("incidentlake.webhook")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
MAX_KEY = 200


@dataclass(frozen=True)
class ConnectionRef:
    """A connection as a route names it: by id, or by name (DevLake's `by-name` routes)."""

    id: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        return f"webhook connection {self.id if self.id is not None else repr(self.name)}"


def parse_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type the sender set (curl -d sets a form type)."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        raise bad_field((), "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_field((), "body must be a JSON object")
    return data


def validate(model: type[M], raw: bytes) -> M:
    try:
        return model.model_validate(parse_object(raw))
    except ValidationError as exc:
        raise from_validation(exc) from None


@dataclass(frozen=True)
class Target:
    """The connection a push writes for."""

    id: int
    name: str


Connections: Table = Connection.__table__  # type: ignore[assignment]


def _connection(s: Session, where: ColumnElement[bool]) -> Target | None:
    # Core statements on the session's connection: the ORM layer costs more than the query
    query = select(Connections.c.id, Connections.c.name).where(Connections.c.plugin == ids.PLUGIN, where)
    row = s.connection().execute(query).first()
    return Target(int(row.id), row.name) if row is not None else None


def _exists(s: Session, table: Any, row_id: str) -> bool:
    return s.connection().execute(select(table.c.id).where(table.c.id == row_id)).first() is not None


class PushIntake:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- DevLake webhook ------------------------------------------------------------------
    def post_issue(self, ref: ConnectionRef, key: str | None, raw: bytes) -> dict[str, Any]:
        def work(s: Session) -> dict[str, Any]:
            conn = self._devlake_connection(s, ref, key)
            body = validate(IssueBody, raw)
            row = rows.devlake_issue(conn.id, body)
            self._ensure_board(s, conn)
            upsert(s, Issue, [row])
            upsert(s, BoardIssue, [{"board_id": ids.scope_id(conn.id), "issue_id": row["id"]}], update=[])
            return {"success": True, "id": row["id"]}

        return self._transaction(work)

    def close_issue(self, ref: ConnectionRef, key: str | None, issue_key: str) -> dict[str, Any]:
        def work(s: Session) -> dict[str, Any]:
            conn = self._devlake_connection(s, ref, key)
            if len(issue_key) > MAX_KEY:
                raise IntakeError(404, f"issue {issue_key[:40]!r}… not found in {ref}")
            issue_id = ids.issue_id(conn.id, issue_key)
            issues = Issue.__table__
            found = (
                s.connection()
                .execute(
                    select(
                        issues.c.id,
                        issues.c.created_date,
                        issues.c.resolution_date,
                        issues.c.lead_time_minutes,
                    ).where(issues.c.id == issue_id)
                )
                .first()
            )
            if found is None:
                raise IntakeError(404, f"issue {issue_key!r} not found in {ref}")
            change = rows.closed_issue(found._asdict(), utcnow())
            upsert(s, Issue, change.rows, update=change.update)
            return {"success": True, "id": issue_id}

        return self._transaction(work)

    def post_deployment(self, ref: ConnectionRef, key: str | None, raw: bytes) -> dict[str, Any]:
        def work(s: Session) -> dict[str, Any]:
            conn = self._devlake_connection(s, ref, key)
            body = validate(DeploymentBody, raw)
            deployment, commits = rows.devlake_deployment(conn.id, body)
            self._write_deployment(s, conn, deployment, commits)
            return {"success": True, "id": deployment.rows[0]["id"]}

        return self._transaction(work)

    # -- Datadog DORA ---------------------------------------------------------------------
    def post_failure(self, key: str | None, raw: bytes, kind: str) -> dict[str, Any]:
        """`kind` is the event type stored as the issue's original type (dora_failure/incident)."""

        def work(s: Session) -> dict[str, Any]:
            conn = self._datadog_connection(s, key)
            attrs = validate(FailureRequest, raw).data.attributes
            issue_key = incident_keys.resolve(s, conn.id, attrs)
            change = rows.datadog_failure(conn.id, issue_key, attrs, kind)
            self._ensure_board(s, conn)
            upsert(s, Issue, change.rows, update=change.update)
            upsert(
                s,
                BoardIssue,
                [{"board_id": ids.scope_id(conn.id), "issue_id": change.rows[0]["id"]}],
                update=[],
            )
            return {"data": {"id": attrs.id or issue_key, "type": "dora_failure"}}

        return self._transaction(work)

    def post_dora_deployment(self, key: str | None, raw: bytes) -> dict[str, Any]:
        def work(s: Session) -> dict[str, Any]:
            conn = self._datadog_connection(s, key)
            attrs = validate(DeploymentRequest, raw).data.attributes
            deployment_key = attrs.id or ids.generated_key(
                conn.id, attrs.env or "", attrs.service, epoch_millis(attrs.started_at)
            )
            deployment, commits = rows.datadog_deployment(conn.id, deployment_key, attrs)
            self._write_deployment(s, conn, deployment, commits)
            return {"data": {"id": deployment_key, "type": "dora_deployment"}}

        return self._transaction(work)

    # -- internals ------------------------------------------------------------------------
    def _transaction(self, work: Callable[[Session], T]) -> T:
        def attempt() -> T:
            with self.db.session() as s:
                return work(s)

        try:
            return retry_on_deadlock(attempt)
        except DataError as exc:
            log.warning("webhook push refused by the database: %s", exc.orig)
            raise IntakeError(400, "a value does not fit its database column") from None
        except IntegrityError as exc:
            log.warning("webhook push conflicted: %s", exc.orig)
            raise IntakeError(409, "the push conflicted with stored data; send it again") from None
        except OperationalError as exc:
            if is_lock_conflict(exc):
                raise IntakeError(503, "the database is busy; send the push again") from None
            log.error("webhook push failed on the database: %s", exc.orig)
            raise IntakeError(503, "the database is unavailable; send the push again later") from None

    def _devlake_connection(self, s: Session, ref: ConnectionRef, key: str | None) -> Target:
        owner = keys.key_owner(s, key)
        if owner is None:
            raise IntakeError(401, "missing or invalid webhook API key (Authorization: Bearer <key>)")
        if ref.id is not None:
            if ref.id != owner.id:
                raise IntakeError(401, f"this API key does not belong to {ref}")
            return Target(owner.id, owner.name)
        found = _connection(s, Connections.c.name == ref.name)
        if found is None:
            raise IntakeError(404, f"{ref} not found")
        if found.id != owner.id:
            raise IntakeError(401, f"this API key does not belong to {ref}")
        return found

    def _datadog_connection(self, s: Session, key: str | None) -> Target:
        owner = keys.key_owner(s, key)
        if owner is None:
            raise IntakeError(403, "missing or invalid DD-API-KEY")
        return Target(owner.id, owner.name)

    def _ensure_board(self, s: Session, conn: Target) -> None:
        board = ids.scope_id(conn.id)
        if not _exists(s, Board.__table__, board):
            upsert(s, Board, [{"id": board, "name": conn.name, **rows.provenance(conn.id)}], update=[])

    def _write_deployment(
        self, s: Session, conn: Target, deployment: rows.Upsert, commits: rows.Upsert
    ) -> None:
        scope = ids.scope_id(conn.id)
        if not _exists(s, CicdScope.__table__, scope):
            upsert(s, CicdScope, [{"id": scope, "name": conn.name, **rows.provenance(conn.id)}], update=[])
        upsert(s, CicdDeployment, deployment.rows, update=deployment.update)
        upsert(s, CicdDeploymentCommit, commits.rows, update=commits.update)
