"""DevLake-compatible domain tables: what dashboards and the DORA stage read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, LongText, RawDataOrigin, Timestamps, UTCDateTime


class IncidentExtension:
    """Our nullable columns on issues/incidents for filters and explicit deployment links."""

    environment: Mapped[str | None] = mapped_column(String(255))
    service: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(255))


class IssueLike(IncidentExtension):
    """Columns shared by `issues` and `incidents`."""

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    url: Mapped[str | None] = mapped_column(Text())
    icon_url: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(LongText)
    description: Mapped[str | None] = mapped_column(LongText)
    original_type: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(100))
    original_status: Mapped[str | None] = mapped_column(String(255))
    resolution_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lead_time_minutes: Mapped[int | None] = mapped_column(BigInteger())
    original_estimate_minutes: Mapped[int | None] = mapped_column(BigInteger())
    time_spent_minutes: Mapped[int | None] = mapped_column(BigInteger())
    time_remaining_minutes: Mapped[int | None] = mapped_column(BigInteger())
    creator_id: Mapped[str | None] = mapped_column(String(255))
    creator_name: Mapped[str | None] = mapped_column(String(255))
    assignee_id: Mapped[str | None] = mapped_column(String(255))
    assignee_name: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str | None] = mapped_column(String(255))
    urgency: Mapped[str | None] = mapped_column(String(255))
    component: Mapped[str | None] = mapped_column(String(255))
    original_project: Mapped[str | None] = mapped_column(String(255))
    is_subtask: Mapped[bool | None] = mapped_column(Boolean(), default=False)
    fix_versions: Mapped[str | None] = mapped_column(String(255))


class Issue(IssueLike, RawDataOrigin, Base):
    __tablename__ = "issues"
    __table_args__ = (Index("ix_issues_type_created", "type", "created_date"),)

    issue_key: Mapped[str | None] = mapped_column(String(255))
    epic_key: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str | None] = mapped_column(String(100))
    story_point: Mapped[float | None] = mapped_column(Float())
    parent_issue_id: Mapped[str | None] = mapped_column(String(255))


class IssueAssignee(RawDataOrigin, Base):
    __tablename__ = "issue_assignees"

    issue_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    assignee_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    assignee_name: Mapped[str | None] = mapped_column(String(255))


class Board(RawDataOrigin, Base):
    __tablename__ = "boards"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text())
    url: Mapped[str | None] = mapped_column(Text())
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    type: Mapped[str | None] = mapped_column(String(255))


class BoardIssue(RawDataOrigin, Base):
    __tablename__ = "board_issues"
    __table_args__ = (Index("ix_board_issues_issue_id", "issue_id"),)

    board_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    issue_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class Incident(IssueLike, RawDataOrigin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # migration 0503: time to restore reads incidents by (board, resolution date); also
        # the one (table, scope_id) index since migration 0506
        Index("ix_dora_incidents_resolution", "table", "scope_id", "resolution_date", "lead_time_minutes"),
    )

    incident_key: Mapped[str | None] = mapped_column(String(255))
    parent_incident_id: Mapped[str | None] = mapped_column(String(255))
    table: Mapped[str | None] = mapped_column("table", String(255))
    scope_id: Mapped[str | None] = mapped_column(String(255))


class IncidentAssignee(RawDataOrigin, Base):
    __tablename__ = "incident_assignees"

    incident_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    assignee_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    assignee_name: Mapped[str | None] = mapped_column(String(255))


class CicdScope(RawDataOrigin, Base):
    __tablename__ = "cicd_scopes"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text())
    url: Mapped[str | None] = mapped_column(Text())
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeploymentLike:
    cicd_scope_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    display_title: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text())
    result: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(100))
    original_status: Mapped[str | None] = mapped_column(String(100))
    original_result: Mapped[str | None] = mapped_column(String(100))
    environment: Mapped[str | None] = mapped_column(String(255))
    original_environment: Mapped[str | None] = mapped_column(String(255))
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    queued_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_sec: Mapped[float | None] = mapped_column(Float())
    queued_duration_sec: Mapped[float | None] = mapped_column(Float())
    version: Mapped[str | None] = mapped_column(String(255))  # extension: explicit incident links


class CicdDeployment(DeploymentLike, RawDataOrigin, Base):
    __tablename__ = "cicd_deployments"
    __table_args__ = (Index("ix_cicd_deployments_scope_finished", "cicd_scope_id", "finished_date"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)


class CicdDeploymentCommit(DeploymentLike, RawDataOrigin, Base):
    __tablename__ = "cicd_deployment_commits"
    __table_args__ = (
        Index("ix_cdc_scope_finished", "cicd_scope_id", "finished_date"),
        Index("ix_cdc_deployment", "cicd_deployment_id"),
        Index("ix_cdc_commit_sha", "commit_sha"),
        Index("ix_dora_cdc_version", "version"),  # migration 0502: explicit links by version
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    commit_sha: Mapped[str] = mapped_column(String(255), primary_key=True)
    cicd_deployment_id: Mapped[str | None] = mapped_column(String(255))
    commit_msg: Mapped[str | None] = mapped_column(Text())
    ref_name: Mapped[str | None] = mapped_column(String(255))
    repo_id: Mapped[str | None] = mapped_column(String(255))
    repo_url: Mapped[str | None] = mapped_column(Text())
    prev_success_deployment_commit_id: Mapped[str | None] = mapped_column(String(255))


class ProjectMapping(RawDataOrigin, Base):
    __tablename__ = "project_mapping"
    __table_args__ = (Index("ix_project_mapping_row", "table", "row_id"),)

    project_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    table: Mapped[str] = mapped_column("table", String(255), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProjectIncidentDeploymentRelationship(RawDataOrigin, Base):
    __tablename__ = "project_incident_deployment_relationships"
    __table_args__ = (
        # InnoDB's secondary indexes carry the primary key, so on MySQL/MariaDB this one covers
        # the lookups by deployment; SQLite has the wider one instead (migrations 0503, 0505)
        Index("ix_pidr_deployment", "deployment_id").ddl_if(dialect=("mysql", "mariadb")),
        Index("ix_dora_pidr_deployment", "deployment_id", "project_name", "id").ddl_if(dialect="sqlite"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    project_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[str | None] = mapped_column(String(255))
    link_type: Mapped[str | None] = mapped_column(String(32))  # extension: explicit | time


class DoraBenchmark(Timestamps, Base):
    __tablename__ = "dora_benchmarks"

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(255))
    low: Mapped[str] = mapped_column(String(255))
    medium: Mapped[str] = mapped_column(String(255))
    high: Mapped[str] = mapped_column(String(255))
    elite: Mapped[str] = mapped_column(String(255))
    dora_report: Mapped[str] = mapped_column(String(255))


class CalendarMonth(Base):
    __tablename__ = "calendar_months"

    month: Mapped[str] = mapped_column(String(20), primary_key=True)  # '%y/%m', as DevLake
    month_timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
