"""Repeats and races: identical events collapse into one row; distinct ones all land."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from core.db import Database
from tests.integration.webhook.conftest import Hook, count, rows
from tests.integration.webhook.load import check, send, workload

IDENTICAL = 50


def _events(hook: Hook) -> dict[str, tuple[str, dict[str, str], dict[str, Any], str]]:
    """Per kind: the route, headers, body, and the table that must end with one row."""
    return {
        "datadog failure without id": (
            "/api/v2/dora/failure",
            hook.dd,
            {"data": {"attributes": {"services": ["shop"], "env": "prod", "started_at": 1700000000}}},
            "issues",
        ),
        "datadog failure with id": (
            "/api/v2/dora/incident",
            hook.dd,
            {"data": {"attributes": {"team": "t", "started_at": 1700000000, "id": "same-incident-0001"}}},
            "issues",
        ),
        "devlake issue": (
            f"/plugins/webhook/connections/{hook.id}/issues",
            hook.bearer,
            {
                "issueKey": "K-1",
                "title": "t",
                "status": "TODO",
                "originalStatus": "o",
                "createdDate": "2024-01-01",
            },
            "issues",
        ),
        "devlake deployment": (
            f"/plugins/webhook/connections/{hook.id}/deployments",
            hook.bearer,
            {
                "id": "d-1",
                "startedDate": "2024-01-01T00:00:00Z",
                "finishedDate": "2024-01-01T00:01:00Z",
                "deploymentCommits": [{"repoUrl": "r", "commitSha": "abc"}],
            },
            "cicd_deployment_commits",
        ),
        "datadog deployment without id": (
            "/api/v2/dora/deployment",
            hook.dd,
            {
                "data": {
                    "attributes": {"service": "shop", "started_at": 1700000000, "finished_at": 1700000060}
                }
            },
            "cicd_deployments",
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "datadog failure without id",
        "datadog failure with id",
        "devlake issue",
        "devlake deployment",
        "datadog deployment without id",
    ],
)
def test_fifty_identical_events_at_once_leave_one_row(
    app_url: str, hook: Hook, db: Database, kind: str
) -> None:
    path, headers, body, table = _events(hook)[kind]
    limits = httpx.Limits(max_connections=IDENTICAL, max_keepalive_connections=IDENTICAL)
    with (
        httpx.Client(base_url=app_url, timeout=120, limits=limits) as http,
        ThreadPoolExecutor(IDENTICAL) as pool,
    ):
        responses = list(pool.map(lambda _: http.post(path, headers=headers, json=body), range(IDENTICAL)))
    assert [r.status_code for r in responses] == [200] * IDENTICAL, {r.text for r in responses}
    assert len({r.text for r in responses}) == 1  # every caller is told the same id
    assert count(db, table) == 1
    if table == "issues":
        assert count(db, "board_issues") == 1
        assert len(rows(db, "_tool_webhook_incident_keys")) <= 2


def test_events_of_different_incidents_sent_concurrently_all_land(
    app_url: str, hook: Hook, db: Database
) -> None:
    """The normal-suite version of the load benchmark: 500 events from 10 clients."""
    pushes, expected = workload(hook, 500)
    _, statuses = send(app_url, pushes, clients=10)
    assert statuses == {200: 500}
    check(db, expected)
