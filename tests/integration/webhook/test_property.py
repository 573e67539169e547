"""Property: whatever body hits an intake route, the answer is 2xx or 4xx (never 5xx),
a 4xx writes nothing, and a 2xx leaves consistent rows (never a partial write)."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.db import Database
from tests.integration.webhook.conftest import Hook, count, counts

EXAMPLES = int(os.environ.get("WEBHOOK_PROPERTY_EXAMPLES", "200"))
ISSUE = {
    "issueKey": "P-1",
    "title": "prop",
    "type": "INCIDENT",
    "status": "TODO",
    "originalStatus": "new",
    "createdDate": "2024-01-01T00:00:00Z",
    "resolutionDate": "2024-01-01T01:00:00Z",
}
DEPLOYMENT = {
    "id": "prop-1",
    "startedDate": "2024-01-01T00:00:00Z",
    "finishedDate": "2024-01-01T00:10:00Z",
    "environment": "PRODUCTION",
    "deploymentCommits": [{"repoUrl": "https://git.example.com/r", "commitSha": "abc"}],
}
FAILURE = {
    "data": {
        "attributes": {
            "services": ["shop"],
            "team": "core",
            "env": "prod",
            "started_at": 1700000000,
            "finished_at": 1700000600,
            "id": "prop-incident-00001",
            "git": {"commit_sha": "abc", "repository_url": "https://git.example.com/r"},
            "custom_tags": ["a:b"],
        }
    }
}
DORA_DEPLOYMENT = {
    "data": {
        "attributes": {"service": "shop", "started_at": 1700000000, "finished_at": 1700000060, "env": "prod"}
    }
}
ROUTES = [  # (path template, template body); /api/ routes take DD-API-KEY, the others a bearer key
    ("/plugins/webhook/connections/{id}/issues", ISSUE),
    ("/plugins/webhook/connections/by-name/{name}/issues", ISSUE),
    ("/plugins/webhook/connections/{id}/deployments", DEPLOYMENT),
    ("/plugins/webhook/{id}/deployments", DEPLOYMENT),
    ("/plugins/webhook/connections/{id}/issue/{key}/close", {}),
    ("/api/v2/dora/failure", FAILURE),
    ("/api/v2/dora/incident", FAILURE),
    ("/api/v2/dora/deployment", DORA_DEPLOYMENT),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "2024-01-01T00:00:00Z", "0001-01-01T00:00:00+23:59", "99999999999999999999", "NaN"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON template, so a mutation can reach nested fields."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _mutate(template: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    if not path:
        return value if op == "set" else template
    body = json.loads(json.dumps(template))
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "drop" and isinstance(parent, dict):
        parent.pop(last, None)
    elif op == "drop" and isinstance(parent, list):
        parent.pop(last)
    else:
        parent[last] = value
    return body


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Any, str, str]:
    """(route, body bytes or JSON value, key kind, close key): mutated templates, random JSON, junk."""
    path, template = draw(st.sampled_from(ROUTES))
    kind = draw(st.sampled_from(["template", "mutated", "mutated", "mutated", "random", "bytes"]))
    if kind == "template":
        body: Any = template
    elif kind == "mutated":
        body = template
        for _ in range(draw(st.integers(1, 3))):
            where = draw(st.sampled_from(_paths(body)))
            body = _mutate(body, where, draw(st.sampled_from(["set", "drop"])), draw(json_values))
    elif kind == "random":
        body = draw(json_values)
    else:
        body = draw(st.binary(max_size=64))
    key = draw(st.sampled_from(["valid"] * 6 + ["missing", "wrong"]))
    close_key = draw(st.sampled_from(["P-1", "nope"]) | st.text(min_size=1, max_size=20))
    return path, body, key, close_key


def _consistent(db: Database) -> None:
    """Invariants of complete writes: each issue on its board, each deployment with a commit
    row, each incident alias pointing at a stored incident."""
    assert count(db, "issues") == count(db, "board_issues")
    with db.engine.connect() as conn:
        orphan_deployments = conn.execute(
            text(
                "SELECT COUNT(*) FROM cicd_deployments d WHERE NOT EXISTS "
                "(SELECT 1 FROM cicd_deployment_commits c WHERE c.cicd_deployment_id = d.id)"
            )
        ).scalar()
        dangling_aliases = conn.execute(
            text(
                "SELECT COUNT(*) FROM _tool_webhook_incident_keys k WHERE NOT EXISTS "
                "(SELECT 1 FROM issues i WHERE i.id = CONCAT('webhook:', k.connection_id, ':', k.issue_key))"
                if db.dialect != "sqlite"
                else "SELECT COUNT(*) FROM _tool_webhook_incident_keys k WHERE NOT EXISTS "
                "(SELECT 1 FROM issues i WHERE i.id = 'webhook:' || k.connection_id || ':' || k.issue_key)"
            )
        ).scalar()
    assert orphan_deployments == 0 and dangling_aliases == 0


def test_any_body_gets_2xx_or_4xx_and_never_a_partial_write(
    http: httpx.Client, hook: Hook, db: Database
) -> None:
    headers = {
        "bearer": {"valid": hook.bearer, "missing": {}, "wrong": {"Authorization": "Bearer wrong"}},
        "dd": {"valid": hook.dd, "missing": {}, "wrong": {"DD-API-KEY": "wrong"}},
    }

    seen: set[int] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests())
    def check(request: tuple[str, Any, str, str]) -> None:
        path, body, key, close_key = request
        url = path.format(id=hook.id, name=hook.name, key=quote(close_key, safe=""))
        auth = headers["dd" if url.startswith("/api/") else "bearer"][key]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        before = counts(db)
        resp = http.post(url, content=content, headers=auth)
        seen.add(resp.status_code // 100)
        assert resp.status_code < 500, (resp.status_code, resp.text)
        assert 200 <= resp.status_code < 300 or 400 <= resp.status_code < 500
        payload = resp.json()
        if resp.status_code >= 400:
            assert counts(db) == before, "a rejected request wrote something"
            assert ("errors" in payload) if url.startswith("/api/") else (payload.get("success") is False)
        else:
            _consistent(db)

    check()
    assert seen == {2, 4}, f"the examples should both succeed and fail; saw {seen}"


NASTY = [
    b"",
    b"null",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"issueKey": "\\ud800", "data": {"attributes": {"services": ["\\udfff"], "started_at": 1700000000}}}',
    b'{"issueKey": NaN, "data": {"attributes": {"team": "t", "started_at": Infinity}}}',
    b'{"createdDate": 1'
    + b"0" * 5000
    + b', "data": {"attributes": {"team": "t", "started_at": 1'
    + b"0" * 5000
    + b"}}}",
    '{"data": {"attributes": {"team": "t", "started_at": 1700000000}}}'.encode("utf-16"),
    b'{"data": {"attributes": {"team": "t", "started_at": 1700000000, "custom_tags": null, "services": null}}}',
]


def test_nasty_raw_bodies_are_4xx_or_2xx_everywhere(http: httpx.Client, hook: Hook, db: Database) -> None:
    for path, _ in ROUTES:
        url = path.format(id=hook.id, name=hook.name, key="P-1")
        auth = hook.dd if url.startswith("/api/") else hook.bearer
        for body in NASTY:
            resp = http.post(url, content=body, headers=auth)
            assert resp.status_code < 500, (url, body[:80], resp.text)
    _consistent(db)
