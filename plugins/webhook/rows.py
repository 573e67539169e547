"""Validated bodies → domain rows (pure functions, so every mapping is unit-testable).

DevLake bodies map as DevLake's webhook plugin maps them; Datadog bodies map onto the same
tables, with the extension columns (environment, service, team, commit_sha, version) filled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugins.webhook import ids
from plugins.webhook.schemas.datadog import DeploymentAttributes, FailureAttributes
from plugins.webhook.schemas.devlake import DeploymentBody, IssueBody
from plugins.webhook.timestamps import whole_minutes

INCIDENT = "INCIDENT"
SUCCESS = "SUCCESS"
DONE = "DONE"
PRODUCTION = "PRODUCTION"

_ENVIRONMENTS = (  # first match wins: "preprod" is staging before "prod" is production
    ("STAGING", re.compile(r"(^|[^a-z])(stag|staging|stage|stg|pre-?prod|preproduction|uat)([^a-z]|$)")),
    ("PRODUCTION", re.compile(r"(^|[^a-z])(prod|production|prd|live)([^a-z]|$)")),
    ("TESTING", re.compile(r"(^|[^a-z])(test|testing|qa|tst)([^a-z]|$)")),
    ("DEVELOPMENT", re.compile(r"(^|[^a-z])(dev|development|local|sandbox)([^a-z]|$)")),
)


@dataclass(frozen=True)
class Upsert:
    """Rows for one table, and the columns an existing row takes from them (None = all)."""

    rows: list[dict[str, Any]]
    update: list[str] | None = None


def lead_minutes(created: datetime | None, resolved: datetime | None) -> int | None:
    """Whole minutes from creation to resolution; NULL until resolved (DESIGN.md)."""
    if created is None or resolved is None or resolved < created:
        return None
    return whole_minutes(created, resolved)


def domain_environment(env: str | None) -> str:
    """Datadog's free-form `env` → DevLake's PRODUCTION | STAGING | TESTING | DEVELOPMENT.

    No env means production, as DevLake's webhook defaults; an env no rule recognises is
    kept upper-cased, so it is never mistaken for production.
    """
    if not env or not env.strip():
        return PRODUCTION
    lowered = env.strip().lower()
    for name, pattern in _ENVIRONMENTS:
        if pattern.search(lowered):
            return name
    return env.strip().upper()[:255]


def provenance(connection_id: int) -> dict[str, Any]:
    return {"_raw_data_params": ids.raw_params(connection_id), "_raw_data_table": ""}


def remark(**values: Any) -> str | None:
    """Datadog fields without a column (custom tags, repository of an incident, team of a
    deployment), kept as JSON in `_raw_data_remark`."""
    kept = {k: v for k, v in values.items() if v}
    if not kept:
        return None
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


# -- DevLake webhook ----------------------------------------------------------------------


def devlake_issue(connection_id: int, body: IssueBody) -> dict[str, Any]:
    """DevLake's PostIssue: the whole issue as sent (a repeat post overwrites it)."""
    lead = body.lead_time_minutes or lead_minutes(body.created_date, body.resolution_date)

    def prefixed(key: str | None) -> str | None:
        return ids.user_id(connection_id, key) if key else None

    return {
        "id": ids.issue_id(connection_id, body.issue_key),
        "url": body.url,
        "issue_key": body.issue_key,
        "title": body.title,
        "description": body.description,
        "epic_key": body.epic_key,
        "type": body.type,
        "original_type": body.type,
        "status": body.status,
        "original_status": body.original_status,
        "story_point": body.story_point,
        "resolution_date": body.resolution_date,
        "created_date": body.created_date,
        "updated_date": body.updated_date,
        "lead_time_minutes": lead,
        "original_estimate_minutes": body.original_estimate_minutes,
        "time_spent_minutes": body.time_spent_minutes,
        "time_remaining_minutes": body.time_remaining_minutes,
        "creator_id": prefixed(body.creator_id),
        "creator_name": body.creator_name,
        "assignee_id": prefixed(body.assignee_id),
        "assignee_name": body.assignee_name,
        "parent_issue_id": ids.issue_id(connection_id, body.parent_issue_key)
        if body.parent_issue_key
        else None,
        "priority": body.priority,
        "severity": body.severity,
        "component": body.component,
        "environment": body.environment,
        "service": body.service,
        "team": body.team,
        "commit_sha": body.commit_sha,
        "version": body.version,
        **provenance(connection_id),
    }


def closed_issue(issue: dict[str, Any], now: datetime) -> Upsert:
    """DevLake's CloseIssue (status DONE, original status cleared) plus what DevLake left
    empty: the resolution date (kept if already resolved) and the lead time."""
    resolved = issue.get("resolution_date") or now
    created = issue.get("created_date")
    row = {
        "id": issue["id"],
        "status": DONE,
        "original_status": "",
        "resolution_date": resolved,
        "updated_date": now,
        "lead_time_minutes": issue.get("lead_time_minutes") or lead_minutes(created, resolved),
    }
    return Upsert([row], [c for c in row if c != "id"])


