"""Webhook plugin (entry point `incidentlake.plugins: webhook`): push intake of issues,
incidents and deployments, DevLake- and Datadog-compatible."""

from plugins.webhook.plugin import plugin

__all__ = ["plugin"]
