"""DevLake's own DORA panels, run unchanged on our MariaDB, give our API's figures.

The panels are read from ../shared/reference/devlake/dashboards (skipped when absent);
only Grafana's macros and variables are substituted (see grafana.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from core.db import Database
from core.dora.linking import link_incidents
from core.dora.metrics import dora_report
from core.dora.stage import rebuild_incidents
from core.dora.window import Window
from tests.integration.dora.generate import generated
from tests.integration.dora.grafana import expand, panel_sql, run
from tests.integration.dora.seed import Seed

PERIODS = [
    (datetime(2023, 12, 1), datetime(2024, 5, 1)),
    (datetime(2024, 1, 1), datetime(2024, 2, 1)),
    (datetime(2023, 12, 10, 6, 30), datetime(2024, 4, 20, 18, 0)),
    (datetime(2023, 6, 1), datetime(2024, 5, 1)),
]
PROJECTS = ["shop", "quiet"]
TITLE = {"2021": "Median Time to Restore Service", "2023": "Failed Deployment Recovery Time"}
STAT = re.compile(r"^(-?[\d.]+)%?\((elite|high|medium|low)\)$")


def r1(value: float) -> Decimal:
    """MySQL's ROUND(x, 1) (half away from zero) of a figure."""
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def month_key(devlake_month: str) -> str:
    yy, mm = devlake_month.split("/")
    return f"20{yy}-{mm}"