def devlake_deployment(connection_id: int, body: DeploymentBody) -> tuple[Upsert, Upsert]:
    """DevLake's PostDeployments: one deployment and one row per deployed commit."""
    deployment = ids.deployment_id(connection_id, body.id)
    scope = ids.scope_id(connection_id)
    created = body.created_date or body.started_date
    result = body.result or SUCCESS
    environment = body.environment or PRODUCTION
    duration = float((body.finished_date - body.started_date).total_seconds() // 1)
    commits = []
    for c in body.deployment_commits:
        c_result, c_status = c.result or SUCCESS, c.status or DONE
        commits.append(
            {
                "id": ids.deployment_commit_id(connection_id, body.id, c.repo_url, c.commit_sha),
                "commit_sha": c.commit_sha,
                "cicd_deployment_id": deployment,
                "cicd_scope_id": scope,
                "name": c.name or f"deployment for {c.commit_sha}",
                "display_title": c.display_title,
                "result": c_result,
                "status": c_status,
                "original_result": c_result,
                "original_status": c_status,
                "environment": environment,
                "original_environment": body.original_environment,
                "created_date": c.created_date or created,
                "started_date": c.started_date or body.started_date,
                "finished_date": c.finished_date or body.finished_date,
                "duration_sec": duration,
                "repo_id": c.repo_id,
                "repo_url": c.repo_url,
                "ref_name": c.ref_name,
                "commit_msg": c.commit_msg,
                **provenance(connection_id),
            }
        )
    first = commits[0]
    shas = ",".join(c.commit_sha for c in body.deployment_commits)
    row = {
        "id": deployment,
        "cicd_scope_id": scope,
        "name": (body.name or f"deploy {shas} to {environment}")[:255],
        "display_title": body.display_title,
        "result": result,
        "status": first["status"],
        "original_result": first["original_result"],
        "original_status": first["original_status"],
        "environment": environment,
        "original_environment": body.original_environment,
        "created_date": created,
        "started_date": body.started_date,
        "finished_date": body.finished_date,
        "duration_sec": duration,
        **provenance(connection_id),
    }
    return Upsert([row]), Upsert(commits)


# -- Datadog DORA ------------------------------------------------------------------------


def failure_service(attrs: FailureAttributes) -> str | None:
    return attrs.services[0] if attrs.services else None


def datadog_failure(connection_id: int, key: str, attrs: FailureAttributes, kind: str) -> Upsert:
    """A Datadog failure/incident event → an INCIDENT issue.

    A later event for the same incident (e.g. the resolution) updates only what it carries:
    fields it leaves out keep their stored values, and without `finished_at` the resolution
    is left as it is.
    """
    services = attrs.services or []
    title = attrs.name or f"Incident on {', '.join(services) or attrs.team}"
    resolved = attrs.finished_at
    row: dict[str, Any] = {
        "id": ids.issue_id(connection_id, key),
        "issue_key": key,
        "title": title,
        "type": INCIDENT,
        "original_type": kind,
        "status": DONE if resolved else "IN_PROGRESS",
        "original_status": "resolved" if resolved else "open",
        "created_date": attrs.started_at,
        "updated_date": resolved or attrs.started_at,
        "resolution_date": resolved,
        "lead_time_minutes": lead_minutes(attrs.started_at, resolved),
        "severity": attrs.severity,
        "component": ",".join(services)[:255] or None,
        "environment": attrs.env,
        "service": failure_service(attrs),
        "team": attrs.team,
        "commit_sha": attrs.git.commit_sha if attrs.git else None,
        "version": attrs.version,
        "_raw_data_remark": remark(
            customTags=attrs.custom_tags, repositoryUrl=attrs.git.repository_url if attrs.git else None
        ),
        **provenance(connection_id),
    }
    optional = {
        "title": attrs.name,
        "severity": attrs.severity,
        "component": attrs.services,
        "service": attrs.services,
        "environment": attrs.env,
        "team": attrs.team,
        "commit_sha": attrs.git,
        "version": attrs.version,
        "_raw_data_remark": attrs.custom_tags or attrs.git,
    }
    resolution = {"status", "original_status", "updated_date", "resolution_date", "lead_time_minutes"}
    update = [
        c
        for c in row
        if c != "id"
        and not (c in optional and optional[c] is None)
        and not (c in resolution and resolved is None)
    ]
    return Upsert([row], update)


def datadog_deployment(connection_id: int, key: str, attrs: DeploymentAttributes) -> tuple[Upsert, Upsert]:
    """A Datadog deployment event → a deployment and its commit row.

    DevLake's dashboards count deployments from `cicd_deployment_commits`, so a deployment
    sent without `git` still gets one row, with an empty `commit_sha`.
    """
    deployment = ids.deployment_id(connection_id, key)
    environment = domain_environment(attrs.env)
    label = attrs.version or (attrs.git.commit_sha if attrs.git else None)
    common = {
        "cicd_scope_id": ids.scope_id(connection_id),
        "name": f"deploy {attrs.service}{' ' + label if label else ''} to {environment}"[:255],
        "display_title": attrs.service,
        "result": SUCCESS,
        "status": DONE,
        "original_result": SUCCESS,
        "original_status": DONE,
        "environment": environment,
        "original_environment": attrs.env,
        "created_date": attrs.started_at,
        "started_date": attrs.started_at,
        "finished_date": attrs.finished_at,
        "duration_sec": float((attrs.finished_at - attrs.started_at).total_seconds() // 1),
        "version": attrs.version,
        "_raw_data_remark": remark(team=attrs.team, customTags=attrs.custom_tags),
        **provenance(connection_id),
    }
    if attrs.git:
        commit = {
            "id": ids.deployment_commit_id(
                connection_id, key, attrs.git.repository_url, attrs.git.commit_sha
            ),
            "commit_sha": attrs.git.commit_sha,
            "repo_url": attrs.git.repository_url,
        }
    else:
        commit = {"id": deployment, "commit_sha": "", "repo_url": None}
    commit_row = {**common, **commit, "cicd_deployment_id": deployment}
    return Upsert([{"id": deployment, **common}]), Upsert([commit_row])
