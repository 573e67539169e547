"""Liveness and version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from core import __version__
from core.api.deps import get_ctx
from core.context import AppContext

router = APIRouter(tags=["meta"])


@router.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/version")
def version() -> dict[str, str]:
    return {"version": __version__}


@router.get("/plugins")
def list_plugins(ctx: AppContext = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [
        {
            "plugin": p.name,
            "description": p.description,
            "secretFields": p.connection_model.secret_fields(),
            "subtasks": [{"name": s.name, "kind": s.kind, "description": s.description} for s in p.subtasks],
        }
        for p in ctx.registry.all()
    ]
