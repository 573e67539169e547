"""The SQL figures equal a plain-Python computation of the same rows, on both databases."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import Database
from core.dora import linking
from core.dora.linking import link_incidents
from core.dora.metrics import dora_report
from core.dora.stage import rebuild_incidents
from core.dora.window import Window
from tests.integration.dora.generate import generated
from tests.integration.dora.reference import Reference, comparable, expected_report, passes

WINDOWS = [
    (datetime(2023, 12, 10, 6, 30), datetime(2024, 4, 20, 18, 0)),  # edges inside days and months
    (datetime(2023, 10, 1), datetime(2024, 8, 1)),  # everything
    (datetime(2024, 2, 1), datetime(2024, 3, 1)),  # one month
    (datetime(2022, 1, 1), datetime(2022, 3, 1)),  # nothing at all
]


def _close(a: Any, b: Any, path: str = "") -> None:
    """Equal, except floats within 0.006 (MySQL averages with 4 decimals)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, abs_tol=0.006), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _links(s: Session, project: str) -> dict[str, tuple[str, str]]:
    """The project's relationships, incident → (deployment, link type), after checking that
    `_dora_links` (which MariaDB derives on a connection of its own) holds the same."""
    query = "SELECT {0} AS id, deployment_id, link_type FROM {1} WHERE project_name = :p"
    links = {
        r.id: (r.deployment_id, r.link_type)
        for r in s.execute(
            text(query.format("id", "project_incident_deployment_relationships")), {"p": project}
        )
    }
    staged = {
        r.id: (r.deployment_id, r.link_type)
        for r in s.execute(text(query.format("incident_id", "_dora_links")), {"p": project})
    }
    assert staged == links
    return links


@pytest.mark.parametrize("window_hours", [None, 72.0])
def test_every_figure_matches_the_reference(db: Database, window_hours: float | None) -> None:
    seed = generated()
    next(p for p in seed.projects if p["name"] == "shop")["linking_window_hours"] = window_hours
    seed.write(db)
    for project in ("other", "shop"):  # shop last: its rebuild must keep what other's filter allows
        rebuild_incidents(db, project)
        link_incidents(db, project)
    ref = Reference(seed, "shop")

    with db.session() as s:
        links = _links(s, "shop")
        assert links == ref.links
        assert {kind for _, kind in links.values()} == {"explicit", "time"}

        for lo, hi in WINDOWS:
            for report in ("2021", "2023"):
                for agg in ("median", "mean", "p90"):
                    got = comparable(dora_report(s, "shop", Window(lo, hi), report, agg))
                    want = expected_report(ref, lo, hi, report, agg)
                    _close(got, want, f"{lo:%Y-%m-%d}..{hi:%Y-%m-%d} {report} {agg}")


@pytest.mark.parametrize("per_bucket", [0.01, 1, 3, 1_000_000])
def test_time_links_do_not_depend_on_the_bucket_size(
    db: Database, monkeypatch: pytest.MonkeyPatch, per_bucket: float
) -> None:
    """Tiny buckets (most empty, ties split across edges) and one bucket holding every
    deployment link the same incidents as the reference."""
    monkeypatch.setattr(linking, "PER_BUCKET", per_bucket)
    seed = generated()
    seed.write(db)
    rebuild_incidents(db, "shop")
    link_incidents(db, "shop")
    with db.session() as s:
        assert _links(s, "shop") == Reference(seed, "shop").links


def test_a_failed_link_keeps_the_previous_links(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linking rewrites each link table in one transaction: a failure after the old rows were
    deleted and the explicit links written leaves the previous links as they were (MariaDB
    would commit midway on DDL such as CREATE INDEX)."""
    seed = generated()
    seed.write(db)
    rebuild_incidents(db, "shop")
    link_incidents(db, "shop")
    with db.session() as s:
        before = _links(s, "shop")
    time_rule = linking._link_by_time

    def failing(*args: Any, **kwargs: Any) -> int:
        time_rule(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(linking, "_link_by_time", failing)
    with pytest.raises(RuntimeError, match="went away"):
        link_incidents(db, "shop")
    with db.session() as s:
        assert _links(s, "shop") == before


def test_incidents_keep_what_any_owning_project_allows(db: Database) -> None:
    """A board shared by two projects holds the incidents either filter lets through."""
    seed = generated()
    seed.write(db)
    rebuild_incidents(db, "other")
    rebuild_incidents(db, "shop")
    filters = {p["name"]: p["incident_filter"] for p in seed.projects}
    owners = {
        "pagerduty:Service:1:A": ["shop"],
        "pagerduty:Service:1:B": ["shop", "other"],
        "webhook:3": ["other"],
    }
    board_of = {bi["issue_id"]: bi["board_id"] for bi in seed.board_issues}
    expected = {
        i["id"]: board_of[i["id"]]
        for i in seed.issues
        if i["type"] == "INCIDENT" and any(passes(i, filters[p]) for p in owners[board_of[i["id"]]])
    }
    with db.session() as s:
        got = dict(s.execute(text("SELECT id, scope_id FROM incidents")).all())
        lead_nulls = s.execute(
            text(
                "SELECT COUNT(*) FROM incidents WHERE resolution_date IS NOT NULL AND lead_time_minutes IS NULL"
            )
        ).scalar_one()
        assignees = s.execute(text("SELECT COUNT(*) FROM incident_assignees")).scalar_one()
    assert got == expected
    assert lead_nulls == 0
    assert assignees > 0


def test_the_stage_is_idempotent(db: Database) -> None:
    seed = generated(incidents=120, deployments=60)
    seed.write(db)

    def snapshot() -> tuple[list[Any], list[Any], list[Any]]:
        with db.session() as s:
            return (
                s.execute(text("SELECT id, scope_id, lead_time_minutes FROM incidents ORDER BY id")).all(),
                s.execute(
                    text("SELECT incident_id, assignee_id FROM incident_assignees ORDER BY 1, 2")
                ).all(),
                s.execute(
                    text(
                        "SELECT id, project_name, deployment_id, link_type "
                        "FROM project_incident_deployment_relationships ORDER BY 1, 2"
                    )
                ).all(),
            )

    for project in ("other", "shop"):
        rebuild_incidents(db, project)
        link_incidents(db, project)
    first = snapshot()
    for project in ("shop", "other", "shop"):
        rebuild_incidents(db, project)
        link_incidents(db, project)
    assert snapshot() == first


def test_dashboard_views_hold_the_project_rows(db: Database) -> None:
    """`dora_project_incidents` applies each project's filter; `dora_project_deployments` groups as DevLake."""
    seed = generated()
    seed.write(db)
    for project in ("other", "shop"):
        rebuild_incidents(db, project)
        link_incidents(db, project)
    for project in ("shop", "other"):
        ref = Reference(seed, project)
        with db.session() as s:
            rows = s.execute(
                text(
                    "SELECT id, deployment_id, link_type FROM dora_project_incidents WHERE project_name = :p"
                ),
                {"p": project},
            ).all()
            deployments = s.execute(
                text(
                    "SELECT deployment_id, finished_date FROM dora_project_deployments WHERE project_name = :p"
                ),
                {"p": project},
            ).all()
        assert {r.id for r in rows} == {i["id"] for i in ref.incidents}
        assert {r.id: (r.deployment_id, r.link_type) for r in rows if r.deployment_id} == ref.links
        assert {d.deployment_id for d in deployments} == set(ref.deployments)
