"""Pipelines and tasks in the database: every state change is one conditional statement.

The database is the source of truth shared by servers, CLI runs and Celery workers, so state
transitions are guarded UPDATEs (`... WHERE status IN (...)`) rather than read-modify-write, and
the two run-exclusivity rules are constraints: UNIQUE(blueprint_id, fire_time) on pipelines and
the primary key of `blueprint_locks` (one unfinished pipeline per blueprint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Database
from core.models import Pipeline, Task, utcnow
from core.pipeline import status as st
from core.pipeline.models import BlueprintLock, PipelineLabel
from core.services.errors import Conflict, InvalidInput, NotFound

Plan = list[list[dict[str, Any]]]


class BlueprintBusy(Conflict):
    """The blueprint already has an unfinished pipeline: a second run is refused, not queued."""

    def __init__(self, blueprint_id: int, holder: int | None) -> None:
        where = f"pipeline {holder}" if holder else "another pipeline"
        super().__init__(
            f"blueprint {blueprint_id} is already running ({where}); wait for it to finish or cancel it",
            causes=[{"field": "blueprintId", "message": f"already running as {where}"}],
        )
        self.blueprint_id = blueprint_id
        self.holder = holder


class DuplicateFire(Exception):
    """Another scheduler already created the pipeline of this (blueprint, fire time)."""


@dataclass
class NewPipeline:
    name: str
    plan: Plan
    blueprint_id: int | None = None
    trigger: str = "manual"  # manual | cron | cli
    fire_time: datetime | None = None
    skip_on_fail: bool = False
    full_sync: bool = False
    skip_collectors: bool = False
    labels: list[str] = field(default_factory=list)
    runner_id: str | None = None  # who submits it to an executor (None: any live runner adopts it)


def latest_tasks(s: Session, pipeline_id: int) -> list[Task]:
    """The current attempt of every (row, col): reruns add rows, the newest one counts."""
    rows = s.scalars(
        select(Task)
        .where(Task.pipeline_id == pipeline_id)
        .order_by(Task.pipeline_row, Task.pipeline_col, Task.id)
    )
    latest: dict[tuple[int, int], Task] = {}
    for t in rows:
        latest[(t.pipeline_row, t.pipeline_col)] = t
    return list(latest.values())


class PipelineStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- creation ------------------------------------------------------------------------------
    def create(self, new: NewPipeline) -> Pipeline:
        """Insert the pipeline, its tasks, labels and the blueprint lock in one transaction."""
        total = sum(len(stage) for stage in new.plan)
        try:
            with self.db.session() as s:
                p = Pipeline(
                    name=new.name,
                    blueprint_id=new.blueprint_id,
                    fire_time=new.fire_time,
                    trigger=new.trigger,
                    plan=new.plan,
                    status=st.CREATED,
                    stage=0,
                    total_tasks=total,
                    finished_tasks=0,
                    skip_on_fail=new.skip_on_fail,
                    full_sync=new.full_sync,
                    skip_collectors=new.skip_collectors,
                    labels=list(new.labels),
                    cancel_requested=False,
                    runner_id=new.runner_id,
                )
                s.add(p)
                s.flush()
                if new.blueprint_id is not None:
                    s.add(BlueprintLock(blueprint_id=new.blueprint_id, pipeline_id=p.id))
                    s.flush()
                for row, stage in enumerate(new.plan, start=1):
                    for col, spec in enumerate(stage, start=1):
                        s.add(_task_row(p.id, row, col, spec))
                for label in dict.fromkeys(new.labels):
                    s.add(PipelineLabel(pipeline_id=p.id, name=label))
                return p
        except IntegrityError:
            if new.blueprint_id is None:
                raise
            if new.fire_time is not None and self._fired(new.blueprint_id, new.fire_time):
                raise DuplicateFire(f"blueprint {new.blueprint_id} at {new.fire_time}") from None
            raise BlueprintBusy(new.blueprint_id, self.lock_holder(new.blueprint_id)) from None

    def _fired(self, blueprint_id: int, fire_time: datetime) -> bool:
        with self.db.session() as s:
            q = select(Pipeline.id).where(
                Pipeline.blueprint_id == blueprint_id, Pipeline.fire_time == fire_time
            )
            return s.scalar(q) is not None

    def lock_holder(self, blueprint_id: int) -> int | None:
        with self.db.session() as s:
            return s.scalar(
                select(BlueprintLock.pipeline_id).where(BlueprintLock.blueprint_id == blueprint_id)
            )

    # -- reading -------------------------------------------------------------------------------
    def get(self, pipeline_id: int) -> Pipeline:
        with self.db.session() as s:
            p = s.get(Pipeline, pipeline_id)
            if p is None:
                raise NotFound(f"pipeline {pipeline_id} not found")
            return p

    def tasks(self, pipeline_id: int) -> list[Task]:
        with self.db.session() as s:
            return latest_tasks(s, pipeline_id)

    def cancel_requested(self, pipeline_id: int) -> bool:
        with self.db.session() as s:
            return bool(s.scalar(select(Pipeline.cancel_requested).where(Pipeline.id == pipeline_id)))

    # -- running -------------------------------------------------------------------------------
    def claim(self, pipeline_id: int, runner_id: str) -> bool:
        """Take a waiting pipeline for this runner; exactly one claimant wins."""
        now = utcnow()
        with self.db.session() as s:
            won = s.execute(
                update(Pipeline)
                .where(
                    Pipeline.id == pipeline_id,
                    Pipeline.status.in_(st.WAITING),
                    Pipeline.cancel_requested.is_(False),
                )
                .values(
                    status=st.RUNNING,
                    runner_id=runner_id,
                    began_at=now,
                    finished_at=None,
                    spent_seconds=None,
                    message=None,
                    error_name=None,
                )
            ).rowcount
            return won == 1

    def adopt(self, pipeline_id: int, old_runner: str | None, runner_id: str) -> bool:
        """Become the submitter of a waiting pipeline whose submitter is gone."""
        cond = Pipeline.runner_id.is_(None) if old_runner is None else Pipeline.runner_id == old_runner
        with self.db.session() as s:
            return (
                s.execute(
                    update(Pipeline)
                    .where(Pipeline.id == pipeline_id, Pipeline.status.in_(st.WAITING), cond)
                    .values(runner_id=runner_id)
                ).rowcount
                == 1
            )

    def set_stage(self, pipeline_id: int, stage: int) -> None:
        with self.db.session() as s:
            s.execute(update(Pipeline).where(Pipeline.id == pipeline_id).values(stage=stage))

    def task_started(self, task_id: int, subtask_count: int) -> None:
        with self.db.session() as s:
            s.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(
                    status=st.RUNNING,
                    began_at=utcnow(),
                    progress=0.0,
                    progress_detail={"totalSubTasks": subtask_count, "finishedSubTasks": 0},
                )
            )

    def task_progress(self, progress: dict[int, tuple[float, dict[str, Any]]]) -> None:
        if not progress:
            return
        with self.db.session() as s:
            for task_id, (value, detail) in progress.items():
                s.execute(
                    update(Task)
                    .where(Task.id == task_id, Task.status == st.RUNNING)
                    .values(progress=value, progress_detail=detail)
                )

    def task_finished(
        self,
        task_id: int,
        status: str,
        *,
        message: str | None = None,
        error_name: str | None = None,
        failed_sub_task: str | None = None,
        progress: tuple[float, dict[str, Any]] | None = None,
    ) -> None:
        now = utcnow()
        with self.db.session() as s:
            task = s.get(Task, task_id)
            if task is None:
                return
            task.status = status
            task.message = message
            task.error_name = error_name
            task.failed_sub_task = failed_sub_task
            task.finished_at = now
            task.spent_seconds = _spent(task.began_at, now)
            if progress is not None:
                task.progress, task.progress_detail = progress

    def mark_tasks(self, task_ids: list[int], status: str, message: str | None = None) -> None:
        if not task_ids:
            return
        with self.db.session() as s:
            s.execute(update(Task).where(Task.id.in_(task_ids)).values(status=status, message=message))

    def count_completed(self, pipeline_id: int) -> int:
        with self.db.session() as s:
            done = sum(1 for t in latest_tasks(s, pipeline_id) if t.status == st.COMPLETED)
            s.execute(update(Pipeline).where(Pipeline.id == pipeline_id).values(finished_tasks=done))
            return done

    def finish(
        self, pipeline_id: int, status: str, *, message: str | None = None, error_name: str | None = None
    ) -> None:
        """Final state, timings and counts; releases the blueprint lock in the same transaction."""
        now = utcnow()
        with self.db.session() as s:
            p = s.get(Pipeline, pipeline_id)
            if p is None:
                return
            p.status, p.message, p.error_name = status, message, error_name
            p.finished_at = now
            p.spent_seconds = _spent(p.began_at, now)
            p.cancel_requested = False
            p.finished_tasks = sum(1 for t in latest_tasks(s, pipeline_id) if t.status == st.COMPLETED)
            s.execute(delete(BlueprintLock).where(BlueprintLock.pipeline_id == pipeline_id))

    # -- operator actions ------------------------------------------------------------------------
    def request_cancel(self, pipeline_id: int) -> Pipeline:
        """Flag a running pipeline (its runner polls the flag); cancel a waiting one outright."""
        p = self.get(pipeline_id)
        if p.status in st.FINISHED:
            raise Conflict(f"pipeline {pipeline_id} already finished ({p.status}); nothing to cancel")
        with self.db.session() as s:
            s.execute(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id, Pipeline.status.in_(st.ACTIVE))
                .values(cancel_requested=True)
            )
        now = utcnow()
        with self.db.session() as s:
            stopped = s.execute(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id, Pipeline.status.in_(st.WAITING))
                .values(status=st.CANCELLED, finished_at=now, message="cancelled before it started")
            ).rowcount
            if stopped:
                pending = [t.id for t in latest_tasks(s, pipeline_id) if t.status in st.ACTIVE]
                if pending:
                    s.execute(update(Task).where(Task.id.in_(pending)).values(status=st.CANCELLED))
                s.execute(delete(BlueprintLock).where(BlueprintLock.pipeline_id == pipeline_id))
        return self.get(pipeline_id)

    def prepare_rerun(self, pipeline_id: int, runner_id: str | None) -> Pipeline:
        """DevLake's rerun: new attempts of every task that did not complete, in the same pipeline."""
        p = self.get(pipeline_id)
        if p.status in st.ACTIVE:
            raise Conflict(f"pipeline {pipeline_id} is {p.status}; rerun it once it has finished")
        try:
            with self.db.session() as s:
                todo = [t for t in latest_tasks(s, pipeline_id) if t.status != st.COMPLETED]
                if not todo:
                    raise InvalidInput(f"pipeline {pipeline_id}: every task completed; nothing to rerun")
                if p.blueprint_id is not None:
                    s.add(BlueprintLock(blueprint_id=p.blueprint_id, pipeline_id=pipeline_id))
                    s.flush()
                moved = s.execute(
                    update(Pipeline)
                    .where(Pipeline.id == pipeline_id, Pipeline.status == p.status)
                    .values(
                        status=st.RERUN,
                        cancel_requested=False,
                        finished_at=None,
                        spent_seconds=None,
                        message=None,
                        error_name=None,
                        runner_id=runner_id,
                    )
                ).rowcount
                if moved != 1:
                    raise Conflict(f"pipeline {pipeline_id} changed meanwhile; try again")
                for t in todo:
                    spec = {"plugin": t.plugin, "options": t.options, "subtasks": t.subtasks}
                    s.add(_task_row(pipeline_id, t.pipeline_row, t.pipeline_col, spec))
        except IntegrityError:
            assert p.blueprint_id is not None
            raise BlueprintBusy(p.blueprint_id, self.lock_holder(p.blueprint_id)) from None
        return self.get(pipeline_id)

    def fail_lost(self, pipeline_id: int, runner_id: str | None, message: str) -> bool:
        """Mark a RUNNING pipeline of a dead runner FAILED (and its running tasks)."""
        cond = Pipeline.runner_id.is_(None) if runner_id is None else Pipeline.runner_id == runner_id
        now = utcnow()
        with self.db.session() as s:
            p = s.get(Pipeline, pipeline_id)
            if p is None:
                return False
            won = s.execute(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id, Pipeline.status == st.RUNNING, cond)
                .values(
                    status=st.FAILED,
                    message=message,
                    error_name="RunnerLost",
                    finished_at=now,
                    spent_seconds=_spent(p.began_at, now),
                    cancel_requested=False,
                )
            ).rowcount
            if not won:
                return False
            for t in latest_tasks(s, pipeline_id):
                if t.status == st.RUNNING:
                    t.status, t.message, t.error_name = st.FAILED, message, "RunnerLost"
                    t.finished_at, t.spent_seconds = now, _spent(t.began_at, now)
            s.execute(delete(BlueprintLock).where(BlueprintLock.pipeline_id == pipeline_id))
            return True

    def waiting(self) -> list[tuple[int, str | None, datetime]]:
        with self.db.session() as s:
            rows = s.execute(
                select(Pipeline.id, Pipeline.runner_id, Pipeline.updated_at).where(
                    Pipeline.status.in_(st.WAITING)
                )
            )
            return [(r[0], r[1], r[2]) for r in rows]

    def running(self) -> list[tuple[int, str | None]]:
        with self.db.session() as s:
            rows = s.execute(select(Pipeline.id, Pipeline.runner_id).where(Pipeline.status == st.RUNNING))
            return [(r[0], r[1]) for r in rows]

    def count(self, *conditions: Any) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Pipeline).where(*conditions)) or 0


def _task_row(pipeline_id: int, row: int, col: int, spec: dict[str, Any]) -> Task:
    return Task(
        pipeline_id=pipeline_id,
        pipeline_row=row,
        pipeline_col=col,
        plugin=spec["plugin"],
        options=dict(spec.get("options") or {}),
        subtasks=spec.get("subtasks"),
        status=st.CREATED,
        progress=0.0,
    )


def _spent(began: datetime | None, ended: datetime) -> float | None:
    return round((ended - began).total_seconds(), 3) if began else None
