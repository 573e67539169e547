"""DevLake's webhook routes, over real HTTP: DevLake's documented calls give DevLake's rows.

Differences from DevLake on purpose: a deployment's id is `webhook:<conn>:<id>` (DESIGN.md)
where DevLake keeps the sender's id bare; closing an issue also records its resolution date
and lead time, which DevLake leaves empty; `lead_time_minutes` is NULL until resolved.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import httpx
import pytest

from core.db import Database
from core.models import utcnow
from tests.integration.webhook.conftest import Hook, count, counts, create_hook, curl, rows

ISSUE_CURL = """curl {base}/plugins/webhook/connections/%d/issues -X 'POST' -H 'Authorization: Bearer {key}' -d '{
    "issueKey":"DLK-1234",
    "title":"an incident from DLK",
    "type":"INCIDENT",
    "originalStatus":"TODO",
    "status":"TODO",
    "createdDate":"2020-01-01T12:00:00+00:00",
    "updatedDate":"2020-01-01T12:00:00+00:00"
  }'"""

CLOSE_CURL = "curl {base}/plugins/webhook/connections/%d/issue/DLK-1234/close -X 'POST' -H 'Authorization: Bearer {key}'"

DEPLOYMENT_CURL = """curl {base}/plugins/webhook/connections/%d/deployments -X 'POST' -H 'Authorization: Bearer {key}' -d '{
    "id": "release-2023-01-01",
    "startedDate": "2023-01-01T12:00:00+00:00",
    "finishedDate": "2023-01-01T12:30:00+00:00",
    "result": "SUCCESS",
    "deploymentCommits":[
      {
        "repoUrl": "https://github.com/apache/incubator-devlake/",
        "refName": "main",
        "startedDate": "2023-01-01T12:00:00+00:00",
        "finishedDate": "2023-01-01T12:30:00+00:00",
        "commitSha": "015e3d3b480e417aede5a1293bd61de9b0fd051d",
        "commitMsg": "optional-commit-message"
      }
    ]
  }'"""

ISSUE = {
    "issueKey": "DLK-1234",
    "title": "an incident from DLK",
    "type": "INCIDENT",
    "originalStatus": "TODO",
    "status": "TODO",
    "createdDate": "2020-01-01T12:00:00+00:00",
}
DEPLOYMENT = {
    "id": "d-1",
    "startedDate": "2023-01-01T12:00:00Z",
    "finishedDate": "2023-01-01T12:10:00Z",
    "deploymentCommits": [{"repoUrl": "https://git.example.com/shop", "commitSha": "abc123"}],
}


def test_documented_issue_post_gives_devlakes_rows(app_url: str, hook: Hook, db: Database) -> None:
    status, body = curl(ISSUE_CURL % hook.id, app_url, hook.key)
    assert status == 200, body
    [issue] = rows(db, "issues")
    assert {k: issue[k] for k in ("id", "issue_key", "title", "type", "status", "original_status")} == {
        "id": f"webhook:{hook.id}:DLK-1234",
        "issue_key": "DLK-1234",
        "title": "an incident from DLK",
        "type": "INCIDENT",
        "status": "TODO",
        "original_status": "TODO",
    }
    assert issue["created_date"] == issue["updated_date"] == datetime(2020, 1, 1, 12, 0)
    assert issue["resolution_date"] is None and issue["lead_time_minutes"] is None
    assert [b["id"] for b in rows(db, "boards")] == [f"webhook:{hook.id}"]
    assert rows(db, "board_issues")[0]["issue_id"] == issue["id"]


