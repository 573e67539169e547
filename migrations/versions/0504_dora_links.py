"""dora: _dora_links replaces _dora_recoveries

The stage now writes every link once, with what the recovery time needs (the deployment's
finish, the incident's resolution), and copies the relationships from it — instead of
joining every linked incident back to `incidents` afterwards.

Revision ID: 0504_dora_links
Revises: 0503_dora_metric_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0504_dora_links"
down_revision: str | Sequence[str] | None = "0503_dora_metric_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recoveries() -> None:
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


def upgrade() -> None:
    op.drop_index("ix_dora_recoveries_resolution", table_name="_dora_recoveries")
    op.drop_table("_dora_recoveries")
    op.create_table(
        "_dora_links",
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.String(length=255), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("link_type", sa.String(length=32), nullable=False),
        sa.Column("deployment_finished_date", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("resolution_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("recovery_minutes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_name", "incident_id", name=op.f("pk__dora_links")),
    )
    op.create_index(
        "ix_dora_links_resolution",
        "_dora_links",
        ["project_name", "resolution_date", "deployment_finished_date", "recovery_minutes"],
    )


def downgrade() -> None:
    op.drop_index("ix_dora_links_resolution", table_name="_dora_links")
    op.drop_table("_dora_links")
    _recoveries()
