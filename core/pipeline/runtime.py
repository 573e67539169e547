"""The pipeline runtime of one process: runner registration and heartbeat, crash recovery,
the executor and (in servers) the scheduler, started and stopped together.

`serve` starts it through the API's lifespan (`start_runtime`, registered as an on_startup
hook); tests pass options through `ctx.extras[RUNTIME_OPTIONS]` (e.g. a per-second trigger).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.pipeline.executor import Executor, LocalExecutor
from core.pipeline.recovery import recover
from core.pipeline.runners import HEARTBEAT_SECONDS, STALE_AFTER_SECONDS, RunnerIdentity, RunnerRegistration
from core.pipeline.scheduler import RESYNC_SECONDS, BlueprintScheduler, TriggerFactory, cron_trigger

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("incidentlake.pipeline")
RUNTIME_KEY = "pipeline.runtime"
RUNTIME_OPTIONS = "pipeline.runtime.options"
SWEEP_SECONDS = 5.0


def make_executor(app: AppContext, runner_id: str, *, flush_interval: float = 0.5) -> Executor:
    if app.settings.executor == "celery":
        from core.pipeline.celery_executor import CeleryExecutor

        return CeleryExecutor(app.settings.broker_url, app.settings.celery_queue)
    return LocalExecutor(app, runner_id, workers=app.settings.workers, flush_interval=flush_interval)


class PipelineRuntime:
    def __init__(
        self,
        app: AppContext,
        *,
        kind: str = "server",
        executor: Executor | None = None,
        scheduler: bool | None = None,
        trigger_factory: TriggerFactory = cron_trigger,
        heartbeat: float = HEARTBEAT_SECONDS,
        stale_after: float = STALE_AFTER_SECONDS,
        sweep_interval: float = SWEEP_SECONDS,
        resync_seconds: float = RESYNC_SECONDS,
        flush_interval: float = 0.5,
        shutdown_timeout: float = 20.0,
    ) -> None:
        self.app = app
        self.identity = RunnerIdentity.new(kind)
        self.registration = RunnerRegistration(app.db, self.identity, interval=heartbeat)
        self.executor = executor or make_executor(app, self.identity.id, flush_interval=flush_interval)
        self.use_scheduler = app.settings.scheduler if scheduler is None else scheduler
        self.scheduler: BlueprintScheduler | None = None
        self.trigger_factory = trigger_factory
        self.resync_seconds = resync_seconds
        self.stale_after = stale_after
        self.sweep_interval = sweep_interval
        self.shutdown_timeout = shutdown_timeout
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    @property
    def runner_id(self) -> str:
        return self.identity.id

    def start(self) -> PipelineRuntime:
        self.registration.start()
        self.executor.start()
        self.app.pipelines.attach(self.identity.id, self.executor.submit)
        self.sweep()  # pipelines a crashed process left RUNNING become FAILED before anything new starts
        if self.use_scheduler:
            self.scheduler = BlueprintScheduler(
                self.app, trigger_factory=self.trigger_factory, resync_seconds=self.resync_seconds
            )
            self.app.blueprints.on_change = self.scheduler.sync
            self.scheduler.start()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="pipeline-sweep", daemon=True)
        self._sweeper.start()
        log.info("pipeline runtime %s started (%s executor)", self.identity.id, self.executor.name)
        return self

    def sweep(self) -> None:
        recover(self.app.db, self.identity.id, self.executor.submit, stale_after=self.stale_after)
        self.executor.retry_pending()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.sweep_interval):
            try:
                self.sweep()
            except Exception as exc:
                log.warning("recovery sweep failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.app.blueprints.on_change = None
            self.scheduler.stop()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
        self.app.pipelines.detach()
        self.executor.shutdown(timeout=self.shutdown_timeout)
        self.registration.stop()
        log.info("pipeline runtime %s stopped", self.identity.id)


def start_runtime(app: AppContext) -> Callable[[], None]:
    """The API's lifespan hook: run pipelines and the scheduler while the server is up."""
    options: dict[str, Any] = dict(app.extras.get(RUNTIME_OPTIONS) or {})
    runtime = PipelineRuntime(app, **options).start()
    app.extras[RUNTIME_KEY] = runtime

    def stop() -> None:
        runtime.stop()
        app.extras.pop(RUNTIME_KEY, None)

    return stop
