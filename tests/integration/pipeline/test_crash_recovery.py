"""Crash safety with a real `incidentlake serve` killed with SIGKILL mid-run, and the rules that
keep live runners' pipelines safe from their neighbours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.context import AppContext
from core.db import Database
from core.models import Issue, Pipeline, utcnow
from core.pipeline.models import RunnerRecord
from core.pipeline.recovery import recover
from core.pipeline.runtime import PipelineRuntime
from core.pipeline.store import NewPipeline
from tests.integration.pipeline.conftest import FAST, FINAL, make_connection, wait_for, wait_status
from tests.integration.pipeline.serve_proc import Server


def _issues(db: Database) -> list[tuple]:
    with db.session() as s:
        rows = s.execute(select(Issue.id, Issue.title, Issue.type, Issue.status, Issue.original_project))
        return sorted(tuple(r) for r in rows)


def _pipeline(db: Database, pipeline_id: int) -> Pipeline:
    with db.session() as s:
        p = s.get(Pipeline, pipeline_id)
        assert p is not None
        return p


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def test_kill_9_then_restart_fails_the_run_and_rerun_completes(
    pctx: AppContext, tmp_path: Path, servers: list[Server]
) -> None:
    conn = make_connection(pctx, scopes=[{"id": "K", "batches": 40, "batchSize": 5, "sleep": 0.1}])
    bp = pctx.blueprints.create(
        {
            "name": "crashy",
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "K"}]}],
        }
    )
    first = Server(pctx.db.url, tmp_path)
    servers.append(first)
    pipeline_id = first.client.post(f"/blueprints/{bp.id}/trigger").json()["id"]
    wait_for(
        lambda: (
            first.client.get(f"/pipelines/{pipeline_id}/tasks")
            .json()["tasks"][0]["progressDetail"]
            .get("finishedRecords")
        ),
        what="collection under way",
    )
    first.kill()
    assert _pipeline(pctx.db, pipeline_id).status == "TASK_RUNNING"  # the dead process left it so
    partial = len(_issues(pctx.db))
    assert 0 < partial < 200

    second = Server(pctx.db.url, tmp_path)
    servers.append(second)
    failed = second.client.get(f"/pipelines/{pipeline_id}").json()
    assert failed["status"] == "TASK_FAILED", failed
    assert failed["errorName"] == "RunnerLost"
    assert "killed or crashed" in failed["message"] and "rerun" in failed["message"]
    (task,) = second.client.get(f"/pipelines/{pipeline_id}/tasks").json()["tasks"]
    assert task["status"] == "TASK_FAILED" and task["finishedAt"]

    r = second.client.post(f"/pipelines/{pipeline_id}/rerun")
    assert r.status_code == 200, r.text
    done = wait_status(second.client, pipeline_id, FINAL, timeout=60)
    assert done["status"] == "TASK_COMPLETED", done
    after_rerun = _issues(pctx.db)
    assert len(after_rerun) == 200

    # the same tables as an uninterrupted run
    with pctx.db.session() as s:
        s.query(Issue).delete()
    again = second.client.post(f"/blueprints/{bp.id}/trigger").json()["id"]
    assert wait_status(second.client, again, FINAL, timeout=60)["status"] == "TASK_COMPLETED"
    assert _issues(pctx.db) == after_rerun
    assert second.stop() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown
    with pctx.db.session() as s:
        assert s.scalars(select(RunnerRecord)).all() == [], "a clean stop unregisters the runner"


def test_a_live_neighbour_never_fails_running_pipelines(pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "L", "batches": 10, "sleep": 0.1}])
    bp = pctx.blueprints.create(
        {
            "name": "long",
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "L"}]}],
        }
    )
    a = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    other = AppContext.build(pctx.settings, db=Database(pctx.db.url), registry=pctx.registry)
    try:
        pipeline = pctx.blueprints.trigger(bp.id)
        wait_for(lambda: _pipeline(pctx.db, pipeline.id).status == "TASK_RUNNING")
        b = PipelineRuntime(other, scheduler=False, **FAST).start()  # its start sweeps for lost pipelines
        try:
            b.sweep()
            assert _pipeline(pctx.db, pipeline.id).status == "TASK_RUNNING"
            wait_for(lambda: _pipeline(pctx.db, pipeline.id).status in FINAL, timeout=20)
            assert _pipeline(pctx.db, pipeline.id).status == "TASK_COMPLETED"
        finally:
            b.stop()
    finally:
        a.stop()
        other.db.dispose()


def _orphan(pctx: AppContext, runner: RunnerRecord | None, status: str = "TASK_RUNNING") -> int:
    p = pctx.pipelines.store.create(
        NewPipeline(name="orphan", plan=[[{"plugin": "pipefake", "options": {}}]])
    )
    with pctx.db.session() as s:
        if runner is not None:
            s.merge(runner)
        row = s.get(Pipeline, p.id)
        assert row is not None
        row.status, row.runner_id, row.began_at = status, runner.id if runner else "gone:1:x", utcnow()
    return p.id


def _remote(heartbeat_age: float) -> RunnerRecord:
    now = utcnow()
    return RunnerRecord(
        id=f"elsewhere:1:{heartbeat_age}",
        kind="server",
        hostname="elsewhere",
        pid=1,
        process_started=0.0,
        started_at=now,
        heartbeat_at=now - timedelta(seconds=heartbeat_age),
    )


def test_remote_runners_are_judged_by_their_heartbeat(pctx: AppContext) -> None:
    fresh = _orphan(pctx, _remote(1))
    stale = _orphan(pctx, _remote(120))
    unknown = _orphan(pctx, None)
    result = recover(pctx.db, "me", None, stale_after=30)
    assert sorted(result.failed) == sorted([stale, unknown])
    assert _pipeline(pctx.db, fresh).status == "TASK_RUNNING"
    assert _pipeline(pctx.db, stale).status == "TASK_FAILED"
    assert "host elsewhere" in (_pipeline(pctx.db, stale).message or "")
    with pctx.db.session() as s:  # dead runners are forgotten, live ones kept
        assert [r.hostname for r in s.scalars(select(RunnerRecord))] == ["elsewhere"]


def test_waiting_pipelines_of_a_dead_submitter_are_adopted(pctx: AppContext) -> None:
    waiting = _orphan(pctx, _remote(300), status="TASK_CREATED")
    rt = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    try:
        wait_for(lambda: _pipeline(pctx.db, waiting).status in FINAL, timeout=15)
    finally:
        rt.stop()
    p = _pipeline(pctx.db, waiting)
    assert p.runner_id == rt.runner_id


def test_clean_shutdown_interrupts_runs_so_they_can_be_rerun(pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "D", "batches": 200, "sleep": 0.05}])
    bp = pctx.blueprints.create(
        {
            "name": "down",
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "D"}]}],
        }
    )
    rt = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    pipeline = pctx.blueprints.trigger(bp.id)
    wait_for(lambda: _pipeline(pctx.db, pipeline.id).status == "TASK_RUNNING")
    rt.stop()
    stopped = _pipeline(pctx.db, pipeline.id)
    assert stopped.status == "TASK_FAILED" and "shut down" in (stopped.message or "")
    assert pctx.pipelines.store.lock_holder(bp.id) is None
    with pctx.db.session() as s:
        assert s.get(RunnerRecord, rt.runner_id) is None
    rt2 = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    try:
        with pctx.db.session() as s:  # make the rerun quick
            s.execute(
                text("UPDATE scopes SET data = :d WHERE scope_id = 'D'"), {"d": '{"id": "D", "batches": 1}'}
            )
        pctx.pipelines.rerun(pipeline.id)
        wait_for(lambda: _pipeline(pctx.db, pipeline.id).status == "TASK_COMPLETED", timeout=20)
    finally:
        rt2.stop()
