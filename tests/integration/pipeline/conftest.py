"""Fixtures for pipeline tests: the `pipefake` plugin, a running pipeline runtime, a live API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from core.api.app import create_app
from core.context import AppContext
from core.pipeline.runtime import RUNTIME_OPTIONS, PipelineRuntime
from tests.integration.pipeline import fakes
from tests.support.live import serve_app

FAST = {"flush_interval": 0.1, "sweep_interval": 0.5, "heartbeat": 0.5, "shutdown_timeout": 10}


@pytest.fixture
def pctx(ctx: AppContext) -> AppContext:
    """The test context with `pipefake` and a stand-in `dora` task type."""
    ctx.registry.register(fakes.plugin)
    ctx.registry.register(fakes.FakeDoraPlugin())
    fakes.EVENTS.clear()
    fakes.NOTIFIED.clear()
    return ctx


@pytest.fixture
def runtime(pctx: AppContext) -> Iterator[PipelineRuntime]:
    """An in-process runtime (local executor, no scheduler) running what pctx's services start."""
    rt = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    try:
        yield rt
    finally:
        rt.stop()


@pytest.fixture
def api(pctx: AppContext) -> Iterator[httpx.Client]:
    """The real app over real HTTP, its runtime started by the lifespan (background=True)."""
    pctx.extras[RUNTIME_OPTIONS] = {**FAST, "scheduler": False}
    with serve_app(create_app(pctx)) as url, httpx.Client(base_url=url, timeout=15) as client:
        yield client


def make_connection(ctx: AppContext, name: str = "pf", scopes: list[dict[str, Any]] | None = None) -> int:
    record = ctx.connections.create("pipefake", {"name": name, "token": fakes.TOKEN})
    if scopes:
        ctx.scopes.put("pipefake", record.id, {"data": scopes})
    return record.id


def wait_for(
    check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_status(
    api: httpx.Client, pipeline_id: int, statuses: tuple[str, ...], timeout: float = 30.0
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = api.get(f"/pipelines/{pipeline_id}").json()
        return body if body["status"] in statuses else None

    return wait_for(check, timeout, what=f"pipeline {pipeline_id} to reach {statuses}")


FINAL = ("TASK_COMPLETED", "TASK_FAILED", "TASK_CANCELLED", "TASK_PARTIAL")
