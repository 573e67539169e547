"""The wiring of one running service: settings, database, plugins and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.config import Settings, get_settings
from core.crypto import SecretBox
from core.db import Database
from core.registry import PluginRegistry
from core.services.connections import ConnectionService
from core.services.scopes import ScopeService

if TYPE_CHECKING:
    from core.services.blueprints import BlueprintService
    from core.services.pipelines import PipelineService


@dataclass
class AppContext:
    settings: Settings
    db: Database
    registry: PluginRegistry
    box: SecretBox
    connections: ConnectionService = field(init=False)
    scopes: ScopeService = field(init=False)
    blueprints: BlueprintService = field(init=False)
    pipelines: PipelineService = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)  # services added by later layers

    def __post_init__(self) -> None:
        self.connections = ConnectionService(self.db, self.registry, self.box)
        self.scopes = ScopeService(self.db, self.registry)
        # imported here: the pipeline runtime imports this module (core.pipeline.task)
        from core.services.blueprints import BlueprintService
        from core.services.pipelines import PipelineService

        self.pipelines = PipelineService(self.db)
        self.blueprints = BlueprintService(self)

    @classmethod
    def build(
        cls,
        settings: Settings | None = None,
        *,
        db: Database | None = None,
        registry: PluginRegistry | None = None,
    ) -> AppContext:
        settings = settings or get_settings()
        return cls(
            settings=settings,
            db=db or Database(settings.db_url),
            registry=registry or PluginRegistry.discover(),
            box=SecretBox(settings.resolve_encryption_secret()),
        )

    def close(self) -> None:
        self.db.dispose()
