"""Celery workers for pipelines: `celery -A core.pipeline.celery_app worker`.

A worker process builds its own AppContext from the same settings (database, plugins),
registers as a runner with a heartbeat (so servers can fail its pipelines if it dies) and
runs whole pipelines with the same PipelineRunner the local executor uses.
"""

from __future__ import annotations

import atexit
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import Celery

from core.config import Settings

log = logging.getLogger("incidentlake.celery")
TASK_NAME = "incidentlake.run_pipeline"


def make_celery(broker_url: str, queue: str = "incidentlake") -> Celery:
    app = Celery("incidentlake", broker=broker_url)
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-pipeline leaves it to crash recovery
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=queue,  # one queue per deployment sharing a broker
        broker_connection_retry_on_startup=True,
    )
    return app


_settings = Settings()
celery = make_celery(_settings.broker_url, _settings.celery_queue)
_state: dict[str, object] = {}
_state_lock = threading.Lock()


def _worker() -> object:
    """The worker process's runner, built on first use (after the fork)."""
    from core.context import AppContext
    from core.pipeline.runner import PipelineRunner
    from core.pipeline.runners import RunnerIdentity, RunnerRegistration

    with _state_lock:
        if "runner" not in _state:
            app = AppContext.build(Settings())
            identity = RunnerIdentity.new("celery")
            registration = RunnerRegistration(app.db, identity)
            registration.start()
            atexit.register(registration.stop)
            pool = ThreadPoolExecutor(max_workers=app.settings.workers, thread_name_prefix="task")
            _state["runner"] = PipelineRunner(app, identity.id, pool)
        return _state["runner"]


@celery.task(name=TASK_NAME)
def run_pipeline(pipeline_id: int) -> str | None:
    runner = _worker()
    return runner.run(pipeline_id)  # type: ignore[attr-defined, no-any-return]
