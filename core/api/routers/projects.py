"""Projects and their DORA figures (DESIGN.md routes), thin over ProjectService."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from core.api.deps import get_ctx
from core.context import AppContext
from core.services.projects import ProjectService, projects_service

router = APIRouter(prefix="/projects", tags=["projects"])
JSONBody = Body(default=None)


def service(ctx: AppContext = Depends(get_ctx)) -> ProjectService:
    return projects_service(ctx)


@router.post("", status_code=201)
def create_project(body: Any = JSONBody, svc: ProjectService = Depends(service)) -> dict[str, Any]:
    return svc.create(body)


@router.get("")
def list_projects(svc: ProjectService = Depends(service)) -> dict[str, Any]:
    projects = svc.list()
    return {"count": len(projects), "projects": projects}


@router.get("/{name}")
def get_project(name: str, svc: ProjectService = Depends(service)) -> dict[str, Any]:
    return svc.get(name)


@router.patch("/{name}")
def patch_project(name: str, body: Any = JSONBody, svc: ProjectService = Depends(service)) -> dict[str, Any]:
    return svc.patch(name, body)


@router.delete("/{name}")
def delete_project(name: str, svc: ProjectService = Depends(service)) -> dict[str, Any]:
    return svc.delete(name)


@router.get("/{name}/dora")
def project_dora(
    name: str,
    start: str | None = Query(default=None, alias="from", max_length=64),
    end: str | None = Query(default=None, alias="to", max_length=64),
    report: str | None = Query(default=None, max_length=8),
    aggregate: str | None = Query(default=None, max_length=16),
    svc: ProjectService = Depends(service),
) -> dict[str, Any]:
    return svc.dora(name, start=start, end=end, report=report, aggregate=aggregate)


@router.post("/{name}/dora/refresh")
def refresh_project(name: str, svc: ProjectService = Depends(service)) -> dict[str, Any]:
    """Run the project's DORA stage now: rebuild its incidents and their deployment links."""
    return svc.refresh(name)


@router.get("/{name}/incidents")
def project_incidents(
    name: str,
    start: str | None = Query(default=None, alias="from", max_length=64),
    end: str | None = Query(default=None, alias="to", max_length=64),
    linked: bool | None = Query(default=None),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000, alias="pageSize"),
    svc: ProjectService = Depends(service),
) -> dict[str, Any]:
    return svc.incidents(name, start=start, end=end, page=page, page_size=page_size, linked=linked)


@router.get("/{name}/deployments")
def project_deployments(
    name: str,
    start: str | None = Query(default=None, alias="from", max_length=64),
    end: str | None = Query(default=None, alias="to", max_length=64),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000, alias="pageSize"),
    svc: ProjectService = Depends(service),
) -> dict[str, Any]:
    return svc.deployments(name, start=start, end=end, page=page, page_size=page_size)
