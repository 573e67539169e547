"""Seed domain rows directly (as the plugins would write them) for DORA tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.db import Database, upsert
from core.models import (
    Board,
    BoardIssue,
    CicdDeployment,
    CicdDeploymentCommit,
    CicdScope,
    Issue,
    IssueAssignee,
    Project,
    ProjectMapping,
    utcnow,
)


@dataclass
class Seed:
    """Collects rows, then writes them in one go with `core.db.upsert`."""

    boards: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    board_issues: list[dict[str, Any]] = field(default_factory=list)
    assignees: list[dict[str, Any]] = field(default_factory=list)
    scopes: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    mapping: list[dict[str, Any]] = field(default_factory=list)

    def board(self, board_id: str, name: str | None = None) -> str:
        self.boards.append({"id": board_id, "name": name or board_id, "type": "INCIDENT"})
        return board_id

    def incident(
        self,
        issue_id: str,
        board: str,
        created: datetime | None,
        resolved: datetime | None = None,
        **extra: Any,
    ) -> str:
        lead = None
        if resolved is not None and created is not None:
            lead = int((resolved - created).total_seconds() // 60)
        row = {
            "id": issue_id,
            "issue_key": issue_id.rsplit(":", 1)[-1],
            "title": f"incident {issue_id}",
            "type": "INCIDENT",
            "status": "DONE" if resolved else "TODO",
            "original_status": "resolved" if resolved else "triggered",
            "created_date": created,
            "resolution_date": resolved,
            "lead_time_minutes": lead,
            "priority": None,
            "severity": None,
            "urgency": None,
            "service": None,
            "environment": None,
            "commit_sha": None,
            "version": None,
            "assignee_id": None,
            "assignee_name": None,
        }
        row.update(extra)
        self.issues.append(row)
        self.board_issues.append({"board_id": board, "issue_id": issue_id})
        return issue_id

    def scope(self, scope_id: str) -> str:
        self.scopes.append({"id": scope_id, "name": scope_id})
        return scope_id

    def deployment(
        self,
        deployment_id: str,
        scope: str,
        finished: datetime | None,
        *,
        commits: list[tuple[str, datetime | None]] | None = None,
        result: str = "SUCCESS",
        environment: str = "PRODUCTION",
        version: str | None = None,
    ) -> str:
        """A deployment and its commit rows; `commits` (sha, finished) default to one commit."""
        self.deployments.append(
            {
                "id": deployment_id,
                "cicd_scope_id": scope,
                "name": deployment_id,
                "result": result,
                "status": "DONE",
                "environment": environment,
                "finished_date": finished,
                "version": version,
            }
        )
        for n, (sha, done) in enumerate(commits or [(f"sha-{deployment_id}", finished)]):
            self.commits.append(
                {
                    "id": f"{deployment_id}:{n}",
                    "commit_sha": sha,
                    "cicd_deployment_id": deployment_id,
                    "cicd_scope_id": scope,
                    "result": result,
                    "environment": environment,
                    "finished_date": done,
                    "version": version,
                }
            )
        return deployment_id

    def project(
        self,
        name: str,
        *,
        boards: list[str] = (),  # type: ignore[assignment]
        cicd_scopes: list[str] = (),  # type: ignore[assignment]
        incident_filter: dict[str, list[str]] | None = None,
        linking_window_hours: float | None = None,
    ) -> str:
        self.projects.append(
            {
                "name": name,
                "incident_filter": incident_filter or {},
                "linking_window_hours": linking_window_hours,
            }
        )
        for b in boards:
            self.mapping.append({"project_name": name, "table": "boards", "row_id": b})
        for c in cicd_scopes:
            self.mapping.append({"project_name": name, "table": "cicd_scopes", "row_id": c})
        return name

    def write(self, db: Database) -> None:
        now = utcnow()
        with db.session() as s:
            for model, rows in (
                (Board, self.boards),
                (Issue, self.issues),
                (BoardIssue, self.board_issues),
                (IssueAssignee, self.assignees),
                (CicdScope, self.scopes),
                (CicdDeployment, self.deployments),
                (CicdDeploymentCommit, self.commits),
                (Project, self.projects),
                (ProjectMapping, self.mapping),
            ):
                if rows:
                    keys = {k for r in rows for k in r}  # upsert wants one column set per batch
                    full = [{**dict.fromkeys(keys), **r, "created_at": now, "updated_at": now} for r in rows]
                    upsert(s, model, full)
