"""Projects: name, description, incident filter, linking window and the scopes they own.

A project's scopes are `project_mapping` rows: `boards` for incident scopes and
`cicd_scopes` for deployment scopes. Blueprints write theirs when they run; the API can
also set scopes explicitly (`scopes: [{table, rowId}]`), for projects without a blueprint.
Rows written through the API are marked `_raw_data_table = 'projects'`, so replacing the
explicit list never removes what a blueprint wrote.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db import Database, upsert
from core.dora.filters import IncidentFilter
from core.dora.linking import link_incidents
from core.dora.listing import list_deployments, list_incidents
from core.dora.metrics import dora_report
from core.dora.models import DoraDeployment, DoraLink
from core.dora.stage import rebuild_incidents
from core.dora.window import window_from
from core.models import Blueprint, Project, ProjectIncidentDeploymentRelationship, ProjectMapping, utcnow
from core.plugin import CamelModel
from core.services.errors import Conflict, InvalidInput, NotFound
from core.services.validation import validate_model

EXPLICIT = "projects"  # `_raw_data_table` of mapping rows written by this API


class ScopeRef(CamelModel):
    table: Literal["boards", "cicd_scopes"]
    row_id: str = Field(min_length=1, max_length=255)


class ProjectBody(CamelModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    incident_filter: IncidentFilter | None = None
    linking_window_hours: float | None = Field(default=None, gt=0, le=24 * 365 * 10)
    scopes: list[ScopeRef] | None = Field(default=None, max_length=10_000)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if "/" in v or v != v.strip():
            raise ValueError("must not contain '/' or surrounding spaces")
        return v


class ProjectPatch(CamelModel):
    description: str | None = Field(default=None, max_length=10_000)
    incident_filter: IncidentFilter | None = None
    linking_window_hours: float | None = Field(default=None, gt=0, le=24 * 365 * 10)
    scopes: list[ScopeRef] | None = Field(default=None, max_length=10_000)


class ProjectService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- CRUD --------------------------------------------------------------------------
    def create(self, payload: Any) -> dict[str, Any]:
        body = validate_model(ProjectBody, _object(payload))
        with self.db.session() as s:
            if s.get(Project, body.name) is not None:
                raise Conflict(
                    f"project {body.name!r} already exists",
                    causes=[{"field": "name", "message": "already used by another project"}],
                )
            now = utcnow()
            s.add(
                Project(
                    name=body.name,
                    description=body.description,
                    incident_filter=(body.incident_filter or IncidentFilter()).model_dump(),
                    linking_window_hours=body.linking_window_hours,
                    created_at=now,
                    updated_at=now,
                )
            )
            s.flush()
            if body.scopes is not None:
                _replace_explicit_scopes(s, body.name, body.scopes)
            return self._response(s, self._row(s, body.name))

    def list(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [self._response(s, p) for p in s.scalars(select(Project).order_by(Project.name))]

    def get(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self._response(s, self._row(s, name))

    def patch(self, name: str, payload: Any) -> dict[str, Any]:
        data = _object(payload)
        if "name" in data and data["name"] != name:
            raise InvalidInput.field("name", "a project cannot be renamed")
        data.pop("name", None)
        body = validate_model(ProjectPatch, data)
        with self.db.session() as s:
            row = self._row(s, name)
            if "description" in body.model_fields_set:
                row.description = body.description
            if "incident_filter" in body.model_fields_set:
                row.incident_filter = (body.incident_filter or IncidentFilter()).model_dump()
            if "linking_window_hours" in body.model_fields_set:
                row.linking_window_hours = body.linking_window_hours
            if body.scopes is not None:
                _replace_explicit_scopes(s, name, body.scopes)
            row.updated_at = utcnow()
            s.flush()
            return self._response(s, row)

    def delete(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = self._row(s, name)
            users = s.scalars(select(Blueprint.name).where(Blueprint.project_name == name)).all()
            if users:
                raise Conflict(
                    f"project {name!r} is used by blueprint(s) "
                    + ", ".join(repr(u) for u in users)
                    + "; delete them or move them to another project first"
                )
            out = self._response(s, row)
            s.execute(delete(ProjectMapping).where(ProjectMapping.project_name == name))
            s.execute(
                delete(ProjectIncidentDeploymentRelationship).where(
                    ProjectIncidentDeploymentRelationship.project_name == name
                )
            )
            for table in (DoraDeployment, DoraLink):  # what the stage derived for the project
                s.execute(delete(table).where(table.project_name == name))
            s.delete(row)
            return out

    # -- DORA --------------------------------------------------------------------------
    def refresh(self, name: str) -> dict[str, Any]:
        """Run the project's DORA stage now (what pipelines run as their last stage)."""
        self.get(name)
        began = time.monotonic()
        rebuilt = rebuild_incidents(self.db, name)
        linked = link_incidents(self.db, name)
        return {
            "project": name,
            "incidents": rebuilt.incidents,
            "incidentAssignees": rebuilt.assignees,
            "linkedExplicit": linked.explicit,
            "linkedByTime": linked.time,
            "spentSeconds": round(time.monotonic() - began, 3),
        }

    def dora(
        self, name: str, *, start: str | None, end: str | None, report: str | None, aggregate: str | None
    ) -> dict[str, Any]:
        window = _window(start, end)
        report = report or "2023"
        aggregate = aggregate or "median"
        if report not in ("2021", "2023"):
            raise InvalidInput.field("report", "must be 2021 or 2023")
        if aggregate not in ("median", "mean", "p90"):
            raise InvalidInput.field("aggregate", "must be median, mean or p90")
        with self.db.session() as s:
            return dora_report(s, name, window, report, aggregate)

    def incidents(
        self,
        name: str,
        *,
        start: str | None,
        end: str | None,
        page: int = 1,
        page_size: int = 100,
        linked: bool | None = None,
    ) -> dict[str, Any]:
        window = _window(start, end)
        with self.db.session() as s:
            return list_incidents(s, name, window, page=page, page_size=page_size, linked=linked)

    def deployments(
        self, name: str, *, start: str | None, end: str | None, page: int = 1, page_size: int = 100
    ) -> dict[str, Any]:
        window = _window(start, end)
        with self.db.session() as s:
            return list_deployments(s, name, window, page=page, page_size=page_size)

    # -- internals ---------------------------------------------------------------------
    def _row(self, s: Session, name: str) -> Project:
        row = s.get(Project, name)
        if row is None:
            raise NotFound(f"project {name!r} not found")
        return row

    def _response(self, s: Session, row: Project) -> dict[str, Any]:
        scopes = s.execute(
            select(ProjectMapping.table, ProjectMapping.row_id, ProjectMapping.raw_data_table)
            .where(ProjectMapping.project_name == row.name)
            .order_by(ProjectMapping.table, ProjectMapping.row_id)
        ).all()
        blueprints = s.scalars(select(Blueprint.name).where(Blueprint.project_name == row.name)).all()
        return {
            "name": row.name,
            "description": row.description,
            "incidentFilter": IncidentFilter.from_stored(row.incident_filter).model_dump(by_alias=True),
            "linkingWindowHours": row.linking_window_hours,
            "scopes": [
                {"table": t, "rowId": r, "source": "api" if src == EXPLICIT else "blueprint"}
                for t, r, src in scopes
            ],
            "blueprints": list(blueprints),
            "createdAt": _iso(row.created_at),
            "updatedAt": _iso(row.updated_at),
        }


