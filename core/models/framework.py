"""Tables of the service itself: connections, scopes, projects, blueprints, runs, state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigIntId, JsonType, LongText, Timestamps, UTCDateTime


class Connection(Timestamps, Base):
    """A plugin's connection; ids count per plugin, as in DevLake."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("plugin", "name"),)

    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255))
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # non-secret fields
    secrets: Mapped[str | None] = mapped_column(Text())  # AES-GCM token of a JSON object


class Scope(Timestamps, Base):
    __tablename__ = "scopes"

    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Project(Timestamps, Base):
    """DevLake's `projects` (name, description) plus our incident filter and linking window."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text())
    incident_filter: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    linking_window_hours: Mapped[float | None] = mapped_column(Float())


class Blueprint(Timestamps, Base):
    __tablename__ = "blueprints"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    project_name: Mapped[str | None] = mapped_column(String(255), index=True)
    mode: Mapped[str] = mapped_column(String(20), default="NORMAL")
    plan: Mapped[Any | None] = mapped_column(JsonType)  # ADVANCED: explicit stages
    connections: Mapped[Any | None] = mapped_column(JsonType)  # NORMAL: connections and scopes
    cron_config: Mapped[str] = mapped_column(String(255), default="manual")
    enable: Mapped[bool] = mapped_column(Boolean(), default=True)
    is_manual: Mapped[bool] = mapped_column(Boolean(), default=False)
    skip_on_fail: Mapped[bool] = mapped_column(Boolean(), default=False)
    full_sync: Mapped[bool] = mapped_column(Boolean(), default=False)
    time_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    labels: Mapped[Any | None] = mapped_column(JsonType)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # e.g. notification target


class Pipeline(Timestamps, Base):
    __tablename__ = "pipelines"
    __table_args__ = (
        # exactly one pipeline per (blueprint, fire time) across scheduler replicas
        UniqueConstraint("blueprint_id", "fire_time"),
        Index("ix_pipelines_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(255))
    blueprint_id: Mapped[int | None] = mapped_column(BigInteger(), index=True)
    fire_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(20), default="manual")  # manual | cron | rerun
    plan: Mapped[Any] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(32), default="TASK_CREATED")
    message: Mapped[str | None] = mapped_column(LongText)
    error_name: Mapped[str | None] = mapped_column(String(255))
    stage: Mapped[int] = mapped_column(Integer(), default=0)
    total_tasks: Mapped[int] = mapped_column(Integer(), default=0)
    finished_tasks: Mapped[int] = mapped_column(Integer(), default=0)
    skip_on_fail: Mapped[bool] = mapped_column(Boolean(), default=False)
    full_sync: Mapped[bool] = mapped_column(Boolean(), default=False)
    skip_collectors: Mapped[bool] = mapped_column(Boolean(), default=False)
    labels: Mapped[Any | None] = mapped_column(JsonType)
    began_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    spent_seconds: Mapped[float | None] = mapped_column(Float())
    cancel_requested: Mapped[bool] = mapped_column(Boolean(), default=False)
    runner_id: Mapped[str | None] = mapped_column(String(255))  # which process runs it


class Task(Timestamps, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_pipeline", "pipeline_id", "pipeline_row", "pipeline_col"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[int] = mapped_column(BigInteger())
    pipeline_row: Mapped[int] = mapped_column(Integer())  # stage, 1-based as DevLake
    pipeline_col: Mapped[int] = mapped_column(Integer())
    plugin: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    subtasks: Mapped[Any | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(32), default="TASK_CREATED")
    message: Mapped[str | None] = mapped_column(LongText)
    error_name: Mapped[str | None] = mapped_column(String(255))
    failed_sub_task: Mapped[str | None] = mapped_column(String(255))
    progress: Mapped[float] = mapped_column(Float(), default=0.0)
    progress_detail: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    began_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    spent_seconds: Mapped[float | None] = mapped_column(Float())


class CollectorState(Base):
    """What was last collected successfully per (plugin, connection, scope, entity)."""

    __tablename__ = "collector_state"

    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    time_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latest_success_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookApiKey(Timestamps, Base):
    """Only a hash of a webhook connection's key is kept; the key is shown once."""

    __tablename__ = "webhook_api_keys"

    key_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer(), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
