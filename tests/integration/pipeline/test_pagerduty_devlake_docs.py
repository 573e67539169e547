"""The exact request sequence of DevLake's PagerDuty docs, over real HTTP, against the
PagerDuty simulator: create a connection, create a blueprint with the legacy body, trigger it,
poll the pipeline to TASK_COMPLETED, then read incidents the way the docs say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from core.context import AppContext
from tests.integration.pipeline.conftest import FINAL, wait_status

pagerduty = pytest.importorskip("plugins.pagerduty", reason="the PagerDuty plugin is not installed")
if not hasattr(pagerduty, "plugin"):
    pytest.skip("plugins.pagerduty does not expose `plugin` yet", allow_module_level=True)

from plugins.pagerduty.simulator import PagerDutySimulator, generate  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)


@pytest.fixture
def sim() -> Iterator[PagerDutySimulator]:
    store = generate(
        300, 3, start=NOW - timedelta(days=120), end=NOW - timedelta(minutes=5), seed=4, freeze_clock=False
    )
    with PagerDutySimulator(store) as simulator:
        yield simulator


def test_devlake_pagerduty_docs_sequence(
    api: httpx.Client, pctx: AppContext, sim: PagerDutySimulator
) -> None:
    headers = {"Content-Type": "application/json"}
    # 1. POST /plugins/pagerduty/connections
    r = api.post(
        "/plugins/pagerduty/connections",
        headers=headers,
        content=f'{{"name": "PagerDuty-test1", "endpoint": "{sim.url}", "token": "{sim.config.token}"}}',
    )
    assert r.status_code in (200, 201), r.text
    connection_id = r.json()["id"]

    # 2. POST /blueprints with the legacy body, exactly as documented
    body = f"""{{
        "cronConfig": "manual",
        "enable": true,
        "isManual": true,
        "mode": "NORMAL",
        "name": "test-blueprint",
        "settings": {{
            "connections": [
                {{
                    "connectionId": {connection_id},
                    "plugin": "PagerDuty",
                    "scope": [
                        {{
                            "entities": ["TICKET"],
                            "options": {{"connectionId": {connection_id}, "start_date": "2022-06-01T15:04:05Z"}}
                        }}
                    ]
                }}
            ],
            "version": "1.0.0"
        }}
    }}"""
    r = api.post("/blueprints", headers=headers, content=body)
    assert r.status_code in (200, 201), r.text
    blueprint_id = r.json()["id"]

    # 3. POST /blueprints/{blueprintId}/trigger (no body)
    r = api.post(f"/blueprints/{blueprint_id}/trigger", headers=headers)
    assert r.status_code == 200, r.text
    pipeline = wait_status(api, r.json()["id"], FINAL, timeout=120)
    assert pipeline["status"] == "TASK_COMPLETED", (
        pipeline,
        api.get(f"/pipelines/{pipeline['id']}/tasks").json(),
    )
    assert pipeline["totalTasks"] == 3  # every service of the account

    # "the incidents are extracted from the issues table with the condition type = 'INCIDENT'"
    with pctx.db.engine.connect() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM issues WHERE type = 'INCIDENT'")).scalar()
    assert count == len(sim.store) == 300
