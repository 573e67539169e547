"""PagerDuty source plugin (entry point `incidentlake.plugins: pagerduty`)."""

from plugins.pagerduty.plugin import plugin

__all__ = ["plugin"]
