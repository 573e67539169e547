"""Datadog source plugin (entry point `incidentlake.plugins: datadog`)."""

from plugins.datadog.plugin import plugin

__all__ = ["plugin"]
