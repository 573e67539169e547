"""dora: one (table, scope_id) index on incidents

`ix_dora_incidents_resolution` (table, scope_id, resolution_date, lead_time_minutes) answers
every lookup `ix_incidents_scope` (table, scope_id) does, on both backends: the stage's
million-row INSERT into `incidents` maintained both for one use.

Revision ID: 0506_dora_incidents_one_scope
Revises: 0505_dora_pidr_single_index
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0506_dora_incidents_one_scope"
down_revision: str | Sequence[str] | None = "0505_dora_pidr_single_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_incidents_scope", table_name="incidents")


def downgrade() -> None:
    op.create_index("ix_incidents_scope", "incidents", ["table", "scope_id"])
