"""pipeline runtime: runners with heartbeats, blueprint locks, pipeline labels

Revision ID: 0400_pipeline_runtime
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0400_pipeline_runtime"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runners",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_started", sa.Double(), nullable=False),
        sa.Column("started_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runners")),
    )
    op.create_table(
        "blueprint_locks",
        sa.Column("blueprint_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("blueprint_id", name=op.f("pk_blueprint_locks")),
    )
    op.create_index("ix_blueprint_locks_pipeline_id", "blueprint_locks", ["pipeline_id"], unique=False)
    op.create_table(
        "pipeline_labels",
        sa.Column("pipeline_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "name", name=op.f("pk_pipeline_labels")),
    )
    op.create_index("ix_pipeline_labels_name", "pipeline_labels", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pipeline_labels_name", table_name="pipeline_labels")
    op.drop_table("pipeline_labels")
    op.drop_index("ix_blueprint_locks_pipeline_id", table_name="blueprint_locks")
    op.drop_table("blueprint_locks")
    op.drop_table("pipeline_runners")
