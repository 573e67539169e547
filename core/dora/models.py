"""The DORA stage's own tables: what its last run derived for each project.

Linking needs "the latest deployment finished at or before this instant" for every incident.
It counts the deployments finished by then (see `linking._link_by_time`); the count is the
`ordinal` of the deployment wanted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime

# ids compare byte-wise on MySQL too, so ties break the same way as on SQLite
BinaryId = String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")


class DoraDeployment(Base):
    __tablename__ = "_dora_deployments"
    __table_args__ = (
        Index("ix_dora_deployments_finished", "project_name", "finished_date", "deployment_id"),
    )

    project_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(BinaryId, primary_key=True)
    finished_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ordinal: Mapped[int | None] = mapped_column(BigInteger())  # rank by (finished_date, deployment_id)


class DoraLink(Base):
    """Every link of a project's last stage run, with what the recovery time needs.

    The stage writes links here first (explicit, then by time), with the deployment's
    finish and the incident's resolution, then copies them to
    `project_incident_deployment_relationships`. The failed-deployment recovery time reads
    this table instead of joining each linked incident to its deployment at query time; it
    holds the same rows DevLake's query would join.
    """

    __tablename__ = "_dora_links"
    __table_args__ = (
        Index(
            "ix_dora_links_resolution",
            "project_name",
            "resolution_date",
            "deployment_finished_date",
            "recovery_minutes",
        ),
    )

    project_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(255), nullable=False)
    link_type: Mapped[str] = mapped_column(String(32), nullable=False)  # explicit | time
    deployment_finished_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolution_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovery_minutes: Mapped[int | None] = mapped_column(BigInteger())  # resolution - finish, if resolved
