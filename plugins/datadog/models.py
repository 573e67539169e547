"""Datadog raw tables and tool tables (`_tool_datadog_*`).

Tool keys include the scope: one Datadog record can match the queries of two scopes, and each
scope keeps its own copy so its incremental extract/convert watermarks stay independent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import raw_table
from core.models.base import Base, LongText, RawDataOrigin, UTCDateTime

RAW_FAILURES = raw_table("datadog", "failures")
RAW_DEPLOYMENTS = raw_table("datadog", "deployments")
RAW_MONITOR_EVENTS = raw_table("datadog", "monitor_events")


class DoraRecordColumns:
    """Columns DORA failures and deployments share."""

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(255))
    env: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(255))
    repository_url: Mapped[str | None] = mapped_column(Text())
    custom_tags: Mapped[str | None] = mapped_column(LongText)  # JSON list, as received


class DatadogFailure(DoraRecordColumns, RawDataOrigin, Base):
    __tablename__ = "_tool_datadog_failures"
    __table_args__ = (
        Index("ix_tool_dd_failures_raw", "connection_id", "scope_id", "_raw_data_id"),
        Index("ix_tool_dd_failures_open", "connection_id", "scope_id", "finished_at", "started_at"),
    )

    name: Mapped[str | None] = mapped_column(LongText)
    services: Mapped[str | None] = mapped_column(Text())  # comma-joined
    severity: Mapped[str | None] = mapped_column(String(255))


class DatadogDeployment(DoraRecordColumns, RawDataOrigin, Base):
    __tablename__ = "_tool_datadog_deployments"
    __table_args__ = (Index("ix_tool_dd_deployments_raw", "connection_id", "scope_id", "_raw_data_id"),)

    service: Mapped[str | None] = mapped_column(String(255))


class DatadogMonitorEvent(RawDataOrigin, Base):
    """One monitor notification (alert, renotification, recovery…) of a (monitor, group)."""

    __tablename__ = "_tool_datadog_monitor_events"
    __table_args__ = (
        Index("ix_tool_dd_monitor_events_raw", "connection_id", "scope_id", "_raw_data_id"),
        Index(
            "ix_tool_dd_monitor_events_key",
            "connection_id",
            "scope_id",
            "monitor_id",
            "group_key",
            "happened_at",
        ),
    )

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(BigInteger())
    group_key: Mapped[str] = mapped_column(String(255))
    transition: Mapped[str] = mapped_column(String(32))  # alert | renotify | recovery | other
    status: Mapped[str | None] = mapped_column(String(64))
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    happened_ms: Mapped[int] = mapped_column(BigInteger())
    title: Mapped[str | None] = mapped_column(LongText)
    message: Mapped[str | None] = mapped_column(LongText)
    monitor_name: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(255))
    env: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text())
