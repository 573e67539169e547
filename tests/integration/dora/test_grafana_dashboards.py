"""Our Grafana dashboards: every panel's SQL runs on MariaDB and shows the API's numbers."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.db import Database
from core.dora.linking import link_incidents
from core.dora.stage import rebuild_incidents
from core.services.projects import ProjectService
from tests.integration.dora.generate import generated
from tests.integration.dora.grafana import expand, panels, run

GRAFANA = Path(__file__).resolve().parents[3] / "config" / "grafana"
DORA = GRAFANA / "dashboards" / "incidentlake-dora.json"
INCIDENTS = GRAFANA / "dashboards" / "incidentlake-incidents.json"
PERIODS = [
    (datetime(2023, 12, 1), datetime(2024, 5, 1)),
    (datetime(2024, 1, 1), datetime(2024, 2, 1)),
    (datetime(2023, 6, 1), datetime(2024, 5, 1)),
    (datetime(2024, 2, 10), datetime(2024, 3, 20)),
]
RESTORE = {
    "timeToRestore": "Time to restore service",
    "failedDeploymentRecoveryTime": "Failed deployment recovery time",
}


def q4(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def hours(minutes: float | None) -> Decimal | None:
    return (
        None if minutes is None else (Decimal(repr(minutes)) / 60).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    )


def _sql(path: Path, title: str) -> str:
    [panel] = [p for p in panels(path) if p["title"] == title]
    return str(panel["targets"][0]["rawSql"])


@pytest.fixture
def filled(db: Database) -> Database:
    if db.dialect not in ("mysql", "mariadb"):
        pytest.skip("Grafana reads incidentlake's MySQL/MariaDB database")
    seed = generated(seed=5, incidents=500, deployments=200)  # `other` shares a board with its own filter
    seed.write(db)
    for project in ("other", "shop"):
        rebuild_incidents(db, project)
        link_incidents(db, project)
    return db


class Panels:
    def __init__(self, db: Database, path: Path, lo: datetime, hi: datetime, report: str = "2023") -> None:
        self.db, self.path, self.lo, self.hi = db, path, lo, hi
        self.variables = {"project": "shop", "dora_report": report}

    def __call__(self, title: str) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            return run(conn, expand(_sql(self.path, title), self.lo, self.hi, self.variables))


def test_dashboards_are_well_formed() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "incidentlake.yaml").read_text())
    uid = ds["datasources"][0]["uid"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "incidentlake.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"
    for path in (DORA, INCIDENTS):
        board = json.loads(path.read_text())
        defined = {v["name"] for v in board["templating"]["list"]}
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for p in board["panels"]:
            assert p["datasource"]["uid"] == uid
            raw = p["targets"][0]["rawSql"]
            used = {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(?!__)(\w+)", raw + p["title"])}
            assert used <= defined, (path.name, p["title"], used - defined)


@pytest.mark.parametrize("report", ["2021", "2023"])
def test_dora_dashboard_shows_the_api_figures(filled: Database, report: str) -> None:
    service = ProjectService(filled)
    for lo, hi in PERIODS:
        api = service.dora(
            "shop", start=lo.isoformat(), end=hi.isoformat(), report=report, aggregate="median"
        )
        panel = Panels(filled, DORA, lo, hi, report)

        [df] = panel("Deployment frequency")
        ours = api["deploymentFrequency"]
        assert (df["Deployment days per week"], df["Deployment days per month"], df["Level"]) == (
            ours["deploymentDaysPerWeek"],
            ours["deploymentDaysPerMonth"],
            ours["level"],
        )

        [cfr] = panel("Change failure rate")
        ours = api["changeFailureRate"]
        assert (
            cfr["Deployments"] == ours["deployments"]
            and cfr["Failed deployments"] == ours["failedDeployments"]
        )
        assert cfr["Change failure rate"] == (None if ours["value"] is None else q4(ours["value"]))
        assert cfr["Level"] == ours["level"]

        for key, title in RESTORE.items():
            [restore] = panel(title)
            ours = api[key]
            assert restore["Hours (median)"] == hours(ours["minutes"])
            assert restore["Incidents"] == ours["incidents"] and restore["Level"] == ours["level"]

        months = [m["month"] for m in api["monthly"]]
        per_month = {r["month"]: r for r in panel("Deployments per month")}
        assert list(per_month) == months
        rates = {r["month"]: r["Change failure rate"] for r in panel("Change failure rate per month")}
        restores = {
            key: {r["month"]: r["Hours (median)"] for r in panel(f"{title} per month")}
            for key, title in RESTORE.items()
        }
        for m in api["monthly"]:
            month = m["month"]
            assert per_month[month]["Deployments"] == m["changeFailureRate"]["deployments"]
            assert per_month[month]["Deployment days"] == m["deploymentFrequency"]["deploymentDays"]
            value = m["changeFailureRate"]["value"]
            assert rates[month] == (None if value is None else q4(value))
            for key in RESTORE:
                assert restores[key][month] == hours(m[key]["minutes"]), (key, month)


def _all_incidents(service: ProjectService, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    out, page = [], 1
    while True:
        body = service.incidents("shop", start=lo.isoformat(), end=hi.isoformat(), page=page, page_size=1000)
        out += body["incidents"]
        if len(out) >= body["count"]:
            return out
        page += 1


def test_incidents_dashboard_shows_the_api_figures(filled: Database) -> None:
    service = ProjectService(filled)
    for lo, hi in PERIODS:
        listed = _all_incidents(service, lo, hi)
        lo_s, hi_s = lo.isoformat() + ".000Z", hi.isoformat() + ".000Z"
        created = [i for i in listed if lo_s <= i["createdDate"] < hi_s]
        resolved = [i for i in listed if i["resolutionDate"] and lo_s <= i["resolutionDate"] < hi_s]
        figures = {
            agg: service.dora("shop", start=lo.isoformat(), end=hi.isoformat(), report="2021", aggregate=agg)
            for agg in ("median", "p90", "mean")
        }
        panel = Panels(filled, INCIDENTS, lo, hi)

        assert panel("Incidents created") == [{"Incidents created": len(created)}]
        assert panel("Incidents resolved") == [
            {"Incidents resolved": figures["median"]["timeToRestore"]["incidents"]}
        ]
        assert len(resolved) == figures["median"]["timeToRestore"]["incidents"]
        [rate] = panel("Resolution rate")
        done = sum(1 for i in created if i["resolutionDate"])
        assert rate["Resolution rate"] == (q4(done / len(created)) if created else None)

        [ttr] = panel("Time to restore")
        assert ttr["Median (h)"] == hours(figures["median"]["timeToRestore"]["minutes"])
        assert ttr["p90 (h)"] == hours(figures["p90"]["timeToRestore"]["minutes"])
        mean = figures["mean"]["timeToRestore"]["minutes"]
        assert (ttr["Mean (h)"] is None) == (mean is None)
        if mean is not None:
            assert abs(float(ttr["Mean (h)"]) - mean / 60) < 0.001

        bands = Counter(
            "under 1 hour"
            if t < 60
            else "1 hour to 1 day"
            if t < 1440
            else "1 day to 1 week"
            if t < 10080
            else "over 1 week"
            for t in (i["leadTimeMinutes"] for i in resolved)
        )
        assert {r["Time to restore"]: r["Incidents"] for r in panel("Time to restore distribution")} == {
            b: bands.get(b, 0) for b in ("under 1 hour", "1 hour to 1 day", "1 day to 1 week", "over 1 week")
        }

        by_month = Counter(i["createdDate"][:7] for i in created)
        assert {r["month"]: r["Incidents"] for r in panel("Incidents per month")} == {
            m["month"]: by_month.get(m["month"], 0) for m in figures["median"]["monthly"]
        }

        rows = panel("Incidents")
        assert [r["Id"] for r in rows] == [i["id"] for i in created][:500]
        links = {i["id"]: (i["deployment"] or {}).get("linkType") for i in created}
        assert {r["Id"]: r["Link"] for r in rows} == links
