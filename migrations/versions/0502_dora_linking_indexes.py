"""dora: indexes for linking — _dora_deployments.ordinal and cicd_deployment_commits.version

Linking finds an incident's latest earlier deployment by its rank (`ordinal`, by finish
then id); an index on (project, ordinal) keeps that a lookup instead of a join on a
computed value. Explicit links match an incident's `version` against deployments', which
needs an index on `cicd_deployment_commits.version` (commit_sha has one already).

Revision ID: 0502_dora_linking_indexes
Revises: 0501_dora_deployments
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0502_dora_linking_indexes"
down_revision: str | Sequence[str] | None = "0501_dora_deployments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("_dora_deployments") as batch:
        batch.add_column(sa.Column("ordinal", sa.BigInteger(), nullable=True))
    op.create_index("ix_dora_deployments_ordinal", "_dora_deployments", ["project_name", "ordinal"])
    op.create_index("ix_dora_cdc_version", "cicd_deployment_commits", ["version"])


def downgrade() -> None:
    op.drop_index("ix_dora_cdc_version", table_name="cicd_deployment_commits")
    op.drop_index("ix_dora_deployments_ordinal", table_name="_dora_deployments")
    with op.batch_alter_table("_dora_deployments") as batch:
        batch.drop_column("ordinal")
