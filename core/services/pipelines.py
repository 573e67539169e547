"""Pipelines and their tasks as operators see them: list, inspect, cancel, rerun.

Starting a pipeline writes it (status TASK_CREATED) and hands its id to the executor attached
by the running service; with no executor attached (an API-only process), any live runner's
sweep adopts it. See core/pipeline/ for the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from core.db import Database
from core.models import Pipeline, Task
from core.pipeline import status as st
from core.pipeline.models import PipelineLabel
from core.pipeline.runner import signal_cancel
from core.pipeline.store import NewPipeline, PipelineStore
from core.services.blueprints import iso
from core.services.errors import InvalidInput, NotFound


class PipelineService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = PipelineStore(db)
        self.runner_id: str | None = None
        self._submit: Callable[[int], None] | None = None

    def attach(self, runner_id: str, submit: Callable[[int], None]) -> None:
        """Called by the runtime that will run what this service starts."""
        self.runner_id, self._submit = runner_id, submit

    def detach(self) -> None:
        self.runner_id, self._submit = None, None

    # -- starting ------------------------------------------------------------------------------
    def start(self, new: NewPipeline) -> Pipeline:
        new.runner_id = self.runner_id
        pipeline = self.store.create(new)
        self._dispatch(pipeline.id)
        return pipeline

    def rerun(self, pipeline_id: int) -> Pipeline:
        pipeline = self.store.prepare_rerun(pipeline_id, self.runner_id)
        self._dispatch(pipeline_id)
        return pipeline

    def cancel(self, pipeline_id: int) -> Pipeline:
        self.store.request_cancel(pipeline_id)
        signal_cancel(pipeline_id)
        return self.store.get(pipeline_id)

    def _dispatch(self, pipeline_id: int) -> None:
        if self._submit is not None:
            self._submit(pipeline_id)

    # -- reading -------------------------------------------------------------------------------
    def get(self, pipeline_id: int) -> Pipeline:
        return self.store.get(pipeline_id)

    def list(
        self,
        *,
        status: str | None = None,
        blueprint_id: int | None = None,
        label: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[Pipeline], int]:
        q = select(Pipeline)
        if status:
            wanted = [v.strip().upper() for v in status.split(",") if v.strip()]
            bad = [v for v in wanted if v not in st.ALL]
            if bad:
                raise InvalidInput.field("status", f"unknown status {bad[0]!r}; one of {', '.join(st.ALL)}")
            q = q.where(Pipeline.status.in_(wanted))
        if blueprint_id is not None:
            q = q.where(Pipeline.blueprint_id == blueprint_id)
        if label:
            q = q.where(Pipeline.id.in_(select(PipelineLabel.pipeline_id).where(PipelineLabel.name == label)))
        with self.db.session() as s:
            count = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = list(
                s.scalars(q.order_by(Pipeline.id.desc()).offset((page - 1) * page_size).limit(page_size))
            )
        return rows, count

    def tasks(self, pipeline_id: int, *, attempts: bool = False) -> list[Task]:
        """The current attempt of each task; with `attempts`, earlier attempts of reruns too."""
        self.get(pipeline_id)
        if not attempts:
            return self.store.tasks(pipeline_id)
        with self.db.session() as s:
            q = select(Task).where(Task.pipeline_id == pipeline_id)
            return list(s.scalars(q.order_by(Task.pipeline_row, Task.pipeline_col, Task.id)))

    def task(self, pipeline_id: int, task_id: int) -> Task:
        with self.db.session() as s:
            t = s.get(Task, task_id)
            if t is None or t.pipeline_id != pipeline_id:
                raise NotFound(f"task {task_id} of pipeline {pipeline_id} not found")
            return t

    # -- presentation --------------------------------------------------------------------------
    def response(self, p: Pipeline) -> dict[str, Any]:
        return {
            "id": p.id,
            "name": p.name,
            "blueprintId": p.blueprint_id,
            "status": p.status,
            "message": p.message or "",
            "errorName": p.error_name or "",
            "beganAt": iso(p.began_at),
            "finishedAt": iso(p.finished_at),
            "spentSeconds": p.spent_seconds,
            "stage": p.stage,
            "finishedTasks": p.finished_tasks,
            "totalTasks": p.total_tasks,
            "plan": p.plan,
            "labels": p.labels or [],
            "skipOnFail": p.skip_on_fail,
            "fullSync": p.full_sync,
            "skipCollectors": p.skip_collectors,
            "trigger": p.trigger,
            "fireTime": iso(p.fire_time),
            "cancelRequested": p.cancel_requested,
            "runnerId": p.runner_id,
            "createdAt": iso(p.created_at),
            "updatedAt": iso(p.updated_at),
        }

    def task_response(self, t: Task) -> dict[str, Any]:
        return {
            "id": t.id,
            "pipelineId": t.pipeline_id,
            "pipelineRow": t.pipeline_row,
            "pipelineCol": t.pipeline_col,
            "plugin": t.plugin,
            "options": t.options or {},
            "subtasks": t.subtasks,
            "status": t.status,
            "message": t.message or "",
            "errorName": t.error_name or "",
            "failedSubTask": t.failed_sub_task or "",
            "progress": t.progress,
            "progressDetail": t.progress_detail or {},
            "beganAt": iso(t.began_at),
            "finishedAt": iso(t.finished_at),
            "spentSeconds": t.spent_seconds,
            "createdAt": iso(t.created_at),
            "updatedAt": iso(t.updated_at),
        }
