"""The Datadog-compatible DORA intake, over real HTTP: an existing Datadog sender only
changes its base URL (the DD-API-KEY is a webhook connection's key)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core.db import Database, upsert
from core.models import ProjectMapping
from tests.integration.webhook.conftest import Hook, count, counts, create_hook, curl, rows

# Datadog's documented example ("Sending incident events"), sent first without finished_at
# (the incident starts) and then as documented (it is resolved).
DOCS_CURL = """curl -X POST "{base}/api/v2/dora/incident" \\
  -H "Accept: application/json" \\
  -H "Content-Type: application/json" \\
  -H "DD-API-KEY: {key}" \\
  -d @- << EOF
  {
    "data": {
      "attributes": {
        "services": ["shopist"],
        "team": "shopist-devs",
        "started_at": 1693491974000000000,%s
        "git": {
          "commit_sha": "66adc9350f2cc9b250b69abddab733dd55e1a588",
          "repository_url": "https://github.com/organization/example-repository"
        },
        "env": "prod",
        "name": "Web server is down failing all requests",
        "severity": "High"
      }
    }
  }
EOF"""
STARTED = datetime(2023, 8, 31, 14, 26, 14)


def failure(**attrs: Any) -> dict[str, Any]:
    base = {"services": ["shopist"], "started_at": 1693491974, "env": "prod"}
    return {"data": {"attributes": {**base, **attrs}}}


def deployment(**attrs: Any) -> dict[str, Any]:
    base = {"service": "shopist", "started_at": 1693491974, "finished_at": 1693492574, "env": "prod"}
    return {"data": {"attributes": {**base, **attrs}}}


def post(http: httpx.Client, hook: Hook, path: str, body: Any) -> httpx.Response:
    return http.post(f"/api/v2/dora/{path}", headers=hook.dd, json=body)


def test_datadog_docs_curl_start_then_resolution(app_url: str, hook: Hook, db: Database) -> None:
    status, started = curl(DOCS_CURL % "", app_url, hook.key)
    assert status == 200, started
    status, resolved = curl(DOCS_CURL % '\n        "finished_at": 1693491984000000000,', app_url, hook.key)
    assert status == 200, resolved
    first, second = json.loads(started)["data"], json.loads(resolved)["data"]
    assert first == second and first["type"] == "dora_failure"
    uuid.UUID(first["id"])  # Datadog generates a UUID when the sender gives no id
    [issue] = rows(db, "issues")
    assert issue["id"] == f"webhook:{hook.id}:{first['id']}"
    assert (issue["type"], issue["status"]) == ("INCIDENT", "DONE")
    assert (issue["created_date"], issue["resolution_date"]) == (STARTED, datetime(2023, 8, 31, 14, 26, 24))
    assert issue["lead_time_minutes"] == 0  # ten seconds: zero whole minutes
    assert issue["title"] == "Web server is down failing all requests"
    assert [issue[c] for c in ("environment", "service", "team", "severity", "commit_sha")] == [
        "prod",
        "shopist",
        "shopist-devs",
        "High",
        "66adc9350f2cc9b250b69abddab733dd55e1a588",
    ]
    assert rows(db, "board_issues")[0]["board_id"] == f"webhook:{hook.id}"
    assert json.loads(issue["_raw_data_remark"]) == {
        "repositoryUrl": "https://github.com/organization/example-repository"
    }


def test_same_id_resolves_the_same_incident(http: httpx.Client, hook: Hook, db: Database) -> None:
    fid = "INC-2023-08-31-0001"
    start = post(http, hook, "failure", failure(id=fid, name="checkout down", severity="SEV-1"))
    assert start.status_code == 200 and start.json()["data"] == {"id": fid, "type": "dora_failure"}
    [issue] = rows(db, "issues")
    assert (issue["status"], issue["resolution_date"], issue["lead_time_minutes"]) == (
        "IN_PROGRESS",
        None,
        None,
    )
    end = post(http, hook, "failure", failure(id=fid, finished_at=1693491974 + 95 * 60 + 59))
    assert end.status_code == 200 and end.json()["data"]["id"] == fid
    [issue] = rows(db, "issues")
    assert issue["id"] == f"webhook:{hook.id}:{fid}"
    assert (issue["status"], issue["lead_time_minutes"]) == ("DONE", 95)
    # what the resolution left out is kept from the start event
    assert (issue["title"], issue["severity"]) == ("checkout down", "SEV-1")


def test_timestamps_in_seconds_millis_or_nanos_match_one_incident(
    http: httpx.Client, hook: Hook, db: Database
) -> None:
    assert post(http, hook, "failure", failure(started_at=1693491974)).status_code == 200
    assert post(http, hook, "failure", failure(started_at=1693491974000)).status_code == 200
    resp = post(http, hook, "failure", failure(started_at=1693491974000000000, finished_at=1693495574000))
    assert resp.status_code == 200
    [issue] = rows(db, "issues")
    assert (issue["created_date"], issue["lead_time_minutes"]) == (STARTED, 60)
    # another env, service or start is another incident
    assert post(http, hook, "failure", failure(env="staging")).status_code == 200
    assert post(http, hook, "failure", failure(services=["cart"])).status_code == 200
    assert post(http, hook, "failure", failure(started_at=1693491975)).status_code == 200
    assert count(db, "issues") == 4


def test_event_with_id_adopts_the_incident_started_without_one(
    http: httpx.Client, hook: Hook, db: Database
) -> None:
    generated = post(http, hook, "failure", failure()).json()["data"]["id"]
    fid = "pagerduty-PXYZ1234567"
    resp = post(http, hook, "failure", failure(id=fid, finished_at=1693492034))
    assert resp.json()["data"]["id"] == fid
    later = post(http, hook, "failure", failure(id=fid, severity="High"))
    assert later.status_code == 200
    [issue] = rows(db, "issues")
    assert issue["issue_key"] == generated
    assert (issue["status"], issue["lead_time_minutes"], issue["severity"]) == ("DONE", 1, "High")


def test_team_only_failure_and_custom_tags(http: httpx.Client, hook: Hook, db: Database) -> None:
    body = {
        "data": {
            "attributes": {
                "team": "payments",
                "started_at": "2024-03-01T10:00:00Z",
                "custom_tags": ["region:eu", "tier:1"],
                "version": "v1.2.3",
            }
        }
    }
    assert post(http, hook, "incident", body).status_code == 200
    [issue] = rows(db, "issues")
    assert (issue["team"], issue["service"], issue["version"], issue["original_type"]) == (
        "payments",
        None,
        "v1.2.3",
        "dora_incident",
    )
    assert json.loads(issue["_raw_data_remark"]) == {"customTags": ["region:eu", "tier:1"]}


def test_deployments_with_and_without_git(http: httpx.Client, hook: Hook, db: Database) -> None:
    git = {
        "commit_sha": "66adc9350f2cc9b250b69abddab733dd55e1a588",
        "repository_url": "https://github.com/org/shop",
    }
    with_git = post(http, hook, "deployment", deployment(id="deploy-1", git=git, version="v1.12.07"))
    assert with_git.status_code == 200 and with_git.json()["data"] == {
        "id": "deploy-1",
        "type": "dora_deployment",
    }
    bare = post(
        http, hook, "deployment", deployment(started_at=1693500000, finished_at=1693500060, env="staging")
    )
    assert bare.status_code == 200
    generated = bare.json()["data"]["id"]
    uuid.UUID(generated)
    assert (
        post(
            http, hook, "deployment", deployment(started_at=1693500000, finished_at=1693500060, env="staging")
        ).json()["data"]["id"]
        == generated
    )
    deployments = {d["id"]: d for d in rows(db, "cicd_deployments")}
    first = deployments[f"webhook:{hook.id}:deploy-1"]
    assert (first["environment"], first["original_environment"], first["version"]) == (
        "PRODUCTION",
        "prod",
        "v1.12.07",
    )
    assert (first["started_date"], first["duration_sec"], first["result"]) == (STARTED, 600.0, "SUCCESS")
    assert deployments[f"webhook:{hook.id}:{generated}"]["environment"] == "STAGING"
    commits = {c["cicd_deployment_id"]: c for c in rows(db, "cicd_deployment_commits")}
    assert len(commits) == 2
    assert commits[first["id"]]["commit_sha"] == git["commit_sha"]
    assert commits[first["id"]]["repo_url"] == git["repository_url"]
    assert commits[f"webhook:{hook.id}:{generated}"]["commit_sha"] == ""  # still counted by the dashboards


def test_devlake_dashboard_counts_every_pushed_deployment(
    http: httpx.Client, hook: Hook, db: Database
) -> None:
    """The DORA dashboard's `_production_deployment_days` query, over a project mapping the scope."""
    git = {"commit_sha": "abc", "repository_url": "https://github.com/org/shop"}
    assert post(http, hook, "deployment", deployment(id="with-git", git=git)).status_code == 200
    assert (
        post(
            http,
            hook,
            "deployment",
            deployment(id="without-git", started_at=1693600000, finished_at=1693600100),
        ).status_code
        == 200
    )
    with db.session() as s:
        upsert(
            s,
            ProjectMapping,
            [{"project_name": "shop", "table": "cicd_scopes", "row_id": f"webhook:{hook.id}"}],
        )
    q = "`table`" if db.dialect != "sqlite" else '"table"'
    sql = f"""
        SELECT cdc.cicd_deployment_id AS deployment_id, max(cdc.finished_date) AS day
        FROM cicd_deployment_commits cdc
        JOIN project_mapping pm ON cdc.cicd_scope_id = pm.row_id AND pm.{q} = 'cicd_scopes'
        WHERE pm.project_name IN ('shop') AND cdc.result = 'SUCCESS' AND cdc.environment = 'PRODUCTION'
        GROUP BY 1"""
    with db.engine.connect() as conn:
        found = {r.deployment_id for r in conn.execute(text(sql))}
    assert found == {f"webhook:{hook.id}:with-git", f"webhook:{hook.id}:without-git"}


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("failure", {"data": {"attributes": {"services": ["a"]}}}, "/data/attributes/started_at"),
        ("failure", {"data": {"attributes": {"started_at": 1693491974}}}, "/data/attributes/team"),
        ("failure", failure(started_at=-5), "/data/attributes/started_at"),
        ("failure", failure(started_at="soon"), "/data/attributes/started_at"),
        ("failure", failure(finished_at=1693491973), "/data/attributes/finished_at"),
        ("failure", failure(id="too-short"), "/data/attributes/id"),
        ("failure", failure(custom_tags=["no-colon"]), "/data/attributes/custom_tags/0"),
        ("failure", failure(custom_tags=[f"k:{i}" for i in range(101)]), "/data/attributes/custom_tags"),
        ("failure", failure(git={"commit_sha": "abc"}), "/data/attributes/git/repository_url"),
        ("incident", failure(services="shopist"), "/data/attributes/services"),
        ("failure", {"data": []}, "/data"),
        ("failure", {}, "/data"),
        ("deployment", deployment(service=None), "/data/attributes/service"),
        (
            "deployment",
            {"data": {"attributes": {"service": "s", "started_at": 1693491974}}},
            "/data/attributes/finished_at",
        ),
        ("deployment", deployment(finished_at=1), "/data/attributes/finished_at"),
    ],
)
def test_bad_bodies_are_400_in_datadogs_style(
    http: httpx.Client, hook: Hook, db: Database, path: str, body: Any, pointer: str
) -> None:
    before = counts(db)
    resp = post(http, hook, path, body)
    assert resp.status_code == 400, resp.text
    errors = resp.json()["errors"]
    assert all(e["status"] == "400" and e["title"] == "Bad Request" and e["detail"] for e in errors)
    assert pointer in [e.get("source", {}).get("pointer") for e in errors]
    assert counts(db) == before


def test_not_json_is_400_in_datadogs_style(http: httpx.Client, hook: Hook) -> None:
    resp = http.post("/api/v2/dora/failure", headers=hook.dd, content=b"\xff\xfe not json")
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["title"] == "Bad Request"


def test_missing_or_wrong_dd_api_key_is_403(http: httpx.Client, hook: Hook, db: Database) -> None:
    for headers in ({}, {"DD-API-KEY": "wrong"}, hook.bearer):
        resp = http.post("/api/v2/dora/failure", headers=headers, json=failure())
        assert resp.status_code == 403 and resp.json() == {"errors": ["Forbidden"]}
    deleted = create_hook(http, "gone")
    assert http.delete(f"/plugins/webhook/connections/{deleted.id}").status_code == 200
    assert post(http, deleted, "deployment", deployment()).status_code == 403
    assert count(db, "issues") == count(db, "cicd_deployments") == 0


def test_body_over_one_megabyte_is_413_in_datadogs_style(
    http: httpx.Client, hook: Hook, db: Database
) -> None:
    resp = post(http, hook, "failure", failure(name="x" * (1024 * 1024)))
    assert resp.status_code == 413
    assert resp.json()["errors"][0]["status"] == "413"
    assert count(db, "issues") == 0
