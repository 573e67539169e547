"""datadog tables: raw DORA failures, deployments and monitor events, and their tool tables

Revision ID: 0200_datadog
Revises: 0001_core
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import core.models.base

revision: str = "0200_datadog"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAW = ("_raw_datadog_failures", "_raw_datadog_deployments", "_raw_datadog_monitor_events")


def _long_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql")


def _time() -> core.models.base.UTCDateTime:
    return core.models.base.UTCDateTime()


def _raw_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("params", sa.String(length=255), nullable=False),
        sa.Column("data", _long_text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "input",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("created_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(f"ix_{name}_params", ["params"], unique=False)


def _origin() -> list[sa.Column]:
    return [
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
    ]


def _dora_columns() -> list[sa.Column]:
    return [
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.String(length=255), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("env", sa.String(length=255), nullable=True),
        sa.Column("started_at", _time(), nullable=True),
        sa.Column("finished_at", _time(), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("commit_sha", sa.String(length=255), nullable=True),
        sa.Column("repository_url", sa.Text(), nullable=True),
        sa.Column("custom_tags", _long_text(), nullable=True),
    ]


def upgrade() -> None:
    for name in RAW:
        _raw_table(name)

    op.create_table(
        "_tool_datadog_failures",
        *_dora_columns(),
        sa.Column("name", _long_text(), nullable=True),
        sa.Column("services", sa.Text(), nullable=True),
        sa.Column("severity", sa.String(length=255), nullable=True),
        *_origin(),
        sa.PrimaryKeyConstraint("connection_id", "scope_id", "id", name=op.f("pk__tool_datadog_failures")),
    )
    with op.batch_alter_table("_tool_datadog_failures", schema=None) as batch_op:
        batch_op.create_index("ix_tool_dd_failures_raw", ["connection_id", "scope_id", "_raw_data_id"])
        batch_op.create_index(
            "ix_tool_dd_failures_open", ["connection_id", "scope_id", "finished_at", "started_at"]
        )

    op.create_table(
        "_tool_datadog_deployments",
        *_dora_columns(),
        sa.Column("service", sa.String(length=255), nullable=True),
        *_origin(),
        sa.PrimaryKeyConstraint("connection_id", "scope_id", "id", name=op.f("pk__tool_datadog_deployments")),
    )
    with op.batch_alter_table("_tool_datadog_deployments", schema=None) as batch_op:
        batch_op.create_index("ix_tool_dd_deployments_raw", ["connection_id", "scope_id", "_raw_data_id"])

    op.create_table(
        "_tool_datadog_monitor_events",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.String(length=255), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("transition", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("happened_at", _time(), nullable=False),
        sa.Column("happened_ms", sa.BigInteger(), nullable=False),
        sa.Column("title", _long_text(), nullable=True),
        sa.Column("message", _long_text(), nullable=True),
        sa.Column("monitor_name", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=255), nullable=True),
        sa.Column("env", sa.String(length=255), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        *_origin(),
        sa.PrimaryKeyConstraint(
            "connection_id", "scope_id", "id", name=op.f("pk__tool_datadog_monitor_events")
        ),
    )
    with op.batch_alter_table("_tool_datadog_monitor_events", schema=None) as batch_op:
        batch_op.create_index("ix_tool_dd_monitor_events_raw", ["connection_id", "scope_id", "_raw_data_id"])
        batch_op.create_index(
            "ix_tool_dd_monitor_events_key",
            ["connection_id", "scope_id", "monitor_id", "group_key", "happened_at"],
        )


def downgrade() -> None:
    op.drop_table("_tool_datadog_monitor_events")
    op.drop_table("_tool_datadog_deployments")
    op.drop_table("_tool_datadog_failures")
    for name in reversed(RAW):
        op.drop_table(name)