def test_documented_close_sets_done_resolution_and_lead_time(app_url: str, hook: Hook, db: Database) -> None:
    curl(ISSUE_CURL % hook.id, app_url, hook.key)
    before = utcnow()
    status, body = curl(CLOSE_CURL % hook.id, app_url, hook.key)
    assert status == 200, body
    [issue] = rows(db, "issues")
    assert issue["status"] == "DONE" and issue["original_status"] == ""
    assert before - timedelta(seconds=1) <= issue["resolution_date"] <= utcnow()
    expected = int((issue["resolution_date"] - datetime(2020, 1, 1, 12)).total_seconds() // 60)
    assert issue["lead_time_minutes"] == expected
    # closing again keeps the first resolution
    resolved = issue["resolution_date"]
    assert curl(CLOSE_CURL % hook.id, app_url, hook.key)[0] == 200
    assert rows(db, "issues")[0]["resolution_date"] == resolved


def test_documented_deployment_gives_devlakes_rows(app_url: str, hook: Hook, db: Database) -> None:
    status, body = curl(DEPLOYMENT_CURL % hook.id, app_url, hook.key)
    assert status == 200, body
    sha = "015e3d3b480e417aede5a1293bd61de9b0fd051d"
    url_hash = hashlib.md5(b"https://github.com/apache/incubator-devlake/").hexdigest()[:16]
    [deployment] = rows(db, "cicd_deployments")
    assert deployment["id"] == f"webhook:{hook.id}:release-2023-01-01"
    assert deployment["cicd_scope_id"] == f"webhook:{hook.id}"
    assert deployment["name"] == f"deploy {sha} to PRODUCTION"
    assert (deployment["result"], deployment["status"], deployment["environment"]) == (
        "SUCCESS",
        "DONE",
        "PRODUCTION",
    )
    assert deployment["started_date"] == deployment["created_date"] == datetime(2023, 1, 1, 12)
    assert deployment["finished_date"] == datetime(2023, 1, 1, 12, 30)
    assert deployment["duration_sec"] == 1800.0
    [commit] = rows(db, "cicd_deployment_commits")
    assert commit["id"] == f"webhook:{hook.id}:release-2023-01-01:{url_hash}:{sha}"
    assert commit["cicd_deployment_id"] == deployment["id"]
    assert (commit["commit_sha"], commit["ref_name"], commit["commit_msg"]) == (
        sha,
        "main",
        "optional-commit-message",
    )
    assert commit["name"] == f"deployment for {sha}"
    assert (commit["result"], commit["environment"]) == ("SUCCESS", "PRODUCTION")
    assert [s["id"] for s in rows(db, "cicd_scopes")] == [f"webhook:{hook.id}"]


def test_deployment_defaults_follow_devlake(http: httpx.Client, hook: Hook, db: Database) -> None:
    body = {
        **DEPLOYMENT,
        "deploymentCommits": [*DEPLOYMENT["deploymentCommits"], {"repoUrl": "r2", "commitSha": "def"}],
    }
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/deployments", headers=hook.bearer, json=body)
    assert resp.status_code == 200, resp.text
    [deployment] = rows(db, "cicd_deployments")
    assert (deployment["result"], deployment["environment"], deployment["name"]) == (
        "SUCCESS",
        "PRODUCTION",
        "deploy abc123,def to PRODUCTION",
    )
    commits = rows(db, "cicd_deployment_commits")
    assert sorted(c["commit_sha"] for c in commits) == ["abc123", "def"]
    assert {c["started_date"] for c in commits} == {datetime(2023, 1, 1, 12)}


def test_repeated_posts_update_one_row(http: httpx.Client, hook: Hook, db: Database) -> None:
    url = f"/plugins/webhook/connections/{hook.id}/issues"
    assert http.post(url, headers=hook.bearer, json=ISSUE).status_code == 200
    resolved = {
        **ISSUE,
        "status": "DONE",
        "originalStatus": "Resolved",
        "resolutionDate": "2020-01-01T13:30:59Z",
    }
    assert http.post(url, headers=hook.bearer, json=resolved).status_code == 200
    [issue] = rows(db, "issues")
    assert (issue["status"], issue["original_status"], issue["lead_time_minutes"]) == ("DONE", "Resolved", 90)
    for _ in range(2):
        r = http.post(
            f"/plugins/webhook/connections/{hook.id}/deployments", headers=hook.bearer, json=DEPLOYMENT
        )
        assert r.status_code == 200
    assert (count(db, "cicd_deployments"), count(db, "cicd_deployment_commits")) == (1, 1)
    assert (count(db, "boards"), count(db, "board_issues")) == (1, 1)


def test_by_name_and_legacy_paths(http: httpx.Client, hook: Hook, db: Database) -> None:
    by_name = f"/plugins/webhook/connections/by-name/{hook.name}"
    assert http.post(f"{by_name}/issues", headers=hook.bearer, json=ISSUE).status_code == 200
    assert http.post(f"{by_name}/issue/DLK-1234/close", headers=hook.bearer).status_code == 200
    assert http.post(f"{by_name}/deployments", headers=hook.bearer, json=DEPLOYMENT).status_code == 200
    other = {**ISSUE, "issueKey": "OPS/7"}  # a key with a slash closes through the path too
    assert http.post(f"/plugins/webhook/{hook.id}/issues", headers=hook.bearer, json=other).status_code == 200
    assert http.post(f"/plugins/webhook/{hook.id}/issue/OPS/7/close", headers=hook.bearer).status_code == 200
    assert {i["issue_key"]: i["status"] for i in rows(db, "issues")} == {"DLK-1234": "DONE", "OPS/7": "DONE"}
    assert count(db, "cicd_deployments") == 1


def test_extension_fields_fill_extension_columns(http: httpx.Client, hook: Hook, db: Database) -> None:
    body = {
        **ISSUE,
        "environment": "prod",
        "service": "shop",
        "team": "core",
        "commitSha": "abc",
        "version": "1.2",
    }
    assert (
        http.post(
            f"/plugins/webhook/connections/{hook.id}/issues", headers=hook.bearer, json=body
        ).status_code
        == 200
    )
    [issue] = rows(db, "issues")
    assert [issue[c] for c in ("environment", "service", "team", "commit_sha", "version")] == [
        "prod",
        "shop",
        "core",
        "abc",
        "1.2",
    ]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("issues", {k: v for k, v in ISSUE.items() if k != "issueKey"}, "issueKey"),
        ("issues", {**ISSUE, "title": ""}, "title"),
        ("issues", {**ISSUE, "status": "OPEN"}, "status"),
        ("issues", {**ISSUE, "createdDate": "yesterday"}, "createdDate"),
        ("issues", {**ISSUE, "resolutionDate": "2019-12-31T00:00:00Z"}, "resolutionDate"),
        ("issues", {**ISSUE, "issueKey": "K" * 201}, "issueKey"),
        ("issues", {**ISSUE, "leadTimeMinutes": -1}, "leadTimeMinutes"),
        ("deployments", {**DEPLOYMENT, "deploymentCommits": []}, "deploymentCommits"),
        (
            "deployments",
            {**DEPLOYMENT, "deploymentCommits": [{"repoUrl": "r"}]},
            "deploymentCommits.0.commitSha",
        ),
        ("deployments", {**DEPLOYMENT, "environment": "PROD"}, "environment"),
        ("deployments", {k: v for k, v in DEPLOYMENT.items() if k != "finishedDate"}, "finishedDate"),
        ("deployments", {**DEPLOYMENT, "finishedDate": "2023-01-01T11:00:00Z"}, "finishedDate"),
        ("issues", [ISSUE], "body"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    http: httpx.Client, hook: Hook, db: Database, route: str, body: object, field: str
) -> None:
    before = counts(db)
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/{route}", headers=hook.bearer, json=body)
    assert resp.status_code == 400, resp.text
    payload = resp.json()
    assert payload["success"] is False and field in payload["message"]
    assert field in [c["field"] for c in payload["causes"]]
    assert counts(db) == before


def test_not_json_is_400(http: httpx.Client, hook: Hook, db: Database) -> None:
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/issues", headers=hook.bearer, content=b"{nope")
    assert resp.status_code == 400 and resp.json()["causes"][0]["field"] == "body"
    assert count(db, "issues") == 0


def test_missing_wrong_or_foreign_key_is_401(http: httpx.Client, hook: Hook, db: Database) -> None:
    other = create_hook(http, "other")
    url = f"/plugins/webhook/connections/{hook.id}/issues"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": hook.key}, other.bearer):
        resp = http.post(url, headers=headers, json=ISSUE)
        assert resp.status_code == 401, resp.text
        assert resp.json()["success"] is False
    assert (
        http.post(
            f"/plugins/webhook/connections/by-name/{hook.name}/issues", headers=other.bearer, json=ISSUE
        ).status_code
        == 401
    )
    assert count(db, "issues") == 0
    assert (
        http.post(
            f"/plugins/webhook/connections/{other.id}/issues", headers=other.bearer, json=ISSUE
        ).status_code
        == 200
    )


def test_unknown_issue_and_connection_are_404(http: httpx.Client, hook: Hook) -> None:
    assert (
        http.post(
            f"/plugins/webhook/connections/{hook.id}/issue/NOPE-1/close", headers=hook.bearer
        ).status_code
        == 404
    )
    resp = http.post("/plugins/webhook/connections/by-name/missing/issues", headers=hook.bearer, json=ISSUE)
    assert resp.status_code == 404
    assert (
        http.post("/plugins/webhook/connections/x1/issues", headers=hook.bearer, json=ISSUE).status_code
        == 400
    )


def test_body_over_one_megabyte_is_413(http: httpx.Client, hook: Hook, db: Database) -> None:
    body = {**ISSUE, "description": "x" * (1024 * 1024)}
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/issues", headers=hook.bearer, json=body)
    assert resp.status_code == 413
    assert resp.json()["success"] is False
    assert count(db, "issues") == 0
    just_under = {**ISSUE, "description": "x" * (1024 * 1024 - 400)}
    resp = http.post(f"/plugins/webhook/connections/{hook.id}/issues", headers=hook.bearer, json=just_under)
    assert resp.status_code == 200, resp.text
