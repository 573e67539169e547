"""Running a pipeline in this process and waiting for it (the CLI's `trigger`).

The process registers as a `cli` runner with a heartbeat, so servers sharing the database leave
its pipeline alone while it lives and fail it if the process dies. Ctrl-C cancels the run
cleanly (tasks stop at their next batch) before the interrupt propagates.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING

from core.pipeline.runner import PipelineRunner, RunObserver, signal_cancel
from core.pipeline.runners import RunnerIdentity, RunnerRegistration

if TYPE_CHECKING:
    from core.context import AppContext


class ForegroundRunner:
    def __init__(
        self, app: AppContext, *, observer: RunObserver | None = None, flush_interval: float = 0.5
    ) -> None:
        self.app = app
        self.identity = RunnerIdentity.new("cli")
        self.registration = RunnerRegistration(app.db, self.identity)
        self.pool = ThreadPoolExecutor(max_workers=app.settings.workers, thread_name_prefix="task")
        self.runner = PipelineRunner(
            app, self.identity.id, self.pool, observer=observer, flush_interval=flush_interval
        )

    def __enter__(self) -> ForegroundRunner:
        self.registration.start()
        # pipelines started now are ours to run: no executor, no adoption by servers
        self.app.pipelines.attach(self.identity.id, lambda _pipeline_id: None)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.app.pipelines.detach()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.registration.stop()

    def run(self, pipeline_id: int) -> str | None:
        """Run to the end; on Ctrl-C cancel, wait for the tasks to stop, then re-raise."""
        result: list[str | None] = []
        finished = threading.Event()  # not Thread.join: an interrupted join can mark a live thread dead

        def work() -> None:
            try:
                result.append(self.runner.run(pipeline_id))
            finally:
                finished.set()

        threading.Thread(target=work, name="foreground-pipeline", daemon=True).start()
        try:
            while not finished.wait(0.2):
                pass
        except KeyboardInterrupt:
            self.app.pipelines.store.request_cancel(pipeline_id)
            signal_cancel(pipeline_id)
            finished.wait(60)
            raise
        return result[0] if result else None
