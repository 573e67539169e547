"""dora: views of a project's incidents (after its filter) and deployments, for dashboards

Grafana panels read `dora_project_incidents` and `dora_project_deployments` instead of
repeating the incident filter and DevLake's deployment grouping in every query.

Revision ID: 0500_dora_views
Revises: 0001_core
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0500_dora_views"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILTERS = {
    "priorities": "priority",
    "severities": "severity",
    "urgencies": "urgency",
    "services": "service",
    "environments": "environment",
}
INCIDENT_COLUMNS = (
    "id, incident_key, title, url, status, original_status, priority, severity, urgency, service, "
    "environment, team, commit_sha, version, created_date, resolution_date, lead_time_minutes, scope_id"
)


def _allowed(dialect: str, key: str, column: str) -> str:
    """True when the project's filter list `key` is empty or holds the incident's value."""
    path = f"'$.{key}'"
    if dialect == "sqlite":
        return (
            f"(COALESCE(json_array_length(p.incident_filter, {path}), 0) = 0 OR EXISTS ("
            f"SELECT 1 FROM json_each(p.incident_filter, {path}) j WHERE LOWER(j.value) = LOWER(i.{column})))"
        )
    return (
        f"(COALESCE(JSON_LENGTH(p.incident_filter, {path}), 0) = 0 OR "
        f"JSON_CONTAINS(LOWER(JSON_EXTRACT(p.incident_filter, {path})), JSON_QUOTE(LOWER(i.{column}))))"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    columns = ", ".join(f"i.{c.strip()}" for c in INCIDENT_COLUMNS.split(","))
    allowed = " AND ".join(_allowed(dialect, k, c) for k, c in FILTERS.items())
    op.execute(
        f"""
        CREATE VIEW dora_project_incidents AS
        SELECT pm.project_name, {columns}, r.deployment_id, r.link_type
        FROM incidents i
        JOIN project_mapping pm ON pm.row_id = i.scope_id AND pm.`table` = i.`table`
        JOIN projects p ON p.name = pm.project_name
        LEFT JOIN project_incident_deployment_relationships r
          ON r.id = i.id AND r.project_name = pm.project_name
        WHERE {allowed}
        """
    )
    op.execute(
        """
        CREATE VIEW dora_project_deployments AS
        SELECT pm.project_name, c.cicd_deployment_id AS deployment_id, MAX(c.finished_date) AS finished_date
        FROM cicd_deployment_commits c
        JOIN project_mapping pm ON pm.row_id = c.cicd_scope_id AND pm.`table` = 'cicd_scopes'
        WHERE c.result = 'SUCCESS' AND c.environment = 'PRODUCTION' AND c.finished_date IS NOT NULL
        GROUP BY pm.project_name, c.cicd_deployment_id
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS dora_project_deployments")
    op.execute("DROP VIEW IF EXISTS dora_project_incidents")
