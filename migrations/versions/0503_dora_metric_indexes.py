"""dora: indexes for the metric queries and _dora_recoveries

Time to restore reads incidents by (board, resolution date): a covering index makes that a
range scan. Change failure rate probes the relationships by deployment: an index covering
the key on SQLite (InnoDB's secondary indexes carry the primary key already). Recovery time reads `_dora_recoveries`, written by the stage with the links.

Revision ID: 0503_dora_metric_indexes
Revises: 0502_dora_linking_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0503_dora_metric_indexes"
down_revision: str | Sequence[str] | None = "0502_dora_linking_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_dora_incidents_resolution",
        "incidents",
        ["table", "scope_id", "resolution_date", "lead_time_minutes"],
    )
    if op.get_bind().dialect.name == "sqlite":  # InnoDB's (deployment_id) index already holds the key
        op.create_index(
            "ix_dora_pidr_deployment",
            "project_incident_deployment_relationships",
            ["deployment_id", "project_name", "id"],
        )
    op.create_table(
        "_dora_recoveries",
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.String(length=255), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("deployment_finished_date", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("resolution_date", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("recovery_minutes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_name", "incident_id", name=op.f("pk__dora_recoveries")),
    )
    op.create_index(
        "ix_dora_recoveries_resolution",
        "_dora_recoveries",
        ["project_name", "resolution_date", "deployment_finished_date", "recovery_minutes"],
    )


def downgrade() -> None:
    op.drop_index("ix_dora_recoveries_resolution", table_name="_dora_recoveries")
    op.drop_table("_dora_recoveries")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_dora_pidr_deployment", table_name="project_incident_deployment_relationships")
    op.drop_index("ix_dora_incidents_resolution", table_name="incidents")
