"""PagerDuty tool tables (`_tool_pagerduty_*`) and raw tables; every key includes connection_id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import raw_table
from core.models.base import Base, LongText, RawDataOrigin, UTCDateTime

RAW_INCIDENTS = raw_table("pagerduty", "incidents")
RAW_SERVICES = raw_table("pagerduty", "services")


class PagerDutyIncident(RawDataOrigin, Base):
    __tablename__ = "_tool_pagerduty_incidents"
    __table_args__ = (
        Index("ix_tool_pd_incidents_service_raw", "connection_id", "service_id", "_raw_data_id"),
    )

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text())
    service_id: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(LongText)
    summary: Mapped[str | None] = mapped_column(LongText)
    status: Mapped[str | None] = mapped_column(String(64))
    urgency: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str | None] = mapped_column(String(255))
    incident_key: Mapped[str | None] = mapped_column(String(255))
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    team_id: Mapped[str | None] = mapped_column(String(255))
    team_name: Mapped[str | None] = mapped_column(String(255))


class PagerDutyService(RawDataOrigin, Base):
    __tablename__ = "_tool_pagerduty_services"

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text())
    description: Mapped[str | None] = mapped_column(Text())
    created_date: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PagerDutyUser(RawDataOrigin, Base):
    __tablename__ = "_tool_pagerduty_users"

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    url: Mapped[str | None] = mapped_column(Text())
    name: Mapped[str | None] = mapped_column(String(255))


class PagerDutyAssignment(RawDataOrigin, Base):
    __tablename__ = "_tool_pagerduty_assignments"

    connection_id: Mapped[int] = mapped_column(Integer(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
