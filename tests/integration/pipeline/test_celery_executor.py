"""The Celery executor against the local Redis with a real worker process: pipelines run on the
worker, cancel reaches it through the database, plugins are none the wiser."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.context import AppContext
from core.pipeline.celery_executor import CeleryExecutor
from core.pipeline.models import RunnerRecord
from core.pipeline.runtime import PipelineRuntime
from tests.integration.pipeline.conftest import FAST, make_connection, wait_for
from tests.integration.pipeline.serve_proc import cli_env

BROKER = "redis://127.0.0.1:6379/13"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> str:
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unavailable: {exc}")
    name = f"il-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("INCIDENTLAKE_CELERY_QUEUE", name)
    return name


@pytest.fixture
def worker(pctx: AppContext, queue: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = cli_env(pctx.db.url, INCIDENTLAKE_BROKER_URL=BROKER, INCIDENTLAKE_CELERY_QUEUE=queue)
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.integration.pipeline.celery_worker", "worker",
         "--pool=threads", "--concurrency=2", "-Q", queue, "--loglevel=WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_pipelines_run_on_a_celery_worker(pctx: AppContext, worker: subprocess.Popen[bytes]) -> None:
    conn = make_connection(
        pctx, scopes=[{"id": "Q", "batches": 3, "batchSize": 2}, {"id": "L", "batches": 400, "sleep": 0.05}]
    )
    quick = pctx.blueprints.create(
        {
            "name": "quick",
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "Q"}]}],
        }
    )
    long = pctx.blueprints.create(
        {
            "name": "long",
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "L"}]}],
        }
    )
    rt = PipelineRuntime(pctx, scheduler=False, executor=CeleryExecutor(BROKER), **FAST).start()
    try:
        p = pctx.blueprints.trigger(quick.id)
        wait_for(
            lambda: pctx.pipelines.get(p.id).status == "TASK_COMPLETED", timeout=90, what="worker ran it"
        )
        done = pctx.pipelines.get(p.id)
        assert done.runner_id != rt.runner_id
        with pctx.db.session() as s:
            runner = s.get(RunnerRecord, done.runner_id)
            assert runner is not None and runner.kind == "celery" and runner.pid == worker.pid

        p = pctx.blueprints.trigger(long.id)
        wait_for(lambda: pctx.pipelines.get(p.id).status == "TASK_RUNNING", timeout=60)
        pctx.pipelines.cancel(p.id)  # the worker learns it from the database flag
        wait_for(lambda: pctx.pipelines.get(p.id).status == "TASK_CANCELLED", timeout=30, what="cancelled")
    finally:
        rt.stop()
