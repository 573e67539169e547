"""Webhook connections: the push key is shown once, stored only as a hash, scoped to its
connection, rotatable, and gone with the connection; push routes bypass the global key."""

from __future__ import annotations

import hashlib
import json

import httpx
from sqlalchemy import select

from core.api.app import create_app
from core.config import Settings
from core.context import AppContext
from core.db import Database
from core.models import Connection, WebhookApiKey
from core.registry import PluginRegistry
from tests.integration.webhook.conftest import Hook, create_hook, rows
from tests.support.live import serve_app

ISSUE = {
    "issueKey": "K-1",
    "title": "t",
    "status": "TODO",
    "originalStatus": "open",
    "createdDate": "2024-01-01T00:00:00Z",
}


def test_create_shows_the_key_once_and_stores_only_its_hash(http: httpx.Client, db: Database) -> None:
    resp = http.post("/plugins/webhook/connections", json={"name": "deploys"})
    assert resp.status_code == 201
    created = resp.json()
    key = created["apiKey"]
    assert len(key) >= 43  # 32 random bytes, url-safe base64
    assert created["postIssuesEndpoint"] == f"/plugins/webhook/connections/{created['id']}/issues"
    shown = http.get(f"/plugins/webhook/connections/{created['id']}").json()
    listed = http.get("/plugins/webhook/connections").json()
    assert "apiKey" not in shown and all("apiKey" not in c for c in listed)
    [stored] = rows(db, "webhook_api_keys")
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert (stored["connection_id"], stored["prefix"]) == (created["id"], key[:6])
    with db.session() as s:
        conn = s.scalars(select(Connection).where(Connection.plugin == "webhook")).one()
        assert key not in json.dumps(conn.settings) and key not in (conn.secrets or "")


def test_key_works_only_for_its_connection(http: httpx.Client, hook: Hook) -> None:
    other = create_hook(http, "other")
    assert other.key != hook.key
    ok = http.post(f"/plugins/webhook/connections/{hook.id}/issues", headers=hook.bearer, json=ISSUE)
    assert ok.status_code == 200
    foreign = http.post(f"/plugins/webhook/connections/{other.id}/issues", headers=hook.bearer, json=ISSUE)
    assert foreign.status_code == 401


def test_rotate_key_replaces_the_old_one(http: httpx.Client, hook: Hook, db: Database) -> None:
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/rotate-key")
    assert resp.status_code == 200
    new_key = resp.json()["apiKey"]
    assert new_key != hook.key
    url = f"/plugins/webhook/connections/{hook.id}/issues"
    assert http.post(url, headers=hook.bearer, json=ISSUE).status_code == 401
    assert http.post(url, headers={"Authorization": f"Bearer {new_key}"}, json=ISSUE).status_code == 200
    assert len(rows(db, "webhook_api_keys")) == 1
    assert http.post("/plugins/webhook/connections/999/rotate-key").status_code == 404


def test_delete_removes_the_key_hashes(http: httpx.Client, hook: Hook, db: Database) -> None:
    failure = {"data": {"attributes": {"services": ["s"], "started_at": 1700000000}}}
    assert http.post("/api/v2/dora/failure", headers=hook.dd, json=failure).status_code == 200
    assert http.delete(f"/plugins/webhook/connections/{hook.id}").status_code == 200
    assert rows(db, "webhook_api_keys") == []
    assert rows(db, "_tool_webhook_incident_keys") == []
    url = f"/plugins/webhook/connections/{hook.id}/issues"
    assert http.post(url, headers=hook.bearer, json=ISSUE).status_code == 401


def test_remote_scope_and_project_scopes(http: httpx.Client, hook: Hook, ctx: AppContext) -> None:
    scopes = http.get(f"/plugins/webhook/connections/{hook.id}/remote-scopes").json()["children"]
    assert [(s["id"], s["name"]) for s in scopes] == [(f"webhook:{hook.id}", hook.name)]
    plugin = ctx.registry.get("webhook")
    scope = plugin.scope_model(id=f"webhook:{hook.id}")
    assert plugin.project_scopes(hook.id, scope) == [
        ("boards", f"webhook:{hook.id}"),
        ("cicd_scopes", f"webhook:{hook.id}"),
    ]
    assert http.post(f"/plugins/webhook/connections/{hook.id}/test").json()["success"] is True


def test_push_routes_bypass_the_global_api_key(db: Database, db_url: str, registry: PluginRegistry) -> None:
    settings = Settings(
        db_url=db_url, encryption_secret="test-secret-for-unit-tests-only", api_key="admin-key"
    )
    ctx = AppContext.build(settings, db=db, registry=registry)
    admin = {"Authorization": "Bearer admin-key"}
    with serve_app(create_app(ctx, background=False)) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/plugins/webhook/connections", json={"name": "locked"}).status_code == 401
        created = http.post("/plugins/webhook/connections", json={"name": "locked"}, headers=admin).json()
        cid, key = created["id"], created["apiKey"]
        push = http.post(
            f"/plugins/webhook/connections/{cid}/issues",
            json=ISSUE,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert push.status_code == 200, push.text
        failure = {"data": {"attributes": {"team": "t", "started_at": 1700000000}}}
        assert http.post("/api/v2/dora/failure", json=failure, headers={"DD-API-KEY": key}).status_code == 200
        assert http.post(f"/plugins/webhook/connections/{cid}/rotate-key").status_code == 401
        assert http.post(f"/plugins/webhook/connections/{cid}/rotate-key", headers=admin).status_code == 200
        assert (
            http.get(
                f"/plugins/webhook/connections/{cid}", headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 401
        )
    assert len(rows(db, "issues")) == 2
    with db.session() as s:
        assert s.scalars(select(WebhookApiKey.connection_id)).all() == [cid]
