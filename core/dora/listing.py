"""What the figures were computed from: a project's incidents (with their links) and deployments.

Pages are fetched with LIMIT/OFFSET; details of the page's deployments are looked up for
that page only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from core.dora.fragments import PIDR, deployments, project_incidents_join
from core.dora.project import load_project
from core.dora.window import Window, iso
from core.models.base import UTCDateTime

_TS = UTCDateTime()


def _typed(sql: str, *, result: dict[str, Any], params: tuple[str, ...] = ("lo", "hi")) -> Any:
    stmt = text(sql).bindparams(*(bindparam(n, type_=_TS) for n in params if f":{n}" in sql))
    return stmt.columns(**result) if result else stmt


def list_incidents(
    s: Session, project: str, window: Window, *, page: int, page_size: int, linked: bool | None = None
) -> dict[str, Any]:
    """Incidents created or resolved in the period that pass the project's filter, newest first."""
    settings = load_project(s, project)
    predicate, params = settings.incident_filter.predicate("i", "flt")
    params.update(project=project, lo=window.start, hi=window.end)
    where = f"""
        WHERE ((i.created_date >= :lo AND i.created_date < :hi)
               OR (i.resolution_date >= :lo AND i.resolution_date < :hi))
          AND ({predicate})
    """
    if linked is not None:
        where += " AND r.deployment_id IS NOT NULL" if linked else " AND r.deployment_id IS NULL"
    base = f"""
        FROM incidents i {project_incidents_join("i")}
        LEFT JOIN {PIDR} r ON r.id = i.id AND r.project_name = :project
        {where}
    """
    total = s.execute(_typed(f"SELECT COUNT(*) AS n {base}", result={}), params).scalar_one()
    rows = s.execute(
        _typed(
            f"""
            SELECT i.id, i.incident_key, i.title, i.url, i.status, i.original_status, i.priority,
                   i.severity, i.urgency, i.service, i.environment, i.team, i.commit_sha, i.version,
                   i.created_date, i.resolution_date, i.lead_time_minutes, i.scope_id,
                   r.deployment_id, r.link_type
            {base}
            ORDER BY i.created_date DESC, i.id DESC
            LIMIT :limit OFFSET :offset
            """,
            result={"created_date": _TS, "resolution_date": _TS},
        ),
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
    ).all()
    details = _deployment_details(s, project, {r.deployment_id for r in rows if r.deployment_id})
    items = [_incident(r, details.get(r.deployment_id)) for r in rows]
    return {"count": int(total), "page": page, "pageSize": page_size, "incidents": items}


def _incident(r: Any, dep: dict[str, Any] | None) -> dict[str, Any]:
    link = None
    if r.deployment_id:
        link = {
            "deploymentId": r.deployment_id,
            "linkType": r.link_type,
            "finishedDate": iso(dep["finished"]) if dep else None,
            "reason": _reason(r, dep),
        }
    return {
        "id": r.id,
        "incidentKey": r.incident_key,
        "title": r.title,
        "url": r.url,
        "status": r.status,
        "originalStatus": r.original_status,
        "priority": r.priority,
        "severity": r.severity,
        "urgency": r.urgency,
        "service": r.service,
        "environment": r.environment,
        "team": r.team,
        "boardId": r.scope_id,
        "createdDate": iso(r.created_date),
        "resolutionDate": iso(r.resolution_date),
        "leadTimeMinutes": r.lead_time_minutes,
        "deployment": link,
    }


def _reason(r: Any, dep: dict[str, Any] | None) -> str:
    if r.link_type == "explicit":
        if dep and r.commit_sha and r.commit_sha in dep["shas"]:
            return f"explicit: commit {r.commit_sha} was deployed by this deployment"
        if dep and r.version and r.version in dep["versions"]:
            return f"explicit: version {r.version} was deployed by this deployment"
        return "explicit: the incident's commit or version matches this deployment"
    if dep and dep["finished"] and r.created_date:
        minutes = (r.created_date - dep["finished"]).total_seconds() / 60
        return f"time rule: latest production deployment, finished {_duration(minutes)} before the incident"
    return "time rule: latest production deployment finished before the incident"


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _deployment_details(s: Session, project: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    stmt = (
        text(
            """
        SELECT c.cicd_deployment_id AS deployment_id, c.finished_date, c.commit_sha, c.version
        FROM cicd_deployment_commits c
        JOIN project_mapping pmd ON pmd.row_id = c.cicd_scope_id AND pmd.`table` = 'cicd_scopes'
        WHERE pmd.project_name = :project AND c.result = 'SUCCESS' AND c.environment = 'PRODUCTION'
          AND c.cicd_deployment_id IN :ids
        """
        )
        .bindparams(bindparam("ids", expanding=True))
        .columns(finished_date=_TS)
    )
    out: dict[str, dict[str, Any]] = {}
    for row in s.execute(stmt, {"project": project, "ids": sorted(ids)}):
        dep = out.setdefault(row.deployment_id, {"finished": None, "shas": set(), "versions": set()})
        if row.finished_date and (dep["finished"] is None or row.finished_date > dep["finished"]):
            dep["finished"] = row.finished_date
        dep["shas"].add(row.commit_sha)
        if row.version:
            dep["versions"].add(row.version)
    return out


def list_deployments(
    s: Session, project: str, window: Window, *, page: int, page_size: int
) -> dict[str, Any]:
    """Production deployments finished in the period, newest first, with their linked incidents."""
    load_project(s, project)
    params = {"project": project, "lo": window.start, "hi": window.end}
    total = s.execute(
        _typed(f"SELECT COUNT(*) FROM ({deployments(windowed=True)}) dep", result={}), params
    ).scalar_one()
    rows = s.execute(
        _typed(
            f"""
            SELECT dep.deployment_id, dep.finished_date, cd.name, cd.display_title, cd.url, cd.cicd_scope_id,
                (SELECT COUNT(*) FROM {PIDR} r JOIN incidents i ON i.id = r.id
                 WHERE r.deployment_id = dep.deployment_id AND r.project_name = :project) AS incidents
            FROM ({deployments(windowed=True)}) dep
            LEFT JOIN cicd_deployments cd ON cd.id = dep.deployment_id
            ORDER BY dep.finished_date DESC, dep.deployment_id DESC
            LIMIT :limit OFFSET :offset
            """,
            result={"finished_date": _TS},
        ),
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
    ).all()
    items = [
        {
            "id": r.deployment_id,
            "name": r.name,
            "displayTitle": r.display_title,
            "url": r.url,
            "cicdScopeId": r.cicd_scope_id,
            "finishedDate": iso(r.finished_date),
            "incidents": int(r.incidents),
            "failed": int(r.incidents) > 0,
        }
        for r in rows
    ]
    return {"count": int(total), "page": page, "pageSize": page_size, "deployments": items}
