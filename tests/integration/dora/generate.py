"""A generated data set with every awkward case the DORA figures must get right."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.integration.dora.seed import Seed

START = datetime(2023, 11, 1)
PRIORITIES = ["P1", "P2", "P3", "p1", None]
SERVICES = ["api", "web", "API", None]


def ts(rng: random.Random, start: datetime, days: float) -> datetime:
    """A millisecond-precision instant (both backends keep milliseconds)."""
    return start + timedelta(milliseconds=rng.randrange(int(days * 86_400_000)))


def generated(
    seed: int = 7, *, incidents: int = 400, deployments: int = 160, shared_board: bool = True
) -> Seed:
    """Project `shop` (two boards, two cicd scopes) and `other` sharing one board.

    Ties in lead times (whole-minute durations from a short list) and in finish times,
    open incidents, incidents before any deployment, incidents outside any window, several
    deployments a day, multi-commit deployments, failed and staging deployments,
    deployments without a finish, explicit links by commit and by version, and incidents
    on a board of another project (unless `shared_board` is false: DevLake's panels cannot
    apply a project's own filter to a board two projects share).
    """
    rng = random.Random(seed)
    s = Seed()
    b1, b2, b3 = s.board("pagerduty:Service:1:A"), s.board("pagerduty:Service:1:B"), s.board("webhook:3")
    c1, c2, c3 = s.scope("github:1:api"), s.scope("github:1:web"), s.scope("github:1:elsewhere")
    s.project(
        "shop",
        boards=[b1, b2],
        cicd_scopes=[c1, c2],
        incident_filter={"priorities": ["P1", "p2"], "services": []},
    )
    other_boards = [b2, b3] if shared_board else [b3]
    s.project("other", boards=other_boards, cicd_scopes=[c3], incident_filter={"services": ["web"]})
    first_deploy = START + timedelta(days=20)
    finishes: list[datetime] = []
    shas: list[str] = []
    versions: list[str] = []
    for n in range(deployments):
        scope = rng.choice([c1, c1, c2, c3])
        if finishes and rng.random() < 0.08:
            finished: datetime | None = rng.choice(finishes)  # the same instant as another deployment
        else:
            finished = ts(rng, first_deploy, 200)
        if rng.random() < 0.03:
            finished = None
        result = "FAILURE" if rng.random() < 0.1 else "SUCCESS"
        env = "STAGING" if rng.random() < 0.08 else "PRODUCTION"
        version = f"v{n}" if rng.random() < 0.3 else None
        commits: list[tuple[str, datetime | None]] = [(f"sha{n}a", finished)]
        if finished is not None and rng.random() < 0.3:  # the commit finished earlier; max() wins
            commits.append((f"sha{n}b", finished - timedelta(minutes=rng.randrange(1, 90))))
        dep_id = f"deploy:{n:04d}"
        s.deployment(
            dep_id, scope, finished, commits=commits, result=result, environment=env, version=version
        )
        if finished is not None:
            finishes.append(finished)
        shas += [c[0] for c in commits]
        if version:
            versions.append(version)
    durations = [0, 5, 30, 59, 60, 61, 240, 1439, 1440, 2880, 10079, 10080, 20000]
    for n in range(incidents):
        board = rng.choice([b1, b1, b2, b3])
        created = ts(rng, START, 240)  # some before the first deployment, some after the last window
        resolved = None
        if rng.random() < 0.85:
            resolved = created + timedelta(minutes=rng.choice(durations), milliseconds=rng.randrange(60_000))
        extra: dict[str, object] = {
            "priority": rng.choice(PRIORITIES),
            "service": rng.choice(SERVICES),
            "assignee_id": f"user{rng.randrange(5)}" if rng.random() < 0.5 else None,
        }
        roll = rng.random()
        if roll < 0.12:
            extra["commit_sha"] = rng.choice(shas)
        elif roll < 0.2 and versions:
            extra["version"] = rng.choice(versions)
        elif roll < 0.23:
            extra["commit_sha"] = "never-deployed"
        issue_id = s.incident(f"pagerduty:Incident:1:{n}", board, created, resolved, **extra)
        if resolved is not None and rng.random() < 0.1:  # a source that left the lead time empty
            s.issues[-1]["lead_time_minutes"] = None
        if rng.random() < 0.1:
            s.assignees.append({"issue_id": issue_id, "assignee_id": "oncall", "assignee_name": "On Call"})
    # a non-incident issue on a project board is never an incident
    s.incident("jira:Issue:1:1", b1, START + timedelta(days=50), START + timedelta(days=51), type="BUG")
    return s
