"""The scheduler with a per-second trigger: fires create pipelines, exactly one per fire time
with two schedulers on one database, missed fires coalesce at start, jobs follow edits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC

import pytest
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from core.context import AppContext
from core.db import Database
from core.models import Pipeline, utcnow
from core.pipeline.runtime import PipelineRuntime
from tests.integration.pipeline import fakes
from tests.integration.pipeline.conftest import FAST, make_connection, wait_for


def every_second(_cron: str) -> BaseTrigger:
    """The test clock: any cron blueprint fires every second."""
    return CronTrigger(second="*", timezone=UTC)


def _cron_blueprint(ctx: AppContext, name: str = "cron", **extra: object) -> int:
    conn = make_connection(ctx, scopes=[{"id": "A"}])
    body = {
        "name": name,
        "cronConfig": "* * * * *",
        "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "A"}]}],
        **extra,
    }
    return ctx.blueprints.create(body).id


def _pipelines(db: Database) -> list[Pipeline]:
    with db.session() as s:
        return list(s.scalars(select(Pipeline).order_by(Pipeline.id)))


@pytest.fixture
def scheduled(pctx: AppContext) -> Iterator[PipelineRuntime]:
    rt = PipelineRuntime(pctx, scheduler=True, trigger_factory=every_second, **FAST).start()
    try:
        yield rt
    finally:
        rt.stop()


def test_cron_fires_create_pipelines_that_run(pctx: AppContext, scheduled: PipelineRuntime) -> None:
    bp_id = _cron_blueprint(pctx)
    assert scheduled.scheduler is not None and scheduled.scheduler.next_fire(bp_id) is not None
    wait_for(lambda: len([p for p in _pipelines(pctx.db) if p.status == "TASK_COMPLETED"]) >= 2, timeout=15)
    pipelines = _pipelines(pctx.db)
    assert all(p.trigger == "cron" and p.blueprint_id == bp_id for p in pipelines)
    fire_times = [p.fire_time for p in pipelines]
    assert len(set(fire_times)) == len(fire_times)
    assert all(ft is not None and ft.microsecond == 0 for ft in fire_times)


def test_two_schedulers_one_pipeline_per_fire(pctx: AppContext, settings: object) -> None:
    other = AppContext.build(pctx.settings, db=Database(pctx.db.url), registry=pctx.registry)
    bp_id = _cron_blueprint(pctx)
    first = PipelineRuntime(pctx, scheduler=True, trigger_factory=every_second, **FAST).start()
    second = PipelineRuntime(other, scheduler=True, trigger_factory=every_second, **FAST).start()
    try:
        wait_for(lambda: len(_pipelines(pctx.db)) >= 3, timeout=20, what="three fires")
    finally:
        first.stop()
        second.stop()
        other.db.dispose()
    assert first.scheduler is not None and second.scheduler is not None
    attempts: dict[object, list[int | None]] = {}
    for _, fire_time, pipeline_id in [*first.scheduler.fired, *second.scheduler.fired]:
        attempts.setdefault(fire_time, []).append(pipeline_id)
    both = {ft: ids for ft, ids in attempts.items() if len(ids) == 2}
    assert len(both) >= 2, f"both schedulers fired the same seconds: {attempts}"
    pipelines = _pipelines(pctx.db)
    per_fire: dict[object, int] = {}
    for p in pipelines:
        per_fire[p.fire_time] = per_fire.get(p.fire_time, 0) + 1
    assert set(per_fire.values()) == {1}, per_fire
    for ids in both.values():
        assert len([i for i in ids if i is not None]) <= 1
    assert all(p.blueprint_id == bp_id for p in pipelines)
    assert {p.runner_id for p in pipelines} <= {first.runner_id, second.runner_id}


def test_missed_fires_coalesce_into_one_run_at_start(pctx: AppContext) -> None:
    bp_id = _cron_blueprint(pctx)
    time.sleep(2.5)  # the scheduler is down for a few fires
    started = utcnow()
    rt = PipelineRuntime(pctx, scheduler=True, trigger_factory=every_second, **FAST).start()
    try:
        wait_for(lambda: any(p.status == "TASK_COMPLETED" for p in _pipelines(pctx.db)), timeout=10)
    finally:
        rt.stop()
    missed = [p for p in _pipelines(pctx.db) if p.fire_time is not None and p.fire_time <= started]
    assert len(missed) == 1, [(p.id, p.fire_time) for p in _pipelines(pctx.db)]
    assert missed[0].blueprint_id == bp_id and missed[0].trigger == "cron"
    assert (started - missed[0].fire_time).total_seconds() < 1.0  # the latest missed fire


def test_jobs_follow_blueprint_changes(pctx: AppContext) -> None:
    rt = PipelineRuntime(pctx, scheduler=True, trigger_factory=every_second, resync_seconds=3600, **FAST)
    rt.start()
    try:
        sched = rt.scheduler
        assert sched is not None
        bp_id = _cron_blueprint(pctx, enable=False)
        assert sched.next_fire(bp_id) is None
        pctx.blueprints.patch(bp_id, {"enable": True})
        assert sched.next_fire(bp_id) is not None
        pctx.blueprints.patch(bp_id, {"cronConfig": "manual"})
        assert sched.next_fire(bp_id) is None
        pctx.blueprints.patch(bp_id, {"cronConfig": "*/5 * * * *", "isManual": False})
        assert sched.next_fire(bp_id) is not None
        pctx.blueprints.patch(bp_id, {"isManual": True})
        assert sched.next_fire(bp_id) is None

        # a change made by another server is picked up by the periodic resync
        other = AppContext.build(pctx.settings, db=pctx.db, registry=pctx.registry)
        other.blueprints.patch(bp_id, {"isManual": False})
        assert sched.next_fire(bp_id) is None
        sched.sync_all()
        assert sched.next_fire(bp_id) is not None
        wait_for(lambda: _pipelines(pctx.db), timeout=10, what="a fire")
        pctx.blueprints.patch(bp_id, {"enable": False})
        assert sched.next_fire(bp_id) is None
        wait_for(lambda: rt.app.pipelines.store.lock_holder(bp_id) is None, timeout=10, what="the run to end")
        pctx.blueprints.delete(bp_id)
        assert sched.next_fire(bp_id) is None
    finally:
        rt.stop()
    assert fakes.EVENTS, "the blueprint ran while scheduled"
