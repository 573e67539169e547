"""Blueprint CRUD over real HTTP: both DevLake body styles, ADVANCED plans, 400s naming fields."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import insert

from core.context import AppContext
from core.models import Project
from tests.integration.pipeline.conftest import make_connection


@pytest.fixture
def conn(pctx: AppContext) -> int:
    return make_connection(pctx, scopes=[{"id": "S1", "name": "one"}, {"id": "S2", "name": "two"}])


def _normal(conn: int, **extra: object) -> dict:
    return {
        "name": "bp",
        "mode": "NORMAL",
        "cronConfig": "0 2 * * *",
        "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "S1"}]}],
        **extra,
    }


def test_create_read_list_patch_delete(api: httpx.Client, conn: int) -> None:
    r = api.post("/blueprints", json=_normal(conn, labels=["nightly"], timeAfter="2024-01-01T00:00:00Z"))
    assert r.status_code == 201, r.text
    bp = r.json()
    assert bp["name"] == "bp" and bp["mode"] == "NORMAL" and bp["enable"] is True
    assert bp["cronConfig"] == "0 2 * * *" and bp["isManual"] is False
    assert bp["connections"] == [
        {"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "S1"}]}
    ]
    assert bp["timeAfter"] == "2024-01-01T00:00:00.000Z" and bp["labels"] == ["nightly"]
    for key in ("id", "projectName", "plan", "skipOnFail", "fullSync", "createdAt", "updatedAt"):
        assert key in bp

    assert api.get(f"/blueprints/{bp['id']}").json() == bp
    listing = api.get("/blueprints").json()
    assert listing["count"] == 1 and listing["blueprints"][0]["id"] == bp["id"]
    assert api.get("/blueprints", params={"label": "other"}).json()["count"] == 0

    r = api.patch(f"/blueprints/{bp['id']}", json={"cronConfig": "manual", "skipOnFail": True})
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["cronConfig"] == "manual" and patched["skipOnFail"] is True
    assert patched["connections"] == bp["connections"] and patched["labels"] == ["nightly"]

    r = api.patch(
        f"/blueprints/{bp['id']}",
        json={
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "S2"}]}]
        },
    )
    assert r.json()["connections"][0]["scopes"] == [{"scopeId": "S2"}]

    # the connection and its scope are in use: deleting them is refused while the blueprint exists
    assert api.delete(f"/plugins/pipefake/connections/{conn}").status_code == 409
    assert api.delete(f"/plugins/pipefake/connections/{conn}/scopes/S2").status_code == 409
    assert api.delete(f"/plugins/pipefake/connections/{conn}/scopes/S1").status_code == 200

    assert api.delete(f"/blueprints/{bp['id']}").status_code == 200
    assert api.get(f"/blueprints/{bp['id']}").status_code == 404
    assert api.delete(f"/plugins/pipefake/connections/{conn}").status_code == 200


def test_legacy_body_of_devlake_docs_is_normalized(api: httpx.Client, conn: int) -> None:
    legacy = {
        "cronConfig": "manual",
        "enable": True,
        "isManual": True,
        "mode": "NORMAL",
        "name": "test-blueprint",
        "settings": {
            "connections": [
                {
                    "connectionId": conn,
                    "plugin": "PipeFake",  # DevLake's docs capitalise the plugin name
                    "scope": [
                        {
                            "entities": ["TICKET"],
                            "options": {"connectionId": conn, "start_date": "2022-06-01T15:04:05Z"},
                        }
                    ],
                }
            ],
            "version": "1.0.0",
        },
    }
    r = api.post("/blueprints", json=legacy)
    assert r.status_code == 201, r.text
    bp = r.json()
    # no scope named: the plugin's plan collects every scope of the account
    assert bp["connections"] == [
        {
            "pluginName": "pipefake",
            "connectionId": conn,
            "scopes": [],
            "options": {"entities": ["TICKET"], "start_date": "2022-06-01T15:04:05Z"},
        }
    ]
    assert bp["timeAfter"] == "2022-06-01T15:04:05.000Z"
    assert bp["isManual"] is True and bp["cronConfig"] == "manual"
    assert bp["settings"]["version"] == "1.0.0"
    # the legacy form counts as a use of the connection
    assert api.delete(f"/plugins/pipefake/connections/{conn}").status_code == 409


def test_advanced_plan(api: httpx.Client, conn: int) -> None:
    plan = [
        [{"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "S1"}}],
        [
            {
                "plugin": "pipefake",
                "options": {"connectionId": conn, "scopeId": "S2"},
                "subtasks": ["extractThings"],
            }
        ],
    ]
    r = api.post("/blueprints", json={"name": "adv", "mode": "ADVANCED", "plan": plan})
    assert r.status_code == 201, r.text
    bp = r.json()
    assert bp["plan"][1][0]["subtasks"] == ["extractThings"]
    assert {c["connectionId"] for c in bp["connections"]} == {conn}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"cronConfig": "every day"}, "cronConfig"),
        ({"cronConfig": "61 * * * *"}, "cronConfig"),
        ({"mode": "WEIRD"}, "mode"),
        ({"connections": [{"pluginName": "nosuch", "connectionId": 1}]}, "connections.0.pluginName"),
        ({"connections": [{"pluginName": "pipefake", "connectionId": 99}]}, "connections.0.connectionId"),
        (
            {
                "connections": [
                    {"pluginName": "pipefake", "connectionId": "CONN", "scopes": [{"scopeId": "nope"}]}
                ]
            },
            "connections.0.scopes.0.scopeId",
        ),
        (
            {"settings": {"connections": [{"plugin": "nosuch", "connectionId": 1}]}},
            "settings.connections.0.plugin",
        ),
        (
            {"settings": {"connections": [{"plugin": "pipefake", "connectionId": 42}]}},
            "settings.connections.0.connectionId",
        ),
        ({"mode": "ADVANCED"}, "plan"),
        ({"mode": "ADVANCED", "plan": [[{"plugin": "nosuch"}]]}, "plan.0.0.plugin"),
        (
            {"mode": "ADVANCED", "plan": [[{"plugin": "pipefake", "options": {"connectionId": 77}}]]},
            "plan.0.0.options.connectionId",
        ),
        (
            {"mode": "ADVANCED", "plan": [[{"plugin": "pipefake", "options": {"batches": "x"}}]]},
            "plan.0.0.options.batches",
        ),
        ({"mode": "ADVANCED", "plan": [[{"plugin": "pipefake", "subtasks": ["nope"]}]]}, "plan.0.0.subtasks"),
        ({"projectName": "ghost"}, "projectName"),
        ({"timeAfter": "yesterday"}, "timeAfter"),
        ({"cronconfig": "0 * * * *"}, "cronconfig"),
        ({"enable": "maybe"}, "enable"),
    ],
)
def test_bad_input_is_400_naming_the_field(api: httpx.Client, conn: int, body: dict, field: str) -> None:
    payload = {"name": "x", **body}
    if "connections" in payload:
        for c in payload["connections"]:
            if c.get("connectionId") == "CONN":
                c["connectionId"] = conn
    r = api.post("/blueprints", json=payload)
    assert r.status_code == 400, r.text
    assert field in [c["field"] for c in r.json()["causes"]], r.json()


def test_duplicate_name_conflict_and_not_found(api: httpx.Client, conn: int) -> None:
    assert api.post("/blueprints", json=_normal(conn)).status_code == 201
    r = api.post("/blueprints", json=_normal(conn))
    assert r.status_code == 409 and r.json()["causes"][0]["field"] == "name"
    assert api.get("/blueprints/999").status_code == 404
    assert api.patch("/blueprints/999", json={"name": "y"}).status_code == 404
    assert api.post("/blueprints/999/trigger").status_code == 404
    assert api.post("/blueprints", json=["list"]).status_code == 400


def test_project_blueprint_requires_existing_project(api: httpx.Client, pctx: AppContext, conn: int) -> None:
    with pctx.db.session() as s:
        s.execute(insert(Project).values(name="shop"))
    r = api.post("/blueprints", json=_normal(conn, projectName="shop"))
    assert r.status_code == 201, r.text
    assert r.json()["projectName"] == "shop"
