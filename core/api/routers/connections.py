"""Connection, test and scope routes, generic over every registered plugin (DevLake's paths)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from core.api.deps import get_ctx
from core.context import AppContext

router = APIRouter(prefix="/plugins/{plugin}", tags=["connections"])
JSONBody = Body(default=None)


@router.post("/test")
def test_unsaved(plugin: str, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return {"success": True, "message": ctx.connections.test_payload(plugin, body)}


@router.post("/connections", status_code=201)
def create_connection(plugin: str, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.connections.response(ctx.connections.create(plugin, body))


@router.get("/connections")
def list_connections(plugin: str, ctx: AppContext = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [ctx.connections.response(r) for r in ctx.connections.list(plugin)]


@router.get("/connections/{connection_id}")
def get_connection(plugin: str, connection_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.connections.response(ctx.connections.get(plugin, connection_id))


@router.patch("/connections/{connection_id}")
def patch_connection(
    plugin: str, connection_id: int, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    return ctx.connections.response(ctx.connections.patch(plugin, connection_id, body))


@router.delete("/connections/{connection_id}")
def delete_connection(plugin: str, connection_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.connections.response(ctx.connections.delete(plugin, connection_id))


@router.post("/connections/{connection_id}/test")
def test_saved(
    plugin: str, connection_id: int, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    return {"success": True, "message": ctx.connections.test_saved(plugin, connection_id, body)}


@router.get("/connections/{connection_id}/remote-scopes")
def remote_scopes(
    plugin: str,
    connection_id: int,
    page_token: str | None = Query(default=None, alias="pageToken"),
    search: str | None = Query(default=None, max_length=255),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    p = ctx.registry.get(plugin)
    model = ctx.connections.model(plugin, connection_id)
    page = ctx.connections.remote_scopes(p, connection_id, model, search=search, page_token=page_token)
    return page.model_dump(by_alias=True, mode="json")


@router.put("/connections/{connection_id}/scopes")
def put_scopes(
    plugin: str, connection_id: int, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> list[dict[str, Any]]:
    return [s.model_dump(by_alias=True, mode="json") for s in ctx.scopes.put(plugin, connection_id, body)]


@router.get("/connections/{connection_id}/scopes")
def list_scopes(
    plugin: str,
    connection_id: int,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000, alias="pageSize"),
    search_term: str | None = Query(default=None, alias="searchTerm", max_length=255),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    scopes, count = ctx.scopes.list(plugin, connection_id, page=page, page_size=page_size, search=search_term)
    return {"count": count, "scopes": [{"scope": s.model_dump(by_alias=True, mode="json")} for s in scopes]}


@router.get("/connections/{connection_id}/scopes/{scope_id:path}")
def get_scope(plugin: str, connection_id: int, scope_id: str, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.scopes.get(plugin, connection_id, scope_id).model_dump(by_alias=True, mode="json")


@router.patch("/connections/{connection_id}/scopes/{scope_id:path}")
def patch_scope(
    plugin: str, connection_id: int, scope_id: str, body: Any = JSONBody, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    return ctx.scopes.patch(plugin, connection_id, scope_id, body).model_dump(by_alias=True, mode="json")


@router.delete("/connections/{connection_id}/scopes/{scope_id:path}")
def delete_scope(
    plugin: str, connection_id: int, scope_id: str, ctx: AppContext = Depends(get_ctx)
) -> dict[str, Any]:
    return ctx.scopes.delete(plugin, connection_id, scope_id).model_dump(by_alias=True, mode="json")
