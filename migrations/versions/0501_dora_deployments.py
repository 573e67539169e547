"""dora: _dora_deployments, the stage's per-project deployment index for linking

Revision ID: 0501_dora_deployments
Revises: 0500_dora_views
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import core.models.base

revision: str = "0501_dora_deployments"
down_revision: str | Sequence[str] | None = "0500_dora_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "_dora_deployments",
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column(
            "deployment_id",
            sa.String(length=255).with_variant(
                mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb"
            ),
            nullable=False,
        ),
        sa.Column("finished_date", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_name", "deployment_id", name=op.f("pk__dora_deployments")),
    )
    op.create_index(
        "ix_dora_deployments_finished",
        "_dora_deployments",
        ["project_name", "finished_date", "deployment_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_dora_deployments_finished", table_name="_dora_deployments")
    op.drop_table("_dora_deployments")
