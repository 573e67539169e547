"""The plugin contract: what a source declares, and what a running task is handed.

A plugin is one object registered under the entry-point group `incidentlake.plugins`.
It declares its connection and scope models (pydantic), how to test a connection and
list remote scopes, how a blueprint's (connection, scopes, options) become tasks, and
its ordered subtasks (collect → extract → convert). The framework runs the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.db import Database
    from core.http import ApiClient


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


class ConnectionBase(CamelModel):
    """Fields every connection has. Mark secret fields by typing them `SecretStr`."""

    name: str = Field(min_length=1, max_length=100)
    endpoint: str | None = None
    proxy: str | None = None
    rate_limit_per_hour: int | None = Field(default=None, ge=1, le=10_000_000)

    @field_validator("endpoint", "proxy")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("rate_limit_per_hour", check_fields=False)
    @classmethod
    def _positive_rate(cls, v: int | None) -> int | None:
        # a validator, not only Field(ge=1): plugins redefine the field with their own default
        if v is not None and not 1 <= v <= 10_000_000:
            raise ValueError("must be between 1 and 10000000 requests per hour")
        return v

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [name for name, f in cls.model_fields.items() if _is_secret(f.annotation)]


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return SecretStr in getattr(annotation, "__args__", ())


class ScopeBase(CamelModel):
    """A collectable unit of a connection (a PagerDuty service, a Datadog filter, …)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=255)


class RemoteScope(CamelModel):
    """One entry of `GET .../remote-scopes`, in DevLake's shape."""

    type: Literal["scope", "group"] = "scope"
    id: str
    parent_id: str | None = None
    name: str
    full_name: str | None = None
    data: dict[str, Any] | None = None


class RemoteScopePage(CamelModel):
    children: list[RemoteScope]
    next_page_token: str | None = None


class TaskOptions(CamelModel):
    """Options every task understands; plugins subclass to add their own."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    connection_id: int | None = None
    scope_id: str | None = None
    time_after: datetime | None = None
    full_sync: bool = False
    project_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_start_date(cls, data: Any) -> Any:
        """DevLake's legacy blueprints spell timeAfter `start_date` (or `startDate`)."""
        if isinstance(data, dict) and not data.get("timeAfter") and not data.get("time_after"):
            legacy = data.get("start_date") or data.get("startDate")
            if legacy:
                data = {**data, "timeAfter": legacy}
        return data

    @field_validator("time_after")
    @classmethod
    def _naive_utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        return v


class ConnectionTestError(Exception):
    """Test connection failed; the message says why in words a user can act on."""


class TaskCancelled(Exception):
    """Raised inside a subtask when its pipeline was cancelled."""


SubtaskKind = Literal["collect", "extract", "convert", "other"]


@dataclass(frozen=True)
class Subtask:
    name: str
    run: Callable[[TaskContext], None]
    kind: SubtaskKind
    description: str = ""
    enabled_by_default: bool = True
    # Processes only what is new since its own watermark, so running it again is cheap and
    # safe: the runner then also runs it while the collectors before it are still collecting.
    incremental: bool = False


@dataclass
class TaskSpec:
    """One task of a plan: a plugin, its options (camelCase JSON) and optional subtask names."""

    plugin: str
    options: dict[str, Any]
    subtasks: list[str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "options": self.options, "subtasks": self.subtasks}


@dataclass
class PlanContext:
    """What a blueprint hands a plugin when it plans tasks."""

    connection_id: int
    connection: ConnectionBase
    scopes: list[ScopeBase]
    time_after: datetime | None = None
    full_sync: bool = False
    project_name: str | None = None
    scope_config: dict[str, Any] = field(default_factory=dict)


class ProgressReporter:
    """Progress of a running task; the runner persists it, the CLI draws it."""

    def __init__(self, on_change: Callable[[ProgressReporter], None] | None = None) -> None:
        self.subtask: str | None = None
        self.subtask_number = 0
        self.subtask_count = 0
        self.total: int | None = None
        self.current = 0
        self.records = 0
        self._lock = threading.Lock()
        self._on_change = on_change

    def start_subtask(self, name: str, number: int, count: int) -> None:
        with self._lock:
            self.subtask, self.subtask_number, self.subtask_count = name, number, count
            self.total, self.current = None, 0
        self._changed()

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.total = total
        self._changed()

    def advance(self, n: int = 1, *, records: int = 0) -> None:
        with self._lock:
            self.current += n
            self.records += records
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "subtask": self.subtask,
                "subtaskNumber": self.subtask_number,
                "subtaskCount": self.subtask_count,
                "current": self.current,
                "total": self.total,
                "records": self.records,
            }


