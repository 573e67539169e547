"""A mixed push workload (both intakes, issues, incidents and deployments) sent by
concurrent clients; shared by the concurrency tests and the load benchmark."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from core.db import Database
from tests.integration.webhook.conftest import Hook, count, rows

T0 = 1_700_000_000  # seconds; incident i starts at T0 + 60 * i


@dataclass(frozen=True)
class Push:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Expected:
    issues: int
    resolved_incidents: int
    deployments: int
    deployment_commits: int


def workload(hook: Hook, events: int, seed: int = 7) -> tuple[list[Push], Expected]:
    """`events` pushes (a multiple of 10): 40% Datadog incident events (a start and a
    resolution per incident, half with ids), 40% DevLake issues, 10% DevLake deployments,
    10% Datadog deployments. Shuffled, so a resolution may arrive before its start."""
    assert events % 10 == 0
    incidents, issues, deploys = events // 5, events * 2 // 5, events // 10
    pushes: list[Push] = []
    dd, bearer = hook.dd, hook.bearer
    for i in range(incidents):
        attrs: dict[str, Any] = {"services": [f"svc-{i % 7}"], "env": "prod", "started_at": T0 + 60 * i}
        if i % 2:
            attrs["id"] = f"load-incident-{i:08d}"
        pushes.append(Push("/api/v2/dora/failure", dd, {"data": {"attributes": attrs}}))
        done = {**attrs, "finished_at": (T0 + 60 * i + 60 * (i % 90)) * 1000}  # milliseconds
        pushes.append(Push("/api/v2/dora/failure", dd, {"data": {"attributes": done}}))
    for i in range(issues):
        body = {
            "issueKey": f"LOAD-{i}",
            "title": f"issue {i}",
            "type": "INCIDENT" if i % 3 == 0 else "BUG",
            "status": "DONE",
            "originalStatus": "closed",
            "createdDate": "2024-01-01T00:00:00Z",
            "resolutionDate": "2024-01-01T01:00:00Z",
        }
        pushes.append(Push(f"/plugins/webhook/connections/{hook.id}/issues", bearer, body))
    for i in range(deploys):
        body = {
            "id": f"load-deploy-{i}",
            "startedDate": "2024-01-02T00:00:00Z",
            "finishedDate": "2024-01-02T00:05:00Z",
            "deploymentCommits": [{"repoUrl": "https://git.example.com/shop", "commitSha": f"{i:040x}"}],
        }
        pushes.append(Push(f"/plugins/webhook/connections/{hook.id}/deployments", bearer, body))
        attrs = {"service": "shop", "started_at": T0 + i, "finished_at": T0 + i + 30}
        if i % 2:
            attrs["git"] = {"commit_sha": f"{i:040x}", "repository_url": "https://git.example.com/shop"}
        pushes.append(Push("/api/v2/dora/deployment", dd, {"data": {"attributes": attrs}}))
    random.Random(seed).shuffle(pushes)
    expected = Expected(
        issues=incidents + issues,
        resolved_incidents=incidents,
        deployments=2 * deploys,
        deployment_commits=2 * deploys,
    )
    return pushes, expected


def send(base_url: str, pushes: list[Push], clients: int) -> tuple[float, Counter[int]]:
    """Send the pushes from `clients` threads, each its own keep-alive HTTP client.

    Returns the wall time and the status codes seen (errors count as status 0).
    """
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    shares = [pushes[i::clients] for i in range(clients)]

    def run(share: list[Push]) -> None:
        seen: Counter[int] = Counter()
        with httpx.Client(base_url=base_url, timeout=120) as client:
            for push in share:
                try:
                    seen[client.post(push.path, headers=push.headers, json=push.body).status_code] += 1
                except httpx.HTTPError:
                    seen[0] += 1
        with lock:
            statuses.update(seen)

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, statuses


def check(db: Database, expected: Expected) -> None:
    """Nothing lost, nothing duplicated, every incident resolved whatever the arrival order."""
    assert count(db, "issues") == expected.issues
    incidents = [r for r in rows(db, "issues") if r["original_type"] == "dora_failure"]
    assert len(incidents) == expected.resolved_incidents
    assert all(r["status"] == "DONE" and r["lead_time_minutes"] is not None for r in incidents)
    assert count(db, "board_issues") == expected.issues
    assert count(db, "cicd_deployments") == expected.deployments
    assert count(db, "cicd_deployment_commits") == expected.deployment_commits
    assert count(db, "boards") == count(db, "cicd_scopes") == 1
