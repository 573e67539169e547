"""`/dashboard` rendered by headless Chromium shows the API's figures (skipped without Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.api.app import create_app
from core.config import Settings
from core.context import AppContext
from core.dora.linking import link_incidents
from core.dora.stage import rebuild_incidents
from tests.integration.dora.generate import generated
from tests.support.live import serve_app

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
PERIOD = {"from": "2023-12-01", "to": "2024-05-01"}


class Page(HTMLParser):
    """What the test reads back: each card's figure and level, chart bars, incident rows."""

    def __init__(self) -> None:
        super().__init__()
        self.metric: str | None = None
        self.figures: dict[str, str] = {}
        self.levels: dict[str, str] = {}
        self.bars: dict[str, list[tuple[str, float]]] = {}
        self.chart: str | None = None
        self.rows: list[str] = []
        self.ready = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body" and a.get("data-ready") == "true":
            self.ready = True
        if "data-metric" in a:
            self.metric = a["data-metric"]
        if "data-chart" in a:
            self.chart = a["data-chart"]
        if "data-value" in a and self.metric and "figure" in (a.get("class") or ""):
            self.figures[self.metric] = a["data-value"] or ""
        if "data-level" in a and self.metric:
            self.levels[self.metric] = a["data-level"] or ""
        if tag == "rect" and self.chart and "data-month" in a:
            self.bars.setdefault(self.chart, []).append((a["data-month"] or "", float(a["data-value"] or 0)))
        if tag == "tr" and "data-id" in a:
            self.rows.append(a["data-id"] or "")


def _number(text: str) -> tuple[float, str]:
    m = re.match(r"^(-?[\d.]+)\s*(.*)$", text)
    assert m, text
    return float(m.group(1)), m.group(2)


def _close_minutes(text: str, minutes: float) -> bool:
    """The page's "12 min" / "3.4 h" / "5.1 days" is `minutes`, to its last shown digit."""
    value, unit = _number(text)
    scale, step = {"min": (1, 0.01), "h": (60, 0.1), "days": (1440, 0.1)}[unit]
    return abs(value - minutes / scale) <= step / 2 + 1e-9


def _chromium(args: list[str], url: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--virtual-time-budget=20000", *args, url]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def served(ctx: AppContext) -> Any:
    seed = generated()
    seed.write(ctx.db)
    for project in ("other", "shop"):
        rebuild_incidents(ctx.db, project)
        link_incidents(ctx.db, project)
    with serve_app(create_app(ctx, background=False)) as url:
        yield url


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_the_page_shows_the_api_figures(served: str, tmp_path: Path) -> None:
    api = httpx.get(f"{served}/projects/shop/dora", params={**PERIOD, "report": "2021"}).json()
    incidents = httpx.get(f"{served}/projects/shop/incidents", params={**PERIOD, "pageSize": 100}).json()
    url = f"{served}/dashboard?project=shop&report=2021&from={PERIOD['from']}&to={PERIOD['to']}"
    page = Page()
    page.feed(_chromium(["--dump-dom"], url))
    assert page.ready, "the page did not finish loading its figures"

    cfr = api["changeFailureRate"]
    assert abs(_number(page.figures["changeFailureRate"])[0] - cfr["value"] * 100) < 0.051
    assert page.levels["changeFailureRate"] == cfr["level"]
    df = api["deploymentFrequency"]
    assert page.figures["deploymentFrequency"] == f"{df['deploymentDaysPerWeek']} days/week"
    assert page.levels["deploymentFrequency"] == df["level"]
    for key in ("timeToRestore", "failedDeploymentRecoveryTime"):
        minutes = api[key]["minutes"]
        assert _close_minutes(page.figures[key], minutes), (key, page.figures[key], minutes)
        assert page.levels[key] == api[key]["level"]

    deployments = [(m["month"], float(m["changeFailureRate"]["deployments"])) for m in api["monthly"]]
    assert page.bars["deployments"] == deployments
    rates = [
        (m["month"], m["changeFailureRate"]["value"])
        for m in api["monthly"]
        if m["changeFailureRate"]["value"] is not None
    ]
    assert [(month, round(v, 6)) for month, v in page.bars["changeFailureRate"]] == [
        (month, round(v, 6)) for month, v in rates
    ]
    assert page.rows == [i["id"] for i in incidents["incidents"]]

    shot = tmp_path / "dashboard.png"
    _chromium([f"--screenshot={shot}", "--window-size=1400,1900", "--hide-scrollbars"], url)
    assert shot.exists() and shot.stat().st_size > 20_000
    keep = Path(__file__).resolve().parents[3] / ".pytest-artifacts"
    if keep.is_dir():  # CI can collect the screenshot from here
        shutil.copy(shot, keep / "dashboard.png")


def test_the_page_is_self_contained_and_public(ctx: AppContext) -> None:
    settings = Settings(db_url=ctx.settings.db_url, encryption_secret="x", api_key="s3cret-key-for-the-test")
    locked = AppContext.build(settings, db=ctx.db, registry=ctx.registry)
    with serve_app(create_app(locked, background=False)) as url:
        page = httpx.get(f"{url}/dashboard")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "connect-src 'self'" in page.headers["content-security-policy"]
        assert httpx.get(f"{url}/projects").status_code == 401
        assert (
            httpx.get(
                f"{url}/projects", headers={"Authorization": "Bearer s3cret-key-for-the-test"}
            ).status_code
            == 200
        )
    html = page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), (
        "the page must not load anything from elsewhere"
    )
    assert "<script src" not in html and "<link" not in html
