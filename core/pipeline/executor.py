"""Where pipelines run. The contract is one call, `submit(pipeline_id)`: an executor only needs
the id, because the pipeline, its tasks and its cancel flag live in the database. That is what
lets the Celery executor run the same pipelines on other machines without plugins noticing.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from core.pipeline.runner import PipelineRunner

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("incidentlake.pipeline")


class Executor(ABC):
    name: str = "executor"

    def start(self) -> None:  # noqa: B027  (optional hook)
        """Acquire resources (pools, broker connections)."""

    @abstractmethod
    def submit(self, pipeline_id: int) -> None:
        """Arrange for the pipeline to run soon; never runs it inline, never raises for a busy pool."""

    def retry_pending(self) -> None:  # noqa: B027  (optional hook)
        """Called by the periodic sweep: resend what could not be submitted (e.g. broker down)."""

    def shutdown(self, *, timeout: float = 30.0) -> None:  # noqa: B027  (optional hook)
        """Stop taking work; interrupt what runs here and wait up to `timeout` seconds."""


class LocalExecutor(Executor):
    """In-process worker pools: one for pipelines (their stage loops), one shared by their tasks.

    Two pools so a pipeline waiting on its tasks never holds the thread a task needs.
    """

    name = "local"

    def __init__(
        self, app: AppContext, runner_id: str, *, workers: int = 4, flush_interval: float = 0.5
    ) -> None:
        self.stopping = threading.Event()
        self.pipelines = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipeline")
        self.tasks = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
        self.runner = PipelineRunner(
            app, runner_id, self.tasks, stopping=self.stopping, flush_interval=flush_interval
        )
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, pipeline_id: int) -> None:
        if self.stopping.is_set():
            return  # left TASK_CREATED: another live runner adopts it
        future = self.pipelines.submit(self._run, pipeline_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, pipeline_id: int) -> None:
        try:
            self.runner.run(pipeline_id)
        except Exception:
            log.exception("pipeline %s could not be run", pipeline_id)

    def shutdown(self, *, timeout: float = 30.0) -> None:
        self.stopping.set()
        with self._lock:
            pending = list(self._futures)
        self.pipelines.shutdown(wait=False, cancel_futures=True)
        wait(pending, timeout=timeout)
        self.tasks.shutdown(wait=False, cancel_futures=True)
