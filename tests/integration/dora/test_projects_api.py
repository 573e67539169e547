"""Projects and their DORA routes over real HTTP, on both databases."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import text

from core.context import AppContext
from core.models import Blueprint, utcnow
from core.pipeline.task import execute_task
from tests.integration.dora.seed import Seed

BODY = {
    "name": "shop",
    "description": "the web shop",
    "incidentFilter": {"priorities": ["P1", "P2"], "urgencies": ["high"]},
    "linkingWindowHours": 48,
}


def _seed_small(ctx: AppContext) -> None:
    s = Seed()
    b = s.board("pagerduty:Service:1:A")
    c = s.scope("github:1:api")
    s.deployment("d1", c, datetime(2024, 1, 2, 10), commits=[("aaa", datetime(2024, 1, 2, 10))])
    s.deployment("d2", c, datetime(2024, 1, 9, 10), version="v2")
    s.deployment("d3", c, datetime(2024, 1, 9, 11), result="FAILURE")
    s.incident("i0", b, datetime(2024, 1, 1), datetime(2024, 1, 1, 1), priority="P1", urgency="high")
    s.incident("i1", b, datetime(2024, 1, 3), datetime(2024, 1, 3, 2), priority="P1", urgency="high")
    s.incident(
        "i2", b, datetime(2024, 1, 10), datetime(2024, 1, 10, 3), priority="P2", urgency="HIGH", version="v2"
    )
    s.incident("i3", b, datetime(2024, 1, 11), None, priority="P3", urgency="high")  # filtered out
    s.incident("i4", b, datetime(2024, 1, 20), datetime(2024, 1, 21), priority="P1", urgency="high")  # > 48 h
    s.write(ctx.db)


def test_create_read_update_delete(api: httpx.Client) -> None:
    created = api.post("/projects", json={**BODY, "scopes": [{"table": "boards", "rowId": "b1"}]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "shop" and body["linkingWindowHours"] == 48
    assert body["incidentFilter"] == {
        "priorities": ["P1", "P2"],
        "severities": [],
        "urgencies": ["high"],
        "services": [],
        "environments": [],
    }
    assert body["scopes"] == [{"table": "boards", "rowId": "b1", "source": "api"}]
    assert api.post("/projects", json=BODY).status_code == 409
    assert [p["name"] for p in api.get("/projects").json()["projects"]] == ["shop"]

    patched = api.patch(
        "/projects/shop",
        json={
            "linkingWindowHours": None,
            "incidentFilter": {"services": ["api"]},
            "scopes": [{"table": "cicd_scopes", "rowId": "c1"}, {"table": "boards", "rowId": "b2"}],
        },
    )
    assert patched.status_code == 200, patched.text
    got = api.get("/projects/shop").json()
    assert got["linkingWindowHours"] is None and got["description"] == "the web shop"
    assert got["incidentFilter"]["services"] == ["api"] and got["incidentFilter"]["priorities"] == []
    assert [(s["table"], s["rowId"]) for s in got["scopes"]] == [("boards", "b2"), ("cicd_scopes", "c1")]

    assert api.delete("/projects/shop").status_code == 200
    assert api.get("/projects/shop").status_code == 404
    assert api.get("/projects/shop/dora").status_code == 404


def test_explicit_scopes_leave_blueprint_scopes_alone(api: httpx.Client, ctx: AppContext) -> None:
    api.post("/projects", json={"name": "shop"})
    with ctx.db.session() as s:
        s.execute(
            text(
                "INSERT INTO project_mapping (project_name, `table`, row_id, created_at, updated_at) "
                "VALUES ('shop', 'boards', 'from-blueprint', :now, :now)"
            ),
            {"now": utcnow()},
        )
    api.patch("/projects/shop", json={"scopes": [{"table": "boards", "rowId": "mine"}]})
    api.patch("/projects/shop", json={"scopes": []})
    scopes = api.get("/projects/shop").json()["scopes"]
    assert scopes == [{"table": "boards", "rowId": "from-blueprint", "source": "blueprint"}]


def test_bad_input_names_the_field(api: httpx.Client) -> None:
    cases = [
        ({"name": ""}, "name"),
        ({"name": "a/b"}, "name"),
        ({"name": "x", "linkingWindowHours": -1}, "linkingWindowHours"),
        ({"name": "x", "incidentFilter": {"priorities": "P1"}}, "incidentFilter.priorities"),
        ({"name": "x", "incidentFilter": {"colors": ["red"]}}, "incidentFilter.colors"),
        ({"name": "x", "scopes": [{"table": "repos", "rowId": "r"}]}, "scopes.0.table"),
        ({"name": "x", "scopes": [{"table": "boards"}]}, "scopes.0.rowId"),
        ({"name": "x", "bogus": 1}, "bogus"),
    ]
    for body, field in cases:
        r = api.post("/projects", json=body)
        assert r.status_code == 400, (body, r.text)
        assert field in [c["field"] for c in r.json()["causes"]], (body, r.json())
    assert (
        api.post("/projects", content=b"not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert api.post("/projects", json=["a"]).status_code == 400
    api.post("/projects", json={"name": "x"})
    assert api.patch("/projects/x", json={"name": "y"}).status_code == 400
    for query, field in [
        ({"report": "2019"}, "report"),
        ({"aggregate": "max"}, "aggregate"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
        ({"from": "1990-01-01", "to": "2024-01-01"}, "from"),
    ]:
        r = api.get("/projects/x/dora", params=query)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["causes"][0]["field"] == field
    assert api.get("/projects/x/incidents", params={"pageSize": 0}).status_code == 400


def test_delete_refused_while_a_blueprint_uses_the_project(api: httpx.Client, ctx: AppContext) -> None:
    api.post("/projects", json={"name": "shop"})
    with ctx.db.session() as s:
        s.add(Blueprint(name="shop-bp", project_name="shop", mode="NORMAL", connections=[]))
    r = api.delete("/projects/shop")
    assert r.status_code == 409 and "shop-bp" in r.json()["message"]
    assert api.get("/projects/shop").json()["blueprints"] == ["shop-bp"]


def test_dora_incidents_and_deployments(api: httpx.Client, ctx: AppContext) -> None:
    _seed_small(ctx)
    scopes = [
        {"table": "boards", "rowId": "pagerduty:Service:1:A"},
        {"table": "cicd_scopes", "rowId": "github:1:api"},
    ]
    assert api.post("/projects", json={**BODY, "scopes": scopes}).status_code == 201

    # nothing computed yet: figures are null with a reason, never 0
    empty = api.get("/projects/shop/dora", params={"from": "2024-01-01", "to": "2024-02-01"}).json()
    assert empty["failedDeploymentRecoveryTime"]["minutes"] is None
    assert empty["failedDeploymentRecoveryTime"]["reason"]

    refreshed = api.post("/projects/shop/dora/refresh").json()
    assert refreshed["incidents"] == 4 and refreshed["linkedExplicit"] == 1 and refreshed["linkedByTime"] == 1

    params = {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z", "report": "2021"}
    dora = api.get("/projects/shop/dora", params=params).json()
    assert dora["project"] == "shop" and dora["report"] == "2021" and dora["aggregate"] == "median"
    assert dora["from"] == "2024-01-01T00:00:00.000Z" and dora["to"] == "2024-02-01T00:00:00.000Z"
    assert dora["changeFailureRate"] == {
        "value": 1.0,
        "level": "low",
        "benchmark": "> 30%",
        "failedDeployments": 2,
        "deployments": 2,
        "reason": None,
    }
    # lead times 60, 120, 180, 1440 -> lower median 120
    assert dora["timeToRestore"]["minutes"] == 120 and dora["timeToRestore"]["incidents"] == 4
    assert dora["timeToRestore"]["level"] == "high"
    assert [m["month"] for m in dora["monthly"]] == ["2024-01"]
    assert dora["failedDeploymentRecoveryTime"]["incidents"] == 2  # both recovery figures, always

    d2023 = api.get("/projects/shop/dora", params={**params, "report": "2023", "aggregate": "mean"}).json()
    # i1: d1 finished 01-02 10:00, resolved 01-03 02:00 = 960; i2: d2 01-09 10:00 -> 01-10 03:00 = 1020
    assert d2023["failedDeploymentRecoveryTime"]["minutes"] == 990.0
    assert d2023["deploymentFrequency"]["deployments"] == 2

    incidents = api.get("/projects/shop/incidents", params={"from": "2024-01-01", "to": "2024-02-01"}).json()
    assert incidents["count"] == 4
    by_id = {i["id"]: i for i in incidents["incidents"]}
    assert by_id["i2"]["deployment"]["linkType"] == "explicit"
    assert by_id["i2"]["deployment"]["reason"].startswith("explicit: version v2")
    assert (
        by_id["i1"]["deployment"]["linkType"] == "time" and by_id["i1"]["deployment"]["deploymentId"] == "d1"
    )
    assert by_id["i0"]["deployment"] is None  # before any deployment
    assert by_id["i4"]["deployment"] is None  # beyond the 48 h linking window
    assert "i3" not in by_id
    unlinked = api.get("/projects/shop/incidents", params={"from": "2024-01-01", "linked": "false"}).json()
    assert {i["id"] for i in unlinked["incidents"]} == {"i0", "i4"}
    page = api.get("/projects/shop/incidents", params={"from": "2024-01-01", "pageSize": 3, "page": 2}).json()
    assert page["count"] == 4 and len(page["incidents"]) == 1

    deployments = api.get(
        "/projects/shop/deployments", params={"from": "2024-01-01", "to": "2024-02-01"}
    ).json()
    assert deployments["count"] == 2
    assert [(d["id"], d["incidents"], d["failed"]) for d in deployments["deployments"]] == [
        ("d2", 1, True),
        ("d1", 1, True),
    ]


def test_the_dora_task_runs_like_any_plugin_task(ctx: AppContext, api: httpx.Client) -> None:
    _seed_small(ctx)
    api.post(
        "/projects",
        json={"name": "shop", "scopes": [{"table": "boards", "rowId": "pagerduty:Service:1:A"}]},
    )
    task = execute_task(ctx, "dora", {"projectName": "shop"})
    assert task.progress.records == 5  # 5 incidents, none linked (no cicd scopes)
    assert [s.name for s in ctx.registry.get("dora").subtasks] == ["rebuildIncidents", "linkIncidents"]
    plugins = {p["plugin"] for p in api.get("/plugins").json()}
    assert "dora" in plugins


def test_the_dora_task_type_takes_no_connections(api: httpx.Client) -> None:
    r = api.post("/plugins/dora/connections", json={"name": "x"})
    assert r.status_code == 400 and "POST /projects" in r.text
