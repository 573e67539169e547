"""Extract and convert while the collector is still collecting.

A collector is bound by the network and Python; set-based extractors and converters by the
database, outside Python's GIL. Running a task's incremental subtasks (Subtask.incremental:
they process only what is new since their watermark) in a second thread each time the
collector has stored another batch of records overlaps the two, so a large first run costs
little more than its collection. The same subtasks run once more after the collector, in
order, for whatever arrived since the last round: the tables end exactly as without a
follower.
"""

from __future__ import annotations

import dataclasses
import threading
from types import TracebackType

from core.plugin import ProgressReporter, Subtask, TaskContext

EVERY = 1000  # records collected between two rounds
POLL = 0.05  # seconds between two looks at the collector's progress


class FollowerFailed(Exception):
    """A subtask failed while following the collector; carries its name."""

    def __init__(self, subtask: str, cause: BaseException) -> None:
        super().__init__(f"subtask {subtask} failed: {cause}")
        self.subtask = subtask
        self.cause = cause


def followers(chosen: list[Subtask], position: int, ctx: TaskContext) -> list[Subtask]:
    """The subtasks that may follow the collector at `position`: every extract/convert after it,
    when all of them are incremental (a full sync redoes them from scratch, so none follow)."""
    later = [s for s in chosen[position + 1 :] if s.kind in ("extract", "convert")]
    if ctx.full_sync or not later or not all(s.incremental for s in later):
        return []
    return later


class Follower:
    """Context manager around a collector: rounds of `subtasks` in a thread while it runs."""

    def __init__(self, ctx: TaskContext, subtasks: list[Subtask], *, every: int = EVERY) -> None:
        self.ctx = ctx
        self.subtasks = subtasks
        self.every = every
        self.rounds = 0
        self._stop = threading.Event()
        self._failure: FollowerFailed | None = None
        self._thread = threading.Thread(target=self._follow, name="follower", daemon=True)
        # its own progress (the task's shows the collector) and no API client of its own
        self._shadow = dataclasses.replace(ctx, progress=ProgressReporter(), _client=None)

    def __enter__(self) -> Follower:
        if self.subtasks:
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if exc_type is None and self._failure is not None:
            raise self._failure  # the collector succeeded: report what went wrong behind it

    def _follow(self) -> None:
        seen = self.ctx.progress.records
        while not self._stop.wait(POLL):
            if self.ctx.progress.records - seen < self.every or self.ctx.cancel.is_set():
                continue
            seen = self.ctx.progress.records
            for sub in self.subtasks:
                try:
                    sub.run(self._shadow)
                except Exception as exc:  # stop following; the task fails once the collector ends
                    self._failure = FollowerFailed(sub.name, exc)
                    return
            self.rounds += 1
