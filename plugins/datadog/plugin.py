"""The Datadog plugin: a scope is a named filter; DORA failures and monitor alerts become
`issues` (type INCIDENT), DORA deployments become `cicd_deployments`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from core.http import ApiClient
from core.plugin import ConnectionBase, Plugin, RemoteScopePage, ScopeBase, Subtask
from plugins.datadog import api
from plugins.datadog.connection import DatadogConnection, DatadogOptions, DatadogScope
from plugins.datadog.notify import notify_pipeline
from plugins.datadog.scopes import matching, suggestions
from plugins.datadog.tasks.collect import collect_deployments, collect_failures, collect_monitor_events
from plugins.datadog.tasks.common import board_id
from plugins.datadog.tasks.convert import (
    convert_deployments,
    convert_failures,
    convert_monitor_incidents,
    convert_scope,
)
from plugins.datadog.tasks.extract import extract_deployments, extract_failures, extract_monitor_events

log = logging.getLogger("incidentlake.datadog")


class DatadogPlugin(Plugin):
    name = "datadog"
    description = "Datadog DORA failures and deployments, and monitor alerts as incidents"
    connection_model = DatadogConnection
    scope_model = DatadogScope
    options_model = DatadogOptions
    subtasks = [
        Subtask("collectFailures", collect_failures, "collect", "DORA failures by time windows"),
        Subtask("collectDeployments", collect_deployments, "collect", "DORA deployments by time windows"),
        Subtask("collectMonitorEvents", collect_monitor_events, "collect", "monitor alert events"),
        Subtask("extractFailures", extract_failures, "extract"),
        Subtask("extractDeployments", extract_deployments, "extract"),
        Subtask("extractMonitorEvents", extract_monitor_events, "extract"),
        Subtask("convertScope", convert_scope, "convert", "scope → board and cicd scope"),
        Subtask("convertFailures", convert_failures, "convert", "failures → issues"),
        Subtask("convertDeployments", convert_deployments, "convert", "deployments → cicd deployments"),
        Subtask(
            "convertMonitorIncidents", convert_monitor_incidents, "convert", "alert/recovery pairs → issues"
        ),
    ]
    tables = [
        "_raw_datadog_failures",
        "_raw_datadog_deployments",
        "_raw_datadog_monitor_events",
        "_tool_datadog_failures",
        "_tool_datadog_deployments",
        "_tool_datadog_monitor_events",
    ]

    def api_client(
        self, connection_id: int, connection: ConnectionBase, *, cancel: threading.Event | None = None
    ) -> ApiClient:
        assert isinstance(connection, DatadogConnection)
        return api.make_client(connection_id, connection, cancel=cancel)

    def test_connection(self, connection: ConnectionBase) -> str:
        assert isinstance(connection, DatadogConnection)
        return api.test_connection(connection)

    def remote_scopes(
        self, connection_id: int, connection: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        with self.api_client(connection_id, connection) as client:
            found = suggestions(client)
        return RemoteScopePage(children=matching(found, search))

    def project_scopes(self, connection_id: int, scope: ScopeBase) -> list[tuple[str, str]]:
        kinds = getattr(scope, "kinds", None) or ["failures"]
        sid = board_id(connection_id, scope.id)
        out: list[tuple[str, str]] = []
        if "failures" in kinds or "monitors" in kinds:
            out.append(("boards", sid))
        if "deployments" in kinds:
            out.append(("cicd_scopes", sid))
        return out

    def notify(self, connection_id: int, connection: ConnectionBase, event: dict[str, Any]) -> None:
        """Post a finished pipeline's summary as a Datadog event; failures are only logged."""
        if not isinstance(connection, DatadogConnection):
            log.warning("datadog notify: connection %s is not a Datadog connection", connection_id)
            return
        notify_pipeline(connection, event, connection_id=connection_id)


plugin = DatadogPlugin()
