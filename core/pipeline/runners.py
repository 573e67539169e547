"""Who runs pipelines: each process registers itself and heartbeats, so a crash is detectable.

A runner is alive while its row exists and, on this host, its process (pid + start time, against
pid reuse) exists; on another host, while its heartbeat is recent. Two live servers therefore
never fail each other's pipelines, and a killed one is recognised at once by its neighbour on
the same machine, or after `stale_after` seconds by servers elsewhere.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import psutil
from sqlalchemy import delete, select, update

from core.db import Database
from core.models import utcnow
from core.pipeline.models import RunnerRecord

log = logging.getLogger("incidentlake.pipeline")

HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0


def _process_started(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


@dataclass(frozen=True)
class RunnerIdentity:
    id: str
    kind: str
    hostname: str
    pid: int
    process_started: float

    @classmethod
    def new(cls, kind: str) -> RunnerIdentity:
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{host}:{pid}:{uuid.uuid4().hex[:10]}", kind, host, pid, _process_started(pid))


def is_alive(row: RunnerRecord | None, *, stale_after: float = STALE_AFTER_SECONDS) -> bool:
    """Whether the runner of that row can still be working on its pipelines."""
    if row is None:
        return False  # unregistered on a clean stop, or never registered
    if utcnow() - row.heartbeat_at > timedelta(seconds=stale_after):
        return False
    if row.hostname == socket.gethostname():
        return psutil.pid_exists(row.pid) and abs(_process_started(row.pid) - row.process_started) < 1.0
    return True


class RunnerRegistration:
    """Registers a runner row and keeps its heartbeat fresh from a daemon thread."""

    def __init__(
        self, db: Database, identity: RunnerIdentity, *, interval: float = HEARTBEAT_SECONDS
    ) -> None:
        self.db = db
        self.identity = identity
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._write_row()
        self._thread = threading.Thread(
            target=self._loop, name=f"heartbeat-{self.identity.kind}", daemon=True
        )
        self._thread.start()

    def beat(self) -> None:
        with self.db.session() as s:
            updated = s.execute(
                update(RunnerRecord).where(RunnerRecord.id == self.identity.id).values(heartbeat_at=utcnow())
            ).rowcount
        if not updated:  # removed by an operator or a neighbour that thought us dead: re-register
            log.warning("runner row %s vanished; registering again", self.identity.id)
            self._write_row()

    def _write_row(self) -> None:
        ident, now = self.identity, utcnow()
        with self.db.session() as s:
            s.merge(
                RunnerRecord(
                    id=ident.id,
                    kind=ident.kind,
                    hostname=ident.hostname,
                    pid=ident.pid,
                    process_started=ident.process_started,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # a database hiccup must not kill the heartbeat
                log.warning("heartbeat of %s failed: %s", self.identity.id, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with self.db.session() as s:
                s.execute(delete(RunnerRecord).where(RunnerRecord.id == self.identity.id))
        except Exception as exc:
            log.warning("could not unregister runner %s: %s", self.identity.id, exc)


def live_runner_ids(db: Database, *, stale_after: float = STALE_AFTER_SECONDS) -> set[str]:
    with db.session() as s:
        rows = list(s.scalars(select(RunnerRecord)))
    return {r.id for r in rows if is_alive(r, stale_after=stale_after)}


def prune_dead_runners(db: Database, *, stale_after: float = STALE_AFTER_SECONDS) -> None:
    """Forget rows of runners that are gone, so the table lists live processes only."""
    with db.session() as s:
        rows = list(s.scalars(select(RunnerRecord)))
        dead = [r.id for r in rows if not is_alive(r, stale_after=stale_after)]
        if dead:
            s.execute(delete(RunnerRecord).where(RunnerRecord.id.in_(dead)))