@pytest.fixture
def dashboards(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "devlake" / "dashboards"
    if not (path / "DORA.json").exists():
        pytest.skip("DevLake's dashboards are not in ../shared/reference")
    return path


@pytest.fixture
def filled(db: Database) -> Database:
    if db.dialect not in ("mysql", "mariadb"):
        pytest.skip("DevLake's panels are MySQL SQL")
    seed = generated(seed=11, incidents=500, deployments=200, shared_board=False)
    seed.projects[0]["linking_window_hours"] = 240
    _quiet(seed)
    seed.write(db)
    for project in ("shop", "other", "quiet"):
        rebuild_incidents(db, project)
        link_incidents(db, project)
    return db


def _quiet(s: Seed) -> None:
    """A project deploying in three months of eleven: DevLake's six-month figure decides 2021."""
    board, scope = s.board("webhook:9"), s.scope("webhook:9")
    s.project("quiet", boards=[board], cicd_scopes=[scope], linking_window_hours=2)
    days = [datetime(2023, 7, 10, 10), datetime(2023, 12, 5, 10)]
    days += [datetime(2024, 4, d, 10) for d in range(15, 21)]
    for n, finished in enumerate(days):
        s.deployment(f"webhook:9:q{n}", scope, finished)
    s.incident("webhook:9:a", board, datetime(2023, 7, 10, 11), datetime(2023, 7, 10, 12, 30))
    s.incident("webhook:9:b", board, datetime(2023, 12, 5, 20), datetime(2023, 12, 6, 9))  # > 2 h: unlinked
    s.incident("webhook:9:c", board, datetime(2024, 4, 20, 10, 45), datetime(2024, 4, 20, 11, 15))
    s.incident("webhook:9:d", board, datetime(2024, 1, 3), None)


def _panel(
    db: Database, path: Path, panel: int, lo: datetime, hi: datetime, report: str, project: str = "shop"
) -> list[dict[str, Any]]:
    variables = {"project": f"'{project}'", "dora_report": report, "title_value": TITLE[report]}
    with db.engine.connect() as conn:
        return run(conn, expand(panel_sql(path, panel), lo, hi, variables))


def _ours(db: Database, lo: datetime, hi: datetime, report: str, project: str = "shop") -> dict[str, Any]:
    with db.session() as s:
        return dora_report(s, project, Window(lo, hi), report, "median")


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("report", ["2021", "2023"])
def test_change_failure_rate_panels(filled: Database, dashboards: Path, report: str, project: str) -> None:
    dora = dashboards / "DORA.json"
    for lo, hi in PERIODS:
        ours = _ours(filled, lo, hi, report, project)
        cfr = ours["changeFailureRate"]
        if cfr["value"] is None:
            [stat] = _panel(filled, dora, 14, lo, hi, report, project)
            assert stat["change_failure_rate"].startswith("N/A")
            continue
        [stat] = _panel(filled, dora, 14, lo, hi, report, project)
        m = STAT.match(stat["change_failure_rate"])
        assert m, stat
        assert Decimal(m.group(1)) == r1(cfr["value"] * 100)
        assert m.group(2) == cfr["level"]

        bars = _panel(filled, dora, 5, lo, hi, report, project)
        theirs = {month_key(b["month"]): b["Change Failure Rate"] for b in bars}
        assert sorted(theirs) == [m["month"] for m in ours["monthly"]]  # the panel has no ORDER BY
        for month in ours["monthly"]:
            value = month["changeFailureRate"]["value"]
            got = theirs[month["month"]]
            if value is None:
                assert got is None
            else:  # MySQL divides to 4 decimals
                assert got == Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

        deployments = _panel(filled, dora, 2, lo, hi, report, project)
        assert {month_key(b["month"]): b["Deployment Count"] for b in deployments} == {
            m["month"]: m["changeFailureRate"]["deployments"] for m in ours["monthly"]
        }


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("report", ["2021", "2023"])
def test_time_to_restore_and_recovery_time_panels(
    filled: Database, dashboards: Path, report: str, project: str
) -> None:
    dora = dashboards / "DORA.json"
    key = "timeToRestore" if report == "2021" else "failedDeploymentRecoveryTime"
    checked = 0
    for lo, hi in PERIODS:
        ours = _ours(filled, lo, hi, report, project)
        figure = ours[key]
        rows = _panel(filled, dora, 17, lo, hi, report, project)
        if figure["minutes"] is None:
            assert not rows or not STAT.match(str(rows[0]["median_time_in_hour"]))
            continue
        [stat] = rows
        m = STAT.match(stat["median_time_in_hour"])
        assert m, stat
        assert Decimal(m.group(1)) == r1(figure["minutes"] / 60)
        assert m.group(2) == figure["level"]
        checked += 1

        if lo.day == 1 and hi.day == 1 and lo.hour == 0:  # the monthly bars count whole months
            bars = _panel(filled, dora, 9, lo, hi, report, project)
            theirs = {month_key(b["month"]): b[f"{TITLE[report]} In Hours"] for b in bars}
            for month in ours["monthly"]:
                minutes = month[key]["minutes"]
                expected = Decimal(0) if minutes is None else Decimal(minutes) / 60
                assert abs(Decimal(theirs[month["month"]]) - expected) < Decimal("0.0001"), month["month"]
    assert checked >= 2


@pytest.mark.parametrize("project", PROJECTS)
def test_time_to_restore_details_panel(filled: Database, dashboards: Path, project: str) -> None:
    details = dashboards / "DORADetails-TimetoRestoreService.json"
    if not details.exists():
        pytest.skip("DORADetails-TimetoRestoreService.json is absent")
    for lo, hi in PERIODS:
        minutes = _ours(filled, lo, hi, "2021", project)["timeToRestore"]["minutes"]
        [row] = _panel(filled, details, 87, lo, hi, "2021", project)
        if minutes is None:
            assert row["median_time_to_resolve_in_hours"] is None
            continue
        assert abs(Decimal(row["median_time_to_resolve_in_hours"]) - Decimal(minutes) / 60) < Decimal(
            "0.0001"
        )


@pytest.mark.parametrize("project", PROJECTS)
def test_deployment_frequency_panel(filled: Database, dashboards: Path, project: str) -> None:
    """The stat panel agrees within its 400-day calendar (longer periods are cut by DevLake).

    Two documented differences: no deployment at all is "0 ... (low)" (or N/A) for DevLake
    and null with a reason for us; a period of at most six months has a single six-month span, where
    DevLake gives up (N/A) below one deployment day a month and we classify.
    """
    dora = dashboards / "DORA.json"
    units = {
        "week": "deploymentDaysPerWeek",
        "month": "deploymentDaysPerMonth",
        "six months": "deploymentDaysPerSixMonths",
    }
    for report in ("2021", "2023"):
        for lo, hi in PERIODS:
            df = _ours(filled, lo, hi, report, project)["deploymentFrequency"]
            [row] = _panel(filled, dora, 11, lo, hi, report, project)
            if df["level"] is None:  # no deployment in the period: DevLake says "0 …(low)", we say why
                assert row["Deployment Frequency"].startswith(("0 deployment days per", "N/A"))
                continue
            if row["Deployment Frequency"].startswith("N/A"):
                # below one deployment day a month DevLake consults its six-month figure, whose
                # median finds no rank >= 0.5 in a single six-month span and gives up; the
                # median of one value is that value, so we still classify (medium or low)
                assert df["deploymentDaysPerMonth"] == 0 and len(Window(lo, hi).months()) <= 6
                assert df["level"] in ("medium", "low")
                continue
            m = re.match(
                r"^(\d+) deployment days per (week|month|six months)\((\w+)\)$", row["Deployment Frequency"]
            )
            assert m, row
            assert int(m.group(1)) == df[units[m.group(2)]]
            assert m.group(3) == df["level"]
