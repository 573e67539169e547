"""Pipeline routes (DevLake's paths and shapes): list, inspect, cancel, rerun.

Importing this module also registers the pipeline runtime (runner, scheduler, crash recovery)
as a start/stop hook of the app, run when the app starts with `background=True`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from core.api.app import on_startup
from core.api.deps import get_ctx
from core.context import AppContext
from core.pipeline.runtime import start_runtime

router = APIRouter(prefix="/pipelines", tags=["pipelines"])

on_startup(start_runtime)  # modules are imported once, so this registers once


@router.get("")
def list_pipelines(
    status: str | None = Query(
        default=None, max_length=255, description="one status or a comma-separated list"
    ),
    blueprint_id: int | None = Query(default=None),
    label: str | None = Query(default=None, max_length=255),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, ge=1, le=1000, alias="pageSize"),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    rows, count = ctx.pipelines.list(
        status=status, blueprint_id=blueprint_id, label=label, page=page, page_size=page_size
    )
    return {"count": count, "pipelines": [ctx.pipelines.response(p) for p in rows]}


@router.get("/{pipeline_id}")
def get_pipeline(pipeline_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.pipelines.response(ctx.pipelines.get(pipeline_id))


@router.get("/{pipeline_id}/tasks")
def pipeline_tasks(
    pipeline_id: int,
    attempts: bool = Query(default=False, description="include earlier attempts of rerun tasks"),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    tasks = ctx.pipelines.tasks(pipeline_id, attempts=attempts)
    return {"count": len(tasks), "tasks": [ctx.pipelines.task_response(t) for t in tasks]}


@router.delete("/{pipeline_id}")
def cancel_pipeline(pipeline_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Cancel: a running task stops at its next request or batch; a waiting pipeline at once."""
    return ctx.pipelines.response(ctx.pipelines.cancel(pipeline_id))


@router.post("/{pipeline_id}/rerun")
def rerun_pipeline(pipeline_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Rerun the tasks that did not complete (DevLake's rerun), in the same pipeline."""
    return ctx.pipelines.response(ctx.pipelines.rerun(pipeline_id))
