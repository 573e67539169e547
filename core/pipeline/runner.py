"""Running one pipeline: stages in order, the tasks of a stage concurrently.

Whoever runs a pipeline (the local worker pool, a Celery worker, the foreground CLI) calls
`PipelineRunner.run(pipeline_id)`; the claim in the database makes sure only one of them does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.logs import redact
from core.models import Pipeline, Task
from core.pipeline import status as st
from core.pipeline.progress import FLUSH_SECONDS, RunMonitor, done_progress
from core.pipeline.store import PipelineStore
from core.pipeline.task import SubtaskFailed, execute_task, select_subtasks
from core.plugin import ProgressReporter, TaskCancelled

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("incidentlake.pipeline")

_active: dict[int, threading.Event] = {}
_active_lock = threading.Lock()


def signal_cancel(pipeline_id: int) -> bool:
    """Cancel at once if the pipeline runs in this process (others notice the database flag)."""
    with _active_lock:
        event = _active.get(pipeline_id)
    if event is not None:
        event.set()
    return event is not None


@contextmanager
def _registered(pipeline_id: int, cancel: threading.Event) -> Iterator[None]:
    with _active_lock:
        _active[pipeline_id] = cancel
    try:
        yield
    finally:
        with _active_lock:
            _active.pop(pipeline_id, None)


class RunObserver:
    """Hooks for a live view of a run (the CLI's progress bars); every method is optional."""

    def stage_started(self, pipeline: Pipeline, stage: int, tasks: list[Task]) -> None: ...

    def task_started(self, task: Task, subtask_count: int) -> None: ...

    def task_progress(self, task: Task, reporter: ProgressReporter) -> None: ...

    def task_finished(self, task: Task, status: str, message: str | None) -> None: ...


@dataclass
class TaskOutcome:
    task: Task
    status: str
    message: str | None = None
    error_name: str | None = None
    failed_sub_task: str | None = None


@dataclass
class _Run:
    pipeline: Pipeline
    cancel: threading.Event
    monitor: RunMonitor
    outcomes: list[TaskOutcome] = field(default_factory=list)


SHUTDOWN_MESSAGE = "interrupted: the server shut down while the pipeline ran; rerun it"


class PipelineRunner:
    def __init__(
        self,
        app: AppContext,
        runner_id: str,
        task_pool: ThreadPoolExecutor,
        *,
        observer: RunObserver | None = None,
        stopping: threading.Event | None = None,
        flush_interval: float = FLUSH_SECONDS,
    ) -> None:
        self.app = app
        self.store = PipelineStore(app.db)
        self.runner_id = runner_id
        self.task_pool = task_pool
        self.observer = observer or RunObserver()
        self.stopping = stopping or threading.Event()
        self.flush_interval = flush_interval

    def run(self, pipeline_id: int) -> str | None:
        """Claim and run the pipeline; None when another runner has it or it was cancelled first."""
        if not self.store.claim(pipeline_id, self.runner_id):
            return None
        pipeline = self.store.get(pipeline_id)
        cancel = threading.Event()
        monitor = RunMonitor(
            self.store, pipeline_id, cancel, interval=self.flush_interval, stopping=self.stopping
        )
        run = _Run(pipeline, cancel, monitor.start())
        log.info("pipeline %s (%s) started by %s", pipeline_id, pipeline.name, self.runner_id)
        try:
            with _registered(pipeline_id, cancel):
                status, message, error_name = self._stages(run)
        except Exception as exc:  # the runner itself failed (e.g. database gone): say so on the pipeline
            log.exception("pipeline %s: runner error", pipeline_id)
            status, message, error_name = st.FAILED, redact(f"runner error: {exc}"), type(exc).__name__
        finally:
            monitor.close()
        self.store.finish(pipeline_id, status, message=message, error_name=error_name)
        log.info("pipeline %s finished: %s%s", pipeline_id, status, f" ({message})" if message else "")
        self._notify(pipeline_id)
        return status

    def _notify(self, pipeline_id: int) -> None:
        from core.pipeline.notify import notify_finished  # services import the runner: import late

        try:
            notify_finished(self.app, pipeline_id)
        except Exception as exc:  # a notification never changes the pipeline's outcome
            log.warning("pipeline %s: notifications failed: %s", pipeline_id, exc)

    def _stages(self, run: _Run) -> tuple[str, str | None, str | None]:
        pid = run.pipeline.id
        stages: dict[int, list[Task]] = {}
        for t in self.store.tasks(pid):
            stages.setdefault(t.pipeline_row, []).append(t)
        stopped_at: int | None = None
        for row in sorted(stages):
            todo = [t for t in stages[row] if t.status != st.COMPLETED]
            if run.cancel.is_set():
                stopped_at = row
                break
            if not todo:
                continue
            self.store.set_stage(pid, row)
            self.observer.stage_started(run.pipeline, row, todo)
            futures = [self.task_pool.submit(self._task, run, t) for t in todo]
            outcomes = [f.result() for f in futures]
            run.outcomes.extend(outcomes)
            self.store.count_completed(pid)
            failed = [o for o in outcomes if o.status == st.FAILED]
            if any(o.status == st.CANCELLED for o in outcomes) or run.cancel.is_set():
                stopped_at = row + 1
                break
            if failed and not run.pipeline.skip_on_fail:
                return st.FAILED, failed[0].message, failed[0].error_name
        if stopped_at is not None:
            later = [
                t.id for r, ts in stages.items() if r >= stopped_at for t in ts if t.status in st.WAITING
            ]
            if self.stopping.is_set():
                self.store.mark_tasks(later, st.CANCELLED, SHUTDOWN_MESSAGE)
                return st.FAILED, SHUTDOWN_MESSAGE, "Interrupted"
            self.store.mark_tasks(later, st.CANCELLED, "cancelled")
            return st.CANCELLED, "cancelled by request", "Cancelled"
        failed = [o for o in run.outcomes if o.status == st.FAILED]
        if failed:
            names = ", ".join(f"task {o.task.id} ({o.task.plugin})" for o in failed)
            return st.PARTIAL, f"{len(failed)} task(s) failed and were skipped (skipOnFail): {names}", None
        return st.COMPLETED, None, None

    def _task(self, run: _Run, task: Task) -> TaskOutcome:
        reporter = ProgressReporter(on_change=lambda p: self._progress(run, task, p))
        try:
            plugin = self.app.registry.get(task.plugin)
            count = len(
                select_subtasks(plugin.subtasks, task.subtasks, skip_collectors=run.pipeline.skip_collectors)
            )
        except Exception:
            count = 0  # reported as the task's failure below
        self.store.task_started(task.id, count)
        self.observer.task_started(task, count)
        outcome = self._execute(run, task, reporter)
        run.monitor.forget(task.id)
        self.store.task_finished(
            task.id,
            outcome.status,
            message=outcome.message,
            error_name=outcome.error_name,
            failed_sub_task=outcome.failed_sub_task,
            progress=done_progress(reporter) if outcome.status == st.COMPLETED else None,
        )
        self.observer.task_finished(task, outcome.status, outcome.message)
        return outcome

    def _progress(self, run: _Run, task: Task, reporter: ProgressReporter) -> None:
        run.monitor.report(task.id, reporter)
        self.observer.task_progress(task, reporter)

    def _execute(self, run: _Run, task: Task, reporter: ProgressReporter) -> TaskOutcome:
        try:
            execute_task(
                self.app,
                task.plugin,
                dict(task.options or {}),
                subtasks=task.subtasks,
                skip_collectors=run.pipeline.skip_collectors,
                progress=reporter,
                cancel=run.cancel,
            )
        except TaskCancelled:
            return self._cancelled(task)
        except SubtaskFailed as exc:
            if run.cancel.is_set():
                return self._cancelled(task)
            outcome = TaskOutcome(task, st.FAILED, redact(str(exc)), type(exc.cause).__name__, exc.subtask)
            log.warning("pipeline %s task %s failed: %s", task.pipeline_id, task.id, outcome.message)
            return outcome
        except Exception as exc:  # bad options, a missing connection, an unknown plugin
            if run.cancel.is_set():
                return self._cancelled(task)
            log.warning("pipeline %s task %s could not run: %s", task.pipeline_id, task.id, exc)
            return TaskOutcome(task, st.FAILED, redact(str(exc)), type(exc).__name__)
        return TaskOutcome(task, st.COMPLETED)

    def _cancelled(self, task: Task) -> TaskOutcome:
        if self.stopping.is_set():
            return TaskOutcome(task, st.CANCELLED, SHUTDOWN_MESSAGE, "Interrupted")
        return TaskOutcome(task, st.CANCELLED, "cancelled by request", "Cancelled")