@dataclass
class TaskContext:
    """Everything a subtask needs; built by the runner for one task."""

    db: Database
    plugin: Plugin
    connection_id: int
    connection: ConnectionBase
    options: TaskOptions
    scope: ScopeBase | None = None
    full_sync: bool = False
    time_after: datetime | None = None
    project_name: str | None = None
    progress: ProgressReporter = field(default_factory=ProgressReporter)
    cancel: threading.Event = field(default_factory=threading.Event)
    log: logging.Logger | logging.LoggerAdapter[Any] = field(
        default_factory=lambda: logging.getLogger("incidentlake.task")
    )
    _client: ApiClient | None = None

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise TaskCancelled("cancelled")

    @property
    def client(self) -> ApiClient:
        """The connection's API client (rate limit, retries), created on first use."""
        if self._client is None:
            self._client = self.plugin.api_client(self.connection_id, self.connection, cancel=self.cancel)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Plugin:
    """Subclass and instantiate once per source; expose the instance as `plugin`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    connection_model: ClassVar[type[ConnectionBase]]
    scope_model: ClassVar[type[ScopeBase]] = ScopeBase
    options_model: ClassVar[type[TaskOptions]] = TaskOptions
    subtasks: ClassVar[list[Subtask]] = []
    # Tool/raw tables this plugin owns (for documentation and cleanup of a deleted connection).
    tables: ClassVar[list[str]] = []
    # Path regexes exempt from the global API key because the plugin authenticates them itself.
    public_paths: ClassVar[list[str]] = []

    def routers(self) -> list[Any]:
        """Extra FastAPI routers (e.g. push intakes); they reach services via core.api.deps."""
        return []

    def on_connection_created(
        self, session: Session, connection_id: int, connection: ConnectionBase
    ) -> dict[str, Any]:
        """Runs inside the create transaction; the fields returned are added to the create
        response only (e.g. a push key shown once while only its hash is stored)."""
        return {}

    def on_connection_deleted(self, session: Session, connection_id: int) -> None:
        """Runs inside the delete transaction: drop what the plugin keeps per connection."""

    def api_client(
        self, connection_id: int, connection: ConnectionBase, *, cancel: threading.Event | None = None
    ) -> ApiClient:
        raise ConnectionTestError(f"plugin {self.name} does not call a remote API")

    def test_connection(self, connection: ConnectionBase) -> str:
        """Return a short success message or raise ConnectionTestError."""
        raise ConnectionTestError(f"plugin {self.name} cannot test connections")

    def remote_scopes(
        self, connection_id: int, connection: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        return RemoteScopePage(children=[])

    def plan(self, ctx: PlanContext) -> list[TaskSpec]:
        """Turn a blueprint's connection and scopes into tasks (default: one task per scope)."""
        return [
            TaskSpec(
                plugin=self.name,
                options={
                    "connectionId": ctx.connection_id,
                    "scopeId": scope.id,
                    **({"timeAfter": ctx.time_after.isoformat()} if ctx.time_after else {}),
                    **({"fullSync": True} if ctx.full_sync else {}),
                },
            )
            for scope in ctx.scopes
        ]

    def project_scopes(self, connection_id: int, scope: ScopeBase) -> list[tuple[str, str]]:
        """Domain rows a project owns through this scope: [("boards", id), ("cicd_scopes", id)]."""
        return []

    def notify(self, connection_id: int, connection: ConnectionBase, event: dict[str, Any]) -> None:
        """Tell the source a pipeline finished (e.g. a Datadog event); `event` is its summary.

        Default: nothing. Implementations log their own failures: a notification never fails
        the pipeline, and callers should still guard the call.
        """

    def subtask_names(self) -> list[str]:
        return [s.name for s in self.subtasks]
