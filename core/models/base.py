"""Declarative base, portable column types and the mixins DevLake's tables share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[datetime]):
    """UTC timestamps: DATETIME(3) on MySQL; aware values are converted, naive taken as UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=3))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        if dialect.name in ("mysql", "mariadb"):
            # DATETIME(3) rounds; truncate instead so both backends store the same instant
            value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value


ID = String(255)
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
JsonType = JSON().with_variant(mysql.JSON(), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JsonType, str: ID}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RawDataOrigin(Timestamps):
    """DevLake's provenance columns: which raw row a tool or domain row came from."""

    raw_data_params: Mapped[str | None] = mapped_column("_raw_data_params", String(255))
    raw_data_table: Mapped[str | None] = mapped_column("_raw_data_table", String(255))
    raw_data_id: Mapped[int | None] = mapped_column("_raw_data_id", BigInteger())
    raw_data_remark: Mapped[str | None] = mapped_column("_raw_data_remark", Text())
