"""Datadog alone gives a project its change failure rate: deployments and failures of one scope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.context import AppContext
from plugins.datadog.simulator import Store
from tests.integration.datadog.conftest import NOW, SimFactory, add_scope, connect, run

projects = pytest.importorskip("core.services.projects", reason="the DORA metrics service is not there yet")


def test_change_failure_rate_from_datadog_equals_a_hand_count(ctx: AppContext, dd_sim: SimFactory) -> None:
    day0 = NOW.replace(hour=0, minute=0, second=0) - timedelta(days=10)
    store = Store()
    sha = "a" * 40
    for i, day in enumerate((1, 2, 3, 4)):  # four production deployments, one a day at 10:00
        at = day0 + timedelta(days=day, hours=10)
        git = {
            "commit_sha": sha if day == 2 else f"{i:040d}",
            "repository_url": "https://github.com/acme/shop",
        }
        store.add_deployment(
            at - timedelta(minutes=5), at, id=f"dep-{day}", service="shop", env="prod", git=git
        )
    store.add_deployment(day0 + timedelta(days=2, hours=12), day0 + timedelta(days=2, hours=12, minutes=3),
                         id="dep-staging", service="shop", env="staging")  # fmt: skip
    failures = [  # (started, finished, commit): after dep-1 twice, after dep-3, and one naming dep-2's commit
        (timedelta(days=1, hours=12), timedelta(days=1, hours=13), None),
        (timedelta(days=1, hours=14), timedelta(days=1, hours=15), None),
        (timedelta(days=3, hours=11), timedelta(days=3, hours=12), None),
        (timedelta(days=4, hours=12), timedelta(days=4, hours=16), sha),
    ]
    for n, (start, end, commit) in enumerate(failures):
        extra = (
            {"git": {"commit_sha": commit, "repository_url": "https://github.com/acme/shop"}}
            if commit
            else {}
        )
        store.add_failure(
            day0 + start, day0 + end, id=f"failure-{n:012d}", services=["shop"], env="prod", **extra
        )
    sim = dd_sim(store=store)
    cid = connect(ctx, sim)
    add_scope(ctx, cid, "shop", "service:shop", ["failures", "deployments"])
    run(ctx, cid, "shop", timeAfter=(day0 - timedelta(days=1)).isoformat())

    scope = ctx.scopes.get("datadog", cid, "shop")
    mapped = ctx.registry.get("datadog").project_scopes(cid, scope)
    service = projects.ProjectService(ctx.db)
    service.create({"name": "shop", "scopes": [{"table": t, "rowId": r} for t, r in mapped]})
    service.refresh("shop")
    report = service.dora(
        "shop",
        start=day0.date().isoformat(),
        end=(day0 + timedelta(days=6)).date().isoformat(),
        report="2023",
        aggregate=None,
    )
    cfr = report["changeFailureRate"]
    # deployments with a failure after them: dep-1, dep-3, and dep-2 (explicitly, by commit) or
    # dep-4 (by time): three of four either way; the staging deployment does not count
    assert (cfr["failedDeployments"], cfr["deployments"]) == (3, 4)
    assert cfr["value"] == pytest.approx(0.75)
