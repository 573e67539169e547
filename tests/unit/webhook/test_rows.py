"""Body → row mappings that the integration tests do not pin down one by one."""

from __future__ import annotations

from datetime import datetime

import pytest

from plugins.webhook import ids, incident_keys, rows
from plugins.webhook.schemas.datadog import DeploymentRequest, FailureAttributes, FailureRequest
from plugins.webhook.schemas.devlake import IssueBody


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, "PRODUCTION"),
        ("prod", "PRODUCTION"),
        ("Production", "PRODUCTION"),
        ("eu-prod-1", "PRODUCTION"),
        ("preprod", "STAGING"),
        ("staging", "STAGING"),
        ("qa", "TESTING"),
        ("dev", "DEVELOPMENT"),
        ("canary", "CANARY"),
        ("product-team", "PRODUCT-TEAM"),
    ],
)
def test_datadog_env_maps_to_devlake_environments(env: str | None, expected: str) -> None:
    assert rows.domain_environment(env) == expected


def _failure(**attrs: object) -> FailureAttributes:
    body = {"data": {"attributes": {"services": ["b", "a"], "started_at": 1700000000, **attrs}}}
    return FailureRequest.model_validate(body).data.attributes


def test_match_alias_ignores_unit_and_service_order() -> None:
    first = _failure()
    same = _failure(started_at=1700000000000000000, services=["a", "b"], name="other")
    assert incident_keys.match_alias(first) == incident_keys.match_alias(same)
    assert incident_keys.generated_key(1, first) == incident_keys.generated_key(1, same)
    assert incident_keys.generated_key(1, first) != incident_keys.generated_key(2, first)
    assert incident_keys.match_alias(first) != incident_keys.match_alias(_failure(env="staging"))


def test_resolution_event_updates_only_what_it_carries() -> None:
    start = rows.datadog_failure(1, "k", _failure(name="down", severity="High"), "dora_failure")
    assert {"title", "severity", "created_date"} <= set(start.update or [])
    # a start event repeated after the resolution does not reopen the incident
    assert not {"status", "resolution_date", "lead_time_minutes"} & set(start.update or [])
    end = rows.datadog_failure(1, "k", _failure(finished_at=1700003600), "dora_failure")
    assert "title" not in (end.update or []) and "severity" not in (end.update or [])
    assert end.rows[0]["lead_time_minutes"] == 60 and end.rows[0]["status"] == "DONE"


def test_devlake_lead_time_given_or_computed() -> None:
    base = {
        "issueKey": "K",
        "title": "t",
        "status": "DONE",
        "originalStatus": "x",
        "createdDate": "2024-01-01T00:00:00Z",
    }
    computed = rows.devlake_issue(
        1, IssueBody.model_validate({**base, "resolutionDate": "2024-01-01T02:30:59Z"})
    )
    assert computed["lead_time_minutes"] == 150
    given = rows.devlake_issue(1, IssueBody.model_validate({**base, "leadTimeMinutes": 7}))
    assert given["lead_time_minutes"] == 7
    unresolved = rows.devlake_issue(1, IssueBody.model_validate(base))
    assert unresolved["lead_time_minutes"] is None


def test_close_keeps_an_existing_resolution() -> None:
    now = datetime(2024, 1, 2)
    issue = {
        "id": "i",
        "created_date": datetime(2024, 1, 1),
        "resolution_date": None,
        "lead_time_minutes": None,
    }
    assert rows.closed_issue(issue, now).rows[0]["lead_time_minutes"] == 1440
    resolved = {**issue, "resolution_date": datetime(2024, 1, 1, 1)}
    assert rows.closed_issue(resolved, now).rows[0]["resolution_date"] == datetime(2024, 1, 1, 1)


def test_deployment_without_git_gets_a_placeholder_commit_row() -> None:
    attrs = DeploymentRequest.model_validate(
        {"data": {"attributes": {"service": "s", "started_at": 1700000000, "finished_at": 1700000090}}}
    ).data.attributes
    deployment, commits = rows.datadog_deployment(3, "key", attrs)
    [commit] = commits.rows
    assert (
        commit["commit_sha"] == ""
        and commit["cicd_deployment_id"] == deployment.rows[0]["id"] == "webhook:3:key"
    )
    assert commit["duration_sec"] == 90.0


def test_ids_fit_their_columns() -> None:
    longest = ids.deployment_commit_id(2**31 - 1, "d" * 128, "u", "s" * 80)
    assert len(longest) <= 255
    assert len(ids.issue_id(2**31 - 1, "k" * 200)) <= 255
