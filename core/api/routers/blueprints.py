"""Blueprint routes (DevLake's paths and shapes); the work is in core/services/blueprints.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from core.api.deps import get_ctx
from core.context import AppContext

router = APIRouter(prefix="/blueprints", tags=["blueprints"])
JSONBody = Body(default=None)


@router.post("", status_code=201)
def create_blueprint(body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.blueprints.response(ctx.blueprints.create(body))


@router.get("")
def list_blueprints(
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, ge=1, le=1000, alias="pageSize"),
    label: str | None = Query(default=None, max_length=255),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    rows, count = ctx.blueprints.list(page=page, page_size=page_size, label=label)
    return {"count": count, "blueprints": [ctx.blueprints.response(bp) for bp in rows]}


@router.get("/{blueprint_id}")
def get_blueprint(blueprint_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.blueprints.response(ctx.blueprints.get(blueprint_id))


@router.patch("/{blueprint_id}")
def patch_blueprint(
    blueprint_id: int, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    return ctx.blueprints.response(ctx.blueprints.patch(blueprint_id, body))


@router.delete("/{blueprint_id}")
def delete_blueprint(blueprint_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.blueprints.response(ctx.blueprints.delete(blueprint_id))


@router.post("/{blueprint_id}/trigger")
def trigger_blueprint(
    blueprint_id: int, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    """Start a pipeline now; 409 while the blueprint's previous pipeline is unfinished."""
    return ctx.pipelines.response(ctx.blueprints.trigger(blueprint_id, body))


@router.get("/{blueprint_id}/pipelines")
def blueprint_pipelines(
    blueprint_id: int,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, ge=1, le=1000, alias="pageSize"),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    ctx.blueprints.get(blueprint_id)
    rows, count = ctx.pipelines.list(blueprint_id=blueprint_id, page=page, page_size=page_size)
    return {"count": count, "pipelines": [ctx.pipelines.response(p) for p in rows]}
