"""The PagerDuty plugin: services are scopes; incidents become `issues` of type INCIDENT."""

from __future__ import annotations

import threading

from core.http import ApiClient
from core.plugin import (
    ConnectionBase,
    PlanContext,
    Plugin,
    RemoteScope,
    RemoteScopePage,
    ScopeBase,
    Subtask,
    TaskSpec,
)
from plugins.pagerduty import api
from plugins.pagerduty.connection import PagerDutyConnection, PagerDutyOptions, PagerDutyScope
from plugins.pagerduty.tasks.collect import collect_incidents, collect_services
from plugins.pagerduty.tasks.common import service_board_id
from plugins.pagerduty.tasks.convert import convert_incidents, convert_services
from plugins.pagerduty.tasks.extract import extract_incidents, extract_services

REMOTE_PAGE = 100


class PagerDutyPlugin(Plugin):
    name = "pagerduty"
    description = "PagerDuty incidents of chosen services, collected completely and incrementally"
    connection_model = PagerDutyConnection
    scope_model = PagerDutyScope
    options_model = PagerDutyOptions
    subtasks = [
        Subtask("collectServices", collect_services, "collect", "the service record (one request)"),
        Subtask("collectIncidents", collect_incidents, "collect", "incidents by time windows, incrementally"),
        Subtask("extractServices", extract_services, "extract", incremental=True),
        Subtask(
            "extractIncidents",
            extract_incidents,
            "extract",
            "incidents, users and assignments",
            incremental=True,
        ),
        Subtask("convertServices", convert_services, "convert", "service → board", incremental=True),
        Subtask(
            "convertIncidents",
            convert_incidents,
            "convert",
            "incidents → issues, assignees, board issues",
            incremental=True,
        ),
    ]
    tables = [
        "_raw_pagerduty_incidents",
        "_raw_pagerduty_services",
        "_tool_pagerduty_incidents",
        "_tool_pagerduty_services",
        "_tool_pagerduty_users",
        "_tool_pagerduty_assignments",
    ]

    def api_client(
        self, connection_id: int, connection: ConnectionBase, *, cancel: threading.Event | None = None
    ) -> ApiClient:
        assert isinstance(connection, PagerDutyConnection)
        return api.make_client(connection_id, connection, cancel=cancel)

    def test_connection(self, connection: ConnectionBase) -> str:
        assert isinstance(connection, PagerDutyConnection)
        return api.test_connection(connection)

    def remote_scopes(
        self, connection_id: int, connection: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        offset = int(page_token) if page_token and page_token.isdigit() else 0
        with self.api_client(connection_id, connection) as client:
            body = api.list_services(client, query=search, offset=offset, limit=REMOTE_PAGE)
        children = [
            RemoteScope(
                id=s["id"],
                name=s.get("name") or s.get("summary") or s["id"],
                full_name=s.get("name"),
                data={
                    "id": s["id"],
                    "name": s.get("name"),
                    "url": s.get("html_url"),
                    "description": s.get("description"),
                },
            )
            for s in body["services"]
            if isinstance(s, dict) and s.get("id")
        ]
        more = bool(body.get("more"))
        return RemoteScopePage(
            children=children, next_page_token=str(offset + len(children)) if more else None
        )

    def plan(self, ctx: PlanContext) -> list[TaskSpec]:
        """No scopes (DevLake's legacy body): every service of the account."""
        scopes = ctx.scopes
        if not scopes:
            with self.api_client(ctx.connection_id, ctx.connection) as client:
                scopes = [
                    PagerDutyScope(id=s["id"], name=s.get("name"), url=s.get("html_url"))
                    for s in api.all_services(client)
                ]
        return super().plan(PlanContext(**{**ctx.__dict__, "scopes": scopes}))

    def project_scopes(self, connection_id: int, scope: ScopeBase) -> list[tuple[str, str]]:
        return [("boards", service_board_id(connection_id, scope.id))]


plugin = PagerDutyPlugin()
