"""`pipefake`: a test plugin whose subtasks sleep, write rows, fail and honour cancel on demand.

Knobs come from the task options (ADVANCED plans) or from the scope (NORMAL blueprints):
`batches` x `batchSize` issue rows written by `collectThings` (one upsert per batch, the cancel
flag checked before each), `sleep` seconds per batch, `failIn` (a subtask name) and
`failMarker` (a file path: the subtask fails while it exists, so a rerun can succeed).
Every subtask run is recorded in EVENTS (in-process tests check order and concurrency).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime
from typing import Any, ClassVar

from pydantic import SecretStr

from core.db import upsert
from core.models import Issue
from core.plugin import (
    ConnectionBase,
    PlanContext,
    Plugin,
    ScopeBase,
    Subtask,
    TaskContext,
    TaskOptions,
    TaskSpec,
)

TOKEN = "pipefake-token-0123456789"
EVENTS: list[dict[str, Any]] = []
NOTIFIED: list[tuple[int, dict[str, Any]]] = []
_events_lock = threading.Lock()


class PipeConnection(ConnectionBase):
    endpoint: str | None = "https://pipefake.example.com"
    token: SecretStr


class Knobs(ScopeBase):
    batches: int = 1
    batch_size: int = 5
    sleep: float = 0.0
    fail_in: str | None = None
    fail_marker: str | None = None


class PipeOptions(TaskOptions):
    batches: int | None = None
    batch_size: int | None = None
    sleep: float | None = None
    fail_in: str | None = None
    fail_marker: str | None = None


def knob(ctx: TaskContext, name: str, default: Any = None) -> Any:
    value = getattr(ctx.options, name, None)
    if value is None and ctx.scope is not None:
        value = getattr(ctx.scope, name, None)
    return default if value is None else value


def _record(ctx: TaskContext, subtask: str, start: float) -> None:
    with _events_lock:
        EVENTS.append(
            {
                "scope": ctx.options.scope_id,
                "subtask": subtask,
                "start": start,
                "end": time.monotonic(),
                "fullSync": ctx.full_sync,
            }
        )


def _maybe_fail(ctx: TaskContext, subtask: str) -> None:
    marker = knob(ctx, "fail_marker")
    if knob(ctx, "fail_in", "collectThings" if marker else None) != subtask:
        return
    if marker is None:
        raise RuntimeError(f"{subtask} was told to fail")
    if os.path.exists(marker):
        raise RuntimeError(f"{subtask} fails while {marker} exists")


def collect(ctx: TaskContext) -> None:
    start = time.monotonic()
    batches, size, pause = knob(ctx, "batches", 1), knob(ctx, "batch_size", 5), knob(ctx, "sleep", 0.0)
    ctx.progress.set_total(batches * size)
    scope = ctx.options.scope_id or "none"
    for b in range(batches):
        ctx.check_cancelled()  # a collector checks at each request/batch
        if pause:
            time.sleep(pause)
        ctx.check_cancelled()
        rows = [
            {
                "id": f"pipefake:{ctx.connection_id}:{scope}:{b * size + i}",
                "title": f"thing {b * size + i}",
                "type": "INCIDENT",
                "status": "DONE",
                "created_date": datetime(2024, 1, 1),
                "original_project": scope,
            }
            for i in range(size)
        ]
        with ctx.db.session() as s:  # one batch, one transaction: never half-written
            upsert(s, Issue, rows)
        ctx.progress.advance(size, records=size)
    _maybe_fail(ctx, "collectThings")
    _record(ctx, "collectThings", start)


def extract(ctx: TaskContext) -> None:
    start = time.monotonic()
    _maybe_fail(ctx, "extractThings")
    _record(ctx, "extractThings", start)


def convert(ctx: TaskContext) -> None:
    start = time.monotonic()
    _maybe_fail(ctx, "convertThings")
    _record(ctx, "convertThings", start)


class PipeFakePlugin(Plugin):
    name = "pipefake"
    description = "pipeline test double"
    connection_model = PipeConnection
    scope_model = Knobs
    options_model = PipeOptions
    subtasks: ClassVar[list[Subtask]] = [
        Subtask("collectThings", collect, "collect"),
        Subtask("extractThings", extract, "extract"),
        Subtask("convertThings", convert, "convert"),
    ]

    def test_connection(self, connection: ConnectionBase) -> str:
        return "ok"

    def plan(self, ctx: PlanContext) -> list[TaskSpec]:
        scopes = ctx.scopes or [Knobs(id="all")]  # a legacy "everything" connection: one task
        specs = []
        for scope in scopes:
            options: dict[str, Any] = {"connectionId": ctx.connection_id, "scopeId": scope.id}
            if ctx.time_after:
                options["timeAfter"] = ctx.time_after.isoformat()
            if ctx.full_sync:
                options["fullSync"] = True
            specs.append(TaskSpec(plugin=self.name, options=options))
        return specs

    def project_scopes(self, connection_id: int, scope: ScopeBase) -> list[tuple[str, str]]:
        return [("boards", f"pipefake:{connection_id}:{scope.id}")]

    def notify(self, connection_id: int, connection: ConnectionBase, event: dict[str, Any]) -> None:
        NOTIFIED.append((connection_id, event))
        if connection.name == "explodes":
            raise RuntimeError("notification endpoint down")


class FakeDoraPlugin(Plugin):
    """Stands in for the builtin `dora` task so tests do not depend on the DORA stage."""

    name = "dora"
    connection_model = ConnectionBase
    subtasks: ClassVar[list[Subtask]] = [
        Subtask("computeDora", lambda ctx: _record(ctx, "dora", time.monotonic()), "other")
    ]


plugin = PipeFakePlugin()
