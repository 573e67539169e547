"""The blueprint scheduler (APScheduler 3): it only creates pipelines, never runs them.

Every enabled, non-manual blueprint is one cron job (UTC). A fire calls
`BlueprintService.fire(id, fire_time)`; the pipelines table's UNIQUE(blueprint_id, fire_time)
makes that exactly one pipeline per fire however many servers schedule the same blueprints.
Jobs follow blueprint changes at once in this process (`on_change`) and through a periodic
resync for changes made by other servers. Fires missed while no scheduler ran coalesce into
one run at start (the latest missed fire time, so replicas starting together agree on it).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from core.models import Blueprint, Pipeline, utcnow

if TYPE_CHECKING:
    from core.context import AppContext
    from core.models import Pipeline as PipelineRow

log = logging.getLogger("incidentlake.scheduler")

TriggerFactory = Callable[[str], BaseTrigger]
RESYNC_SECONDS = 15.0
# Look back this far, widening only while nothing fired, to find the latest missed fire.
_LOOKBACK = (
    timedelta(minutes=2),
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=40),
    timedelta(days=400),
)


def cron_trigger(cron: str) -> BaseTrigger:
    return CronTrigger.from_crontab(cron, timezone=UTC)


class _FireExecutor(BaseExecutor):
    """Runs a fire job with its scheduled time (APScheduler's own executors drop it)."""

    def __init__(self, workers: int = 4) -> None:
        super().__init__()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fire")

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def run() -> None:
            try:
                # coalesced: only the latest missed run time counts
                job.func(*job.args, **{**job.kwargs, "fire_time": run_times[-1]})
            except Exception as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, [])

        self._pool.submit(run)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


class BlueprintScheduler:
    def __init__(
        self,
        app: AppContext,
        on_created: Callable[[PipelineRow], None] | None = None,
        *,
        trigger_factory: TriggerFactory = cron_trigger,
        resync_seconds: float = RESYNC_SECONDS,
    ) -> None:
        self.app = app
        self.on_created = on_created
        self.trigger_factory = trigger_factory
        self.resync_seconds = resync_seconds
        # recent fires, for operators and tests: (blueprint, fire time, pipeline id or None)
        self.fired: deque[tuple[int, datetime, int | None]] = deque(maxlen=1000)
        self._signatures: dict[int, str] = {}
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"fire": _FireExecutor(), "default": APThreadPool(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._scheduler.start()
        self.sync_all()
        self.catch_up()
        self._scheduler.add_job(
            self.sync_all, "interval", seconds=self.resync_seconds, id="resync", executor="default"
        )

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    # -- jobs ----------------------------------------------------------------------------------
    def sync_all(self) -> None:
        with self.app.db.session() as s:
            rows = list(s.scalars(select(Blueprint)))
        wanted = {bp.id: bp for bp in rows if _scheduled(bp)}
        with self._lock:
            for bp_id in list(self._signatures):
                if bp_id not in wanted:
                    self._remove(bp_id)
            for bp in wanted.values():
                self._ensure(bp)

    def sync(self, blueprint_id: int) -> None:
        """Follow one blueprint's change (created, edited, disabled, deleted)."""
        with self.app.db.session() as s:
            bp = s.get(Blueprint, blueprint_id)
        with self._lock:
            if bp is None or not _scheduled(bp):
                self._remove(blueprint_id)
            else:
                self._ensure(bp)

    def next_fire(self, blueprint_id: int) -> datetime | None:
        job = self._scheduler.get_job(_job_id(blueprint_id))
        return job.next_run_time if job is not None else None

    def _ensure(self, bp: Blueprint) -> None:
        signature = bp.cron_config
        if self._signatures.get(bp.id) == signature:
            return
        self._scheduler.add_job(
            self._fire,
            trigger=self.trigger_factory(bp.cron_config),
            args=[bp.id],
            kwargs={"fire_time": None},  # filled in by _FireExecutor
            id=_job_id(bp.id),
            executor="fire",
            replace_existing=True,
        )
        self._signatures[bp.id] = signature
        log.info("blueprint %s scheduled: %s (UTC)", bp.id, bp.cron_config)

    def _remove(self, blueprint_id: int) -> None:
        if self._signatures.pop(blueprint_id, None) is not None:
            job = self._scheduler.get_job(_job_id(blueprint_id))
            if job is not None:
                job.remove()
            log.info("blueprint %s unscheduled", blueprint_id)

    def _fire(self, blueprint_id: int, *, fire_time: datetime | None) -> int | None:
        if fire_time is None:
            raise ValueError("a fire needs its scheduled time")
        naive = fire_time.astimezone(UTC).replace(tzinfo=None)
        pipeline = self.app.blueprints.fire(blueprint_id, naive)
        self.fired.append((blueprint_id, naive, pipeline.id if pipeline else None))
        if pipeline is None:
            return None
        log.info("blueprint %s fired at %s: pipeline %s", blueprint_id, naive, pipeline.id)
        if self.on_created is not None:
            self.on_created(pipeline)
        return pipeline.id

    # -- missed fires --------------------------------------------------------------------------
    def catch_up(self) -> list[int]:
        """One run for fires missed while down: the latest missed fire of each blueprint."""
        created = []
        with self.app.db.session() as s:
            rows = [bp for bp in s.scalars(select(Blueprint)) if _scheduled(bp)]
            last_run = dict(
                s.execute(
                    select(Pipeline.blueprint_id, func.max(Pipeline.created_at)).group_by(
                        Pipeline.blueprint_id
                    )
                ).all()
            )
        now = utcnow()
        for bp in rows:
            since = max(filter(None, [bp.updated_at, bp.created_at, last_run.get(bp.id)]))
            missed = latest_fire(self.trigger_factory(bp.cron_config), since, now)
            if missed is None:
                continue
            pipeline_id = self._fire(bp.id, fire_time=missed.replace(tzinfo=UTC))
            if pipeline_id is not None:
                created.append(pipeline_id)
        return created


def latest_fire(trigger: BaseTrigger, since: datetime, now: datetime) -> datetime | None:
    """The last fire time in (since, now] (naive UTC), or None; cheap even for per-second crons."""
    aware_now = now.replace(tzinfo=UTC)
    aware_since = since.replace(tzinfo=UTC)
    for span in _LOOKBACK:
        start = max(aware_since, aware_now - span)
        last = None
        previous = None
        current = trigger.get_next_fire_time(None, start)
        while current is not None and current <= aware_now:
            if current > aware_since:
                last = current
            previous = current
            current = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if last is not None:
            return last.astimezone(UTC).replace(tzinfo=None)
        if start == aware_since:
            return None
    return None


def _scheduled(bp: Blueprint) -> bool:
    return bool(bp.enable) and not bp.is_manual and bp.cron_config != "manual"


def _job_id(blueprint_id: int) -> str:
    return f"blueprint-{blueprint_id}"