def _replace_explicit_scopes(s: Session, name: str, scopes: list[ScopeRef]) -> None:
    wanted = {(sc.table, sc.row_id) for sc in scopes}
    existing = s.execute(
        select(ProjectMapping.table, ProjectMapping.row_id).where(
            ProjectMapping.project_name == name, ProjectMapping.raw_data_table == EXPLICIT
        )
    ).all()
    for table, row_id in existing:
        if (table, row_id) not in wanted:
            s.execute(
                delete(ProjectMapping).where(
                    ProjectMapping.project_name == name,
                    ProjectMapping.table == table,
                    ProjectMapping.row_id == row_id,
                )
            )
    now = utcnow()
    upsert(
        s,
        ProjectMapping,
        [
            {
                "project_name": name,
                "table": table,
                "row_id": row_id,
                "_raw_data_table": EXPLICIT,
                "created_at": now,
                "updated_at": now,
            }
            for table, row_id in sorted(wanted)
        ],
    )


def _window(start: str | None, end: str | None) -> Any:
    try:
        return window_from(start, end)
    except ValueError as exc:
        message = str(exc)
        field = message.split(":", 1)[0] if ":" in message else "from"
        raise InvalidInput(message, causes=[{"field": field, "message": message}]) from None


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput(
            "body: must be a JSON object", causes=[{"field": "body", "message": "must be an object"}]
        )
    return dict(payload)


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def projects_service(ctx: Any) -> ProjectService:
    """The service for a running AppContext, created once and kept in `ctx.extras`."""
    service = ctx.extras.get("projects")
    if service is None:
        service = ctx.extras["projects"] = ProjectService(ctx.db)
    return service
