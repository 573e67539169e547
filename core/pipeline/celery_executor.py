"""Celery executor: pipelines go to a broker and run on `celery -A core.pipeline.celery_app worker`
processes sharing the database. Submitting only sends the id; the worker claims it there."""

from __future__ import annotations

import logging
import threading

from core.pipeline.executor import Executor

log = logging.getLogger("incidentlake.pipeline")


class CeleryExecutor(Executor):
    name = "celery"

    def __init__(self, broker_url: str, queue: str | None = None) -> None:
        from core.config import Settings
        from core.pipeline.celery_app import make_celery

        self.celery = make_celery(broker_url, queue or Settings().celery_queue)
        self._unsent: set[int] = set()
        self._lock = threading.Lock()

    def submit(self, pipeline_id: int) -> None:
        from core.pipeline.celery_app import TASK_NAME

        try:
            self.celery.send_task(TASK_NAME, args=[pipeline_id])
        except Exception as exc:  # broker down: the pipeline waits; the next sweep sends it again
            log.error("could not send pipeline %s to the broker: %s", pipeline_id, exc)
            with self._lock:
                self._unsent.add(pipeline_id)
            return
        with self._lock:
            self._unsent.discard(pipeline_id)

    def retry_pending(self) -> None:
        with self._lock:
            unsent, self._unsent = set(self._unsent), set()
        for pipeline_id in sorted(unsent):
            self.submit(pipeline_id)

    def shutdown(self, *, timeout: float = 30.0) -> None:
        self.celery.close()
