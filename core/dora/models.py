"""The DORA stage's own table: a project's deployments as its last run saw them.

Linking looks up "the latest deployment finished at or before this instant" once per
incident; an index on (project, finished_date) turns that into one B-tree descent on both
backends, where a window function over all events is quadratic on MariaDB.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
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
