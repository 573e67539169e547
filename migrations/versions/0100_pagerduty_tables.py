"""pagerduty tables

Revision ID: 0100_pagerduty
Revises: 0001_core
Create Date: 2026-11-22 15:33:18.772640
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import core.models.base

revision: str = "0100_pagerduty"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "_raw_pagerduty_incidents",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("params", sa.String(length=255), nullable=False),
        sa.Column(
            "data",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "input",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk__raw_pagerduty_incidents")),
    )
    with op.batch_alter_table("_raw_pagerduty_incidents", schema=None) as batch_op:
        batch_op.create_index("ix__raw_pagerduty_incidents_params", ["params"], unique=False)

    op.create_table(
        "_raw_pagerduty_services",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("params", sa.String(length=255), nullable=False),
        sa.Column(
            "data",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "input",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk__raw_pagerduty_services")),
    )
    with op.batch_alter_table("_raw_pagerduty_services", schema=None) as batch_op:
        batch_op.create_index("ix__raw_pagerduty_services_params", ["params"], unique=False)

    op.create_table(
        "_tool_pagerduty_assignments",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("assigned_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "connection_id", "incident_number", "user_id", name=op.f("pk__tool_pagerduty_assignments")
        ),
    )
    op.create_table(
        "_tool_pagerduty_incidents",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("service_id", sa.String(length=255), nullable=True),
        sa.Column(
            "title",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "summary",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("urgency", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=255), nullable=True),
        sa.Column("incident_key", sa.String(length=255), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("updated_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("resolved_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_status_change_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("team_id", sa.String(length=255), nullable=True),
        sa.Column("team_name", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "number", name=op.f("pk__tool_pagerduty_incidents")),
    )
    with op.batch_alter_table("_tool_pagerduty_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_tool_pd_incidents_raw", ["connection_id", "_raw_data_id"], unique=False)
        batch_op.create_index(
            "ix_tool_pd_incidents_service", ["connection_id", "service_id", "created_date"], unique=False
        )

    op.create_table(
        "_tool_pagerduty_services",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "id", name=op.f("pk__tool_pagerduty_services")),
    )
    op.create_table(
        "_tool_pagerduty_users",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "id", name=op.f("pk__tool_pagerduty_users")),
    )


def downgrade() -> None:
    op.drop_table("_tool_pagerduty_users")
    op.drop_table("_tool_pagerduty_services")
    op.drop_table("_tool_pagerduty_incidents")
    op.drop_table("_tool_pagerduty_assignments")
    op.drop_table("_raw_pagerduty_services")
    op.drop_table("_raw_pagerduty_incidents")
