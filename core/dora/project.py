"""What the DORA code needs to know about a project: its filter, window and scopes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dora.filters import IncidentFilter
from core.models import Project, ProjectMapping
from core.services.errors import NotFound


@dataclass(frozen=True)
class ProjectSettings:
    name: str
    incident_filter: IncidentFilter
    linking_window_hours: float | None


def load_project(s: Session, name: str) -> ProjectSettings:
    row = s.get(Project, name)
    if row is None:
        raise NotFound(f"project {name!r} not found")
    return ProjectSettings(name, IncidentFilter.from_stored(row.incident_filter), row.linking_window_hours)


def scope_counts(s: Session, name: str) -> dict[str, int]:
    """How many boards and cicd scopes the project owns (to explain missing figures)."""
    counts = {"boards": 0, "cicd_scopes": 0}
    rows = s.execute(select(ProjectMapping.table).where(ProjectMapping.project_name == name))
    for (table,) in rows:
        if table in counts:
            counts[table] += 1
    return counts


def sharing_filters(s: Session, name: str) -> list[tuple[str, IncidentFilter]]:
    """Filters of every project owning one of this project's boards (itself first).

    `incidents` has one row per incident, so a board shared by two projects keeps the
    incidents either project's filter lets through; each project's figures then apply its
    own filter again when they read `incidents`.
    """
    boards = select(ProjectMapping.row_id).where(
        ProjectMapping.project_name == name, ProjectMapping.table == "boards"
    )
    names = s.scalars(
        select(ProjectMapping.project_name)
        .where(ProjectMapping.table == "boards", ProjectMapping.row_id.in_(boards))
        .distinct()
        .order_by(ProjectMapping.project_name)
    ).all()
    own = load_project(s, name)
    out = [(own.name, own.incident_filter)]
    for other in names:
        if other == name:
            continue
        row = s.get(Project, other)
        if row is not None:  # a mapping left behind by a deleted project does not widen anything
            out.append((other, IncidentFilter.from_stored(row.incident_filter)))
    return out
