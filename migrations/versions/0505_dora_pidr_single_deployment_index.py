"""dora: one deployment index on the relationships on SQLite

On SQLite, `ix_dora_pidr_deployment` (deployment_id, project_name, id) answers everything
`ix_pidr_deployment` (deployment_id) does, so the stage's million-row INSERT into
`project_incident_deployment_relationships` maintained two indexes in random order for one
use. MariaDB keeps `ix_pidr_deployment` (its secondary indexes carry the primary key, so it
covers the same lookups) and never had the other.

Revision ID: 0505_dora_pidr_single_index
Revises: 0504_dora_links
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0505_dora_pidr_single_index"
down_revision: str | Sequence[str] | None = "0504_dora_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_pidr_deployment", table_name="project_incident_deployment_relationships")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_pidr_deployment", "project_incident_deployment_relationships", ["deployment_id"])
