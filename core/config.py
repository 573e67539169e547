"""Settings from environment variables (INCIDENTLAKE_*) and an optional TOML file.

Precedence: init arguments > environment > TOML file (INCIDENTLAKE_CONFIG, else
config/incidentlake.toml in the working directory) > defaults.
"""

from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

DEFAULT_DB_FILE = "incidentlake.db"
SECRET_FILE_NAME = "incidentlake.secret"


def _config_file() -> Path:
    return Path(os.environ.get("INCIDENTLAKE_CONFIG", "config/incidentlake.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTLAKE_", extra="ignore")

    db_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_FILE}",
        description="SQLAlchemy URL: sqlite:///file.db or mysql+pymysql://user:pw@host:3306/db",
    )
    encryption_secret: SecretStr | None = Field(
        default=None, description="Key material for secrets at rest; generated into a 0600 file if unset"
    )
    api_key: SecretStr | None = Field(
        default=None, description="When set, every route but /ping needs 'Authorization: Bearer <key>'"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `serve` listens on")
    executor: Literal["local", "celery"] = Field(default="local", description="Where tasks run")
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Celery broker URL")
    celery_queue: str = Field(
        default="incidentlake", min_length=1, description="Celery queue (one per deployment sharing a broker)"
    )
    workers: int = Field(default=4, ge=1, le=64, description="Concurrent tasks of the local executor")
    scheduler: bool = Field(default=True, description="Run the blueprint scheduler inside `serve`")

    @field_validator("db_url")
    @classmethod
    def _valid_url(cls, v: str) -> str:
        try:
            url = make_url(v)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a clear text
            raise ValueError(f"not a database URL: {v!r}") from exc
        if url.get_backend_name() not in ("sqlite", "mysql", "mariadb"):
            raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or mysql")
        return v

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, v: str) -> str:
        v = v.upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("log level must be DEBUG, INFO, WARNING or ERROR")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.db_url).get_backend_name() == "sqlite"

    def secret_file(self) -> Path:
        """Where a generated encryption secret lives: beside the SQLite file, else the cwd."""
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / SECRET_FILE_NAME
        return Path.cwd() / SECRET_FILE_NAME

    def resolve_encryption_secret(self) -> str:
        """The configured secret, or one generated once into a 0600 file."""
        if self.encryption_secret is not None and self.encryption_secret.get_secret_value():
            return self.encryption_secret.get_secret_value()
        path = self.secret_file()
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        log.warning(
            "INCIDENTLAKE_ENCRYPTION_SECRET is not set: generated one into %s (mode 0600). "
            "Back it up: stored secrets cannot be read without it.",
            path,
        )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
