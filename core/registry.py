"""Plugins found through the `incidentlake.plugins` entry-point group."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from core.plugin import Plugin

log = logging.getLogger(__name__)
GROUP = "incidentlake.plugins"
# Task types core itself provides (e.g. the DORA stage), loaded like plugins.
BUILTIN: dict[str, str] = {"dora": "core.dora.task:plugin"}


class UnknownPlugin(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown plugin {name!r}")
        self.name = name


class PluginRegistry:
    def __init__(self, plugins: dict[str, Plugin] | None = None) -> None:
        self._plugins: dict[str, Plugin] = dict(plugins or {})

    @classmethod
    def discover(cls) -> PluginRegistry:
        """Load every installed plugin; a broken one is logged and skipped, not fatal."""
        found: dict[str, Plugin] = {}
        sources = [(ep.name, ep.load) for ep in entry_points(group=GROUP)]
        sources += [(name, _loader(target)) for name, target in BUILTIN.items()]
        for name, load in sources:
            try:
                plugin = load()
            except Exception as exc:  # a third-party plugin must not take the service down
                log.error("plugin %s could not be loaded: %s", name, exc)
                continue
            if not isinstance(plugin, Plugin):
                log.error("entry point %s is not an incidentlake Plugin instance", name)
                continue
            found[plugin.name] = plugin
        return cls(found)

    def register(self, plugin: Plugin) -> None:
        self._plugins[plugin.name] = plugin

    def get(self, name: str) -> Plugin:
        try:
            return self._plugins[name]
        except KeyError:
            raise UnknownPlugin(name) from None

    def names(self) -> list[str]:
        return sorted(self._plugins)

    def all(self) -> list[Plugin]:
        return [self._plugins[n] for n in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._plugins


def _loader(target: str) -> Callable[[], object]:
    module, _, attr = target.partition(":")

    def load() -> object:
        return getattr(importlib.import_module(module), attr)

    return load
