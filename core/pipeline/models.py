"""Tables the pipeline runtime adds: live runners, one-run-per-blueprint locks, pipeline labels.

They live beside the runtime (not in core/models) because nothing else reads them; they are on
the same metadata, created by migration 0400_pipeline_runtime.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Double, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime, utcnow


class RunnerRecord(Base):
    """A process that runs pipelines; its heartbeat tells others it is alive."""

    __tablename__ = "pipeline_runners"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # server | cli | celery
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer())
    process_started: Mapped[float] = mapped_column(Double())  # psutil create_time, against pid reuse
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BlueprintLock(Base):
    """Held by the one unfinished pipeline of a blueprint: the primary key forbids a second."""

    __tablename__ = "blueprint_locks"

    blueprint_id: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    pipeline_id: Mapped[int] = mapped_column(BigInteger(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PipelineLabel(Base):
    """One row per label of a pipeline, so `GET /pipelines?label=` is a plain indexed join."""

    __tablename__ = "pipeline_labels"
    __table_args__ = (Index("ix_pipeline_labels_name", "name"),)

    pipeline_id: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
