"""pagerduty: index tool incidents by (connection, service, raw id)

Convert reads a service's incidents extracted since its watermark in raw-id ranges; the old
(connection_id, _raw_data_id) index made each range walk the other services' rows too.

Revision ID: 0101_pagerduty_convert_index
Revises: 0100_pagerduty
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0101_pagerduty_convert_index"
down_revision: str | Sequence[str] | None = "0100_pagerduty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tool_pd_incidents_raw", table_name="_tool_pagerduty_incidents")
    op.create_index(
        "ix_tool_pd_incidents_service_raw",
        "_tool_pagerduty_incidents",
        ["connection_id", "service_id", "_raw_data_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tool_pd_incidents_service_raw", table_name="_tool_pagerduty_incidents")
    op.create_index("ix_tool_pd_incidents_raw", "_tool_pagerduty_incidents", ["connection_id", "_raw_data_id"])
