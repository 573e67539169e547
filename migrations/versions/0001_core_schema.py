"""core schema: domain and framework tables

Revision ID: 0001_core
Revises:
Create Date: 2026-11-22 15:22:37.758240
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import core.models.base

revision: str = "0001_core"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blueprints",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_name", sa.String(length=255), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "connections",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("cron_config", sa.String(length=255), nullable=False),
        sa.Column("enable", sa.Boolean(), nullable=False),
        sa.Column("is_manual", sa.Boolean(), nullable=False),
        sa.Column("skip_on_fail", sa.Boolean(), nullable=False),
        sa.Column("full_sync", sa.Boolean(), nullable=False),
        sa.Column("time_after", core.models.base.UTCDateTime(), nullable=True),
        sa.Column(
            "labels",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "settings",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprints")),
        sa.UniqueConstraint("name", name=op.f("uq_blueprints_name")),
    )
    with op.batch_alter_table("blueprints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blueprints_project_name"), ["project_name"], unique=False)

    op.create_table(
        "board_issues",
        sa.Column("board_id", sa.String(length=255), nullable=False),
        sa.Column("issue_id", sa.String(length=255), nullable=False),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("board_id", "issue_id", name=op.f("pk_board_issues")),
    )
    with op.batch_alter_table("board_issues", schema=None) as batch_op:
        batch_op.create_index("ix_board_issues_issue_id", ["issue_id"], unique=False)

    op.create_table(
        "boards",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
    )
    op.create_table(
        "calendar_months",
        sa.Column("month", sa.String(length=20), nullable=False),
        sa.Column("month_timestamp", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_calendar_months")),
    )
    with op.batch_alter_table("calendar_months", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_months_month_timestamp"), ["month_timestamp"], unique=False
        )

    op.create_table(
        "cicd_deployment_commits",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=255), nullable=False),
        sa.Column("cicd_deployment_id", sa.String(length=255), nullable=True),
        sa.Column("commit_msg", sa.Text(), nullable=True),
        sa.Column("ref_name", sa.String(length=255), nullable=True),
        sa.Column("repo_id", sa.String(length=255), nullable=True),
        sa.Column("repo_url", sa.Text(), nullable=True),
        sa.Column("prev_success_deployment_commit_id", sa.String(length=255), nullable=True),
        sa.Column("cicd_scope_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("display_title", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("result", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("original_status", sa.String(length=100), nullable=True),
        sa.Column("original_result", sa.String(length=100), nullable=True),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("original_environment", sa.String(length=255), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("queued_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("started_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("duration_sec", sa.Float(), nullable=True),
        sa.Column("queued_duration_sec", sa.Float(), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", "commit_sha", name=op.f("pk_cicd_deployment_commits")),
    )
    with op.batch_alter_table("cicd_deployment_commits", schema=None) as batch_op:
        batch_op.create_index("ix_cdc_commit_sha", ["commit_sha"], unique=False)
        batch_op.create_index("ix_cdc_deployment", ["cicd_deployment_id"], unique=False)
        batch_op.create_index("ix_cdc_scope_finished", ["cicd_scope_id", "finished_date"], unique=False)

    op.create_table(
        "cicd_deployments",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("cicd_scope_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("display_title", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("result", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("original_status", sa.String(length=100), nullable=True),
        sa.Column("original_result", sa.String(length=100), nullable=True),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("original_environment", sa.String(length=255), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("queued_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("started_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("duration_sec", sa.Float(), nullable=True),
        sa.Column("queued_duration_sec", sa.Float(), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cicd_deployments")),
    )
    with op.batch_alter_table("cicd_deployments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cicd_deployments_scope_finished", ["cicd_scope_id", "finished_date"], unique=False
        )

    op.create_table(
        "cicd_scopes",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("updated_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cicd_scopes")),
    )
    op.create_table(
        "collector_state",
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.String(length=255), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("time_after", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("latest_success_start", core.models.base.UTCDateTime(), nullable=True),
        sa.Column(
            "state",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint(
            "plugin", "connection_id", "scope_id", "entity", name=op.f("pk_collector_state")
        ),
    )
    op.create_table(
        "connections",
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=False,
        ),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("plugin", "id", name=op.f("pk_connections")),
        sa.UniqueConstraint("plugin", "name", name=op.f("uq_connections_plugin_name")),
    )
    op.create_table(
        "dora_benchmarks",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("metric", sa.String(length=255), nullable=False),
        sa.Column("low", sa.String(length=255), nullable=False),
        sa.Column("medium", sa.String(length=255), nullable=False),
        sa.Column("high", sa.String(length=255), nullable=False),
        sa.Column("elite", sa.String(length=255), nullable=False),
        sa.Column("dora_report", sa.String(length=255), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dora_benchmarks")),
    )
    op.create_table(
        "incident_assignees",
        sa.Column("incident_id", sa.String(length=255), nullable=False),
        sa.Column("assignee_id", sa.String(length=255), nullable=False),
        sa.Column("assignee_name", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "assignee_id", name=op.f("pk_incident_assignees")),
    )
    op.create_table(
        "incidents",
        sa.Column("incident_key", sa.String(length=255), nullable=True),
        sa.Column("parent_incident_id", sa.String(length=255), nullable=True),
        sa.Column("table", sa.String(length=255), nullable=True),
        sa.Column("scope_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("icon_url", sa.String(length=255), nullable=True),
        sa.Column(
            "title",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column("original_type", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("original_status", sa.String(length=255), nullable=True),
        sa.Column("resolution_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("updated_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("due_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("lead_time_minutes", sa.BigInteger(), nullable=True),
        sa.Column("original_estimate_minutes", sa.BigInteger(), nullable=True),
        sa.Column("time_spent_minutes", sa.BigInteger(), nullable=True),
        sa.Column("time_remaining_minutes", sa.BigInteger(), nullable=True),
        sa.Column("creator_id", sa.String(length=255), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=True),
        sa.Column("assignee_id", sa.String(length=255), nullable=True),
        sa.Column("assignee_name", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.String(length=255), nullable=True),
        sa.Column("severity", sa.String(length=255), nullable=True),
        sa.Column("urgency", sa.String(length=255), nullable=True),
        sa.Column("component", sa.String(length=255), nullable=True),
        sa.Column("original_project", sa.String(length=255), nullable=True),
        sa.Column("is_subtask", sa.Boolean(), nullable=True),
        sa.Column("fix_versions", sa.String(length=255), nullable=True),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("service", sa.String(length=255), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("commit_sha", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_scope", ["table", "scope_id"], unique=False)

    op.create_table(
        "issue_assignees",
        sa.Column("issue_id", sa.String(length=255), nullable=False),
        sa.Column("assignee_id", sa.String(length=255), nullable=False),
        sa.Column("assignee_name", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "assignee_id", name=op.f("pk_issue_assignees")),
    )
    op.create_table(
        "issues",
        sa.Column("issue_key", sa.String(length=255), nullable=True),
        sa.Column("epic_key", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("story_point", sa.Float(), nullable=True),
        sa.Column("parent_issue_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("icon_url", sa.String(length=255), nullable=True),
        sa.Column(
            "title",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column("original_type", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("original_status", sa.String(length=255), nullable=True),
        sa.Column("resolution_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("updated_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("due_date", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("lead_time_minutes", sa.BigInteger(), nullable=True),
        sa.Column("original_estimate_minutes", sa.BigInteger(), nullable=True),
        sa.Column("time_spent_minutes", sa.BigInteger(), nullable=True),
        sa.Column("time_remaining_minutes", sa.BigInteger(), nullable=True),
        sa.Column("creator_id", sa.String(length=255), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=True),
        sa.Column("assignee_id", sa.String(length=255), nullable=True),
        sa.Column("assignee_name", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.String(length=255), nullable=True),
        sa.Column("severity", sa.String(length=255), nullable=True),
        sa.Column("urgency", sa.String(length=255), nullable=True),
        sa.Column("component", sa.String(length=255), nullable=True),
        sa.Column("original_project", sa.String(length=255), nullable=True),
        sa.Column("is_subtask", sa.Boolean(), nullable=True),
        sa.Column("fix_versions", sa.String(length=255), nullable=True),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("service", sa.String(length=255), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("commit_sha", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index("ix_issues_type_created", ["type", "created_date"], unique=False)

    op.create_table(
        "pipelines",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("blueprint_id", sa.BigInteger(), nullable=True),
        sa.Column("fire_time", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "message",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column("error_name", sa.String(length=255), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("total_tasks", sa.Integer(), nullable=False),
        sa.Column("finished_tasks", sa.Integer(), nullable=False),
        sa.Column("skip_on_fail", sa.Boolean(), nullable=False),
        sa.Column("full_sync", sa.Boolean(), nullable=False),
        sa.Column("skip_collectors", sa.Boolean(), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("began_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("spent_seconds", sa.Float(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("runner_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("blueprint_id", "fire_time", name=op.f("uq_pipelines_blueprint_id_fire_time")),
    )
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipelines_blueprint_id"), ["blueprint_id"], unique=False)
        batch_op.create_index("ix_pipelines_status", ["status"], unique=False)

    op.create_table(
        "project_incident_deployment_relationships",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=True),
        sa.Column("link_type", sa.String(length=32), nullable=True),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "id", "project_name", name=op.f("pk_project_incident_deployment_relationships")
        ),
    )
    with op.batch_alter_table("project_incident_deployment_relationships", schema=None) as batch_op:
        batch_op.create_index("ix_pidr_deployment", ["deployment_id"], unique=False)

    op.create_table(
        "project_mapping",
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("table", sa.String(length=255), nullable=False),
        sa.Column("row_id", sa.String(length=255), nullable=False),
        sa.Column("_raw_data_params", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_table", sa.String(length=255), nullable=True),
        sa.Column("_raw_data_id", sa.BigInteger(), nullable=True),
        sa.Column("_raw_data_remark", sa.Text(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_name", "table", "row_id", name=op.f("pk_project_mapping")),
    )
    with op.batch_alter_table("project_mapping", schema=None) as batch_op:
        batch_op.create_index("ix_project_mapping_row", ["table", "row_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "incident_filter",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("linking_window_hours", sa.Float(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projects")),
    )
    op.create_table(
        "scopes",
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=False,
        ),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("plugin", "connection_id", "scope_id", name=op.f("pk_scopes")),
    )
    op.create_table(
        "webhook_api_keys",
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("last_used_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_webhook_api_keys")),
    )
    with op.batch_alter_table("webhook_api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_api_keys_connection_id"), ["connection_id"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("pipeline_row", sa.Integer(), nullable=False),
        sa.Column("pipeline_col", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column(
            "options",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "subtasks",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "message",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=True,
        ),
        sa.Column("error_name", sa.String(length=255), nullable=True),
        sa.Column("failed_sub_task", sa.String(length=255), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column(
            "progress_detail",
            sa.JSON().with_variant(mysql.JSON(), "mariadb").with_variant(mysql.JSON(), "mysql"),
            nullable=True,
        ),
        sa.Column("began_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", core.models.base.UTCDateTime(), nullable=True),
        sa.Column("spent_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_pipeline", ["pipeline_id", "pipeline_row", "pipeline_col"], unique=False
        )

    _seed_dora_benchmarks()
    _seed_calendar_months()


# DORA bands as published in the 2021 and 2023 State of DevOps reports (DevLake's rows and ids).
DORA_BENCHMARKS = [
    (
        1,
        "Deployment frequency",
        "Fewer than once per six months",
        "Between once per month and once every 6 months",
        "Between once per week and once per month",
        "On-demand",
        "2021",
    ),
    (
        2,
        "Lead time for changes",
        "More than six months",
        "Between one month and six months",
        "Between one week and one month",
        "Less than one hour",
        "2021",
    ),
    (
        3,
        "Time to restore service",
        "More than one week",
        "Between one day and one week",
        "Less than one day",
        "Less than one hour",
        "2021",
    ),
    (4, "Change failure rate", "> 30%", "21%-30%", "16%-20%", "0-15%", "2021"),
    (
        5,
        "Deployment frequency",
        "Fewer than once per month",
        "Between once per week and once per month",
        "Between once per day and once per week",
        "On-demand",
        "2023",
    ),
    (
        6,
        "Lead time for changes",
        "More than one month",
        "Between one week and one month",
        "Between one day and one week",
        "Less than one day",
        "2023",
    ),
    (
        7,
        "Failed deployment recovery time",
        "More than one week",
        "Between one day and one week",
        "Less than one day",
        "Less than one hour",
        "2023",
    ),
    (8, "Change failure rate", "> 15%", "11%-15%", "6%-10%", "0-5%", "2023"),
]
CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR = 2010, 2040


def _seed_dora_benchmarks() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    table = sa.table(
        "dora_benchmarks",
        sa.column("id", sa.Integer()),
        sa.column("metric", sa.String()),
        sa.column("low", sa.String()),
        sa.column("medium", sa.String()),
        sa.column("high", sa.String()),
        sa.column("elite", sa.String()),
        sa.column("dora_report", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("updated_at", sa.DateTime()),
    )
    keys = ("id", "metric", "low", "medium", "high", "elite", "dora_report")
    op.bulk_insert(
        table, [dict(zip(keys, row, strict=True), created_at=now, updated_at=now) for row in DORA_BENCHMARKS]
    )


def _seed_calendar_months() -> None:
    table = sa.table(
        "calendar_months", sa.column("month", sa.String()), sa.column("month_timestamp", sa.DateTime())
    )
    op.bulk_insert(
        table,
        [
            {"month": f"{year % 100:02d}/{month:02d}", "month_timestamp": datetime(year, month, 1)}
            for year in range(CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR + 1)
            for month in range(1, 13)
        ],
    )


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("webhook_api_keys")
    op.drop_table("scopes")
    op.drop_table("projects")
    op.drop_table("project_mapping")
    op.drop_table("project_incident_deployment_relationships")
    op.drop_table("pipelines")
    op.drop_table("issues")
    op.drop_table("issue_assignees")
    op.drop_table("incidents")
    op.drop_table("incident_assignees")
    op.drop_table("dora_benchmarks")
    op.drop_table("connections")
    op.drop_table("collector_state")
    op.drop_table("cicd_scopes")
    op.drop_table("cicd_deployments")
    op.drop_table("cicd_deployment_commits")
    op.drop_table("calendar_months")
    op.drop_table("boards")
    op.drop_table("board_issues")
    op.drop_table("blueprints")
