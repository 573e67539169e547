"""webhook: aliases of pushed incidents (id / env+service+started_at → issue key)

Revision ID: 0300_webhook
Revises: 0001_core
Create Date: 2026-11-22 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0300_webhook"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "_tool_webhook_incident_keys",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("issue_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "alias", name=op.f("pk__tool_webhook_incident_keys")),
    )


def downgrade() -> None:
    op.drop_table("_tool_webhook_incident_keys")
