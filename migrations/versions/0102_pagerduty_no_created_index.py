"""pagerduty: no (connection, service, created date) index on tool incidents

Nothing reads tool incidents by service and creation date (convert reads a service's rows by
raw id through ix_tool_pd_incidents_service_raw); every extracted incident maintained the index
under SQLite's one write lock for nothing.

Revision ID: 0102_pagerduty_no_created_index
Revises: 0101_pagerduty_convert_index
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0102_pagerduty_no_created_index"
down_revision: str | Sequence[str] | None = "0101_pagerduty_convert_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tool_pd_incidents_service", table_name="_tool_pagerduty_incidents")


def downgrade() -> None:
    op.create_index(
        "ix_tool_pd_incidents_service",
        "_tool_pagerduty_incidents",
        ["connection_id", "service_id", "created_date"],
    )
