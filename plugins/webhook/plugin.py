"""The webhook plugin: nothing to collect; data is pushed to its routes.

A connection is a name and a push key. Its single scope `webhook:<connectionId>` is both
the board of its issues and the cicd scope of its deployments, so a project that maps
the connection owns both (as DevLake's webhook blueprints do).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.plugin import ConnectionBase, PlanContext, Plugin, RemoteScope, RemoteScopePage, ScopeBase, TaskSpec
from plugins.webhook import ids, keys, routes
from plugins.webhook.models import WebhookConnection, WebhookIncidentKey, WebhookScope


class WebhookPlugin(Plugin):
    name = "webhook"
    description = "Push intake: DevLake-compatible webhooks and a Datadog-compatible DORA endpoint"
    connection_model = WebhookConnection
    scope_model = WebhookScope
    tables = ["_tool_webhook_incident_keys"]
    public_paths = routes.PUBLIC_PATHS

    def routers(self) -> list[Any]:
        return [routes.devlake, routes.datadog]

    def test_connection(self, connection: ConnectionBase) -> str:
        return "webhook connections receive pushes; there is nothing to reach"

    def remote_scopes(
        self, connection_id: int, connection: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        scope = RemoteScope(id=ids.scope_id(connection_id), name=connection.name)
        return RemoteScopePage(children=[scope])

    def plan(self, ctx: PlanContext) -> list[TaskSpec]:
        return []  # pushed data needs no task

    def project_scopes(self, connection_id: int, scope: ScopeBase) -> list[tuple[str, str]]:
        return [("boards", ids.scope_id(connection_id)), ("cicd_scopes", ids.scope_id(connection_id))]

    def on_connection_created(
        self, session: Session, connection_id: int, connection: ConnectionBase
    ) -> dict[str, Any]:
        base = f"/plugins/webhook/connections/{connection_id}"
        return {
            "apiKey": keys.issue_key(session, connection_id),
            "postIssuesEndpoint": f"{base}/issues",
            "closeIssuesEndpoint": f"{base}/issue/:issueKey/close",
            "postDeploymentsEndpoint": f"{base}/deployments",
            "doraFailureEndpoint": "/api/v2/dora/failure",
            "doraDeploymentEndpoint": "/api/v2/dora/deployment",
        }

    def on_connection_deleted(self, session: Session, connection_id: int) -> None:
        keys.revoke_keys(session, connection_id)
        session.execute(delete(WebhookIncidentKey).where(WebhookIncidentKey.connection_id == connection_id))


plugin = WebhookPlugin()
