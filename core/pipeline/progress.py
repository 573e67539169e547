"""Task progress: DevLake's `progress` (0..1) and `progressDetail`, persisted at a bounded rate.

Subtasks report progress as often as they like (every record); the database sees at most one
write per pipeline every `interval` seconds, from one monitor thread that also polls the
pipeline's cancel flag (set by DELETE /pipelines/{id} in any process).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from core.pipeline.store import PipelineStore
from core.plugin import ProgressReporter

log = logging.getLogger("incidentlake.pipeline")
FLUSH_SECONDS = 0.5


def progress_of(reporter: ProgressReporter) -> tuple[float, dict[str, Any]]:
    snap = reporter.snapshot()
    number, count = snap["subtaskNumber"], snap["subtaskCount"]
    current, total = snap["current"], snap["total"]
    within = min(1.0, current / total) if total else 0.0
    value = ((max(number, 1) - 1) + within) / count if count else 0.0
    detail = {
        "totalSubTasks": count,
        "finishedSubTasks": max(number - 1, 0),
        "subTaskName": snap["subtask"],
        "subTaskNumber": number,
        "totalRecords": total,
        "finishedRecords": current,
        "records": snap["records"],
    }
    return round(min(max(value, 0.0), 1.0), 4), detail


def done_progress(reporter: ProgressReporter) -> tuple[float, dict[str, Any]]:
    _, detail = progress_of(reporter)
    detail["finishedSubTasks"] = detail["totalSubTasks"]
    return 1.0, detail


class RunMonitor:
    """Throttled progress writes and cancel polling for one running pipeline."""

    def __init__(
        self,
        store: PipelineStore,
        pipeline_id: int,
        cancel: threading.Event,
        *,
        interval: float = FLUSH_SECONDS,
        stopping: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.pipeline_id = pipeline_id
        self.cancel = cancel
        self.interval = interval
        self.stopping = stopping or threading.Event()
        self._dirty: dict[int, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"monitor-{pipeline_id}", daemon=True)

    def start(self) -> RunMonitor:
        self._thread.start()
        return self

    def report(self, task_id: int, reporter: ProgressReporter) -> None:
        value = progress_of(reporter)
        with self._lock:
            self._dirty[task_id] = value

    def forget(self, task_id: int) -> None:
        """Drop unsaved progress of a finished task (its final row is written directly)."""
        with self._lock:
            self._dirty.pop(task_id, None)

    def flush(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        self.store.task_progress(dirty)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.flush()
                if self.stopping.is_set() or self.store.cancel_requested(self.pipeline_id):
                    self.cancel.set()
            except Exception as exc:  # keep polling through a database hiccup
                log.warning("pipeline %s: progress/cancel poll failed: %s", self.pipeline_id, exc)

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        self.flush()
