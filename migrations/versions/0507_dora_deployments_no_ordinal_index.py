"""dora: no (project, ordinal) index on _dora_deployments

The time rule now finds a deployment by its ordinal in a temporary copy of the project's
deployments keyed by ordinal; nothing reads `_dora_deployments` by ordinal any more, and
the stage's INSERT of every deployment maintained the index for nothing.

Revision ID: 0507_dora_no_ordinal_index
Revises: 0506_dora_incidents_one_scope
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0507_dora_no_ordinal_index"
down_revision: str | Sequence[str] | None = "0506_dora_incidents_one_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dora_deployments_ordinal", table_name="_dora_deployments")


def downgrade() -> None:
    op.create_index("ix_dora_deployments_ordinal", "_dora_deployments", ["project_name", "ordinal"])
