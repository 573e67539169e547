"""The DORA stage's own tables: what its last run derived for each project.

Linking needs "the latest deployment finished at or before this instant" for every incident.
It counts deployments in one sorted pass over deployments and incidents; the count is the
`ordinal` of the deployment wanted, found through an index on (project, ordinal).
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


class DoraRecovery(Base):
    """One row per resolved incident linked to a deployment: the recovery time's inputs.

    The failed-deployment recovery time reads these instead of joining every linked incident
    to its deployment at query time; the stage writes them with the links, from the same
    rows, so the figure equals DevLake's query over `incidents` and the relationships.
    """

    __tablename__ = "_dora_recoveries"
    __table_args__ = (
        Index(
            "ix_dora_recoveries_resolution",
            "project_name",
            "resolution_date",
            "deployment_finished_date",
            "recovery_minutes",
        ),
    )

    project_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(255), nullable=False)
    deployment_finished_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolution_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recovery_minutes: Mapped[int] = mapped_column(BigInteger(), nullable=False)
