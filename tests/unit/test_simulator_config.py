"""The fault knobs every API simulator shares: updates are all or nothing, and a new seed replays its
faults from the start (checked on both plugins' simulators over real HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from core.testing.simserver import ApiSimulator
from plugins.datadog.simulator import DatadogSimulator
from plugins.pagerduty.simulator import PagerDutySimulator

# each simulator with a request its API answers (no auth fault for the probe: the faults come first)
SIMULATORS: dict[str, tuple[Callable[[], ApiSimulator], str, dict[str, str]]] = {
    "pagerduty": (
        PagerDutySimulator,
        "/abilities",
        {"Authorization": "Token token=sim-token", "Accept": "application/vnd.pagerduty+json;version=2"},
    ),
    "datadog": (
        DatadogSimulator,
        "/api/v1/validate",
        {"DD-API-KEY": "sim-api-key-0123456789", "DD-APPLICATION-KEY": "sim-app-key-0123456789abcdef"},
    ),
}


@pytest.fixture(params=sorted(SIMULATORS))
def running(request: pytest.FixtureRequest) -> Iterator[tuple[ApiSimulator, httpx.Client, str]]:
    make, path, headers = SIMULATORS[request.param]
    with make() as sim, httpx.Client(base_url=sim.url, headers=headers) as client:
        yield sim, client, path


def test_an_update_with_one_bad_value_changes_nothing(
    running: tuple[ApiSimulator, httpx.Client, str],
) -> None:
    sim, client, _ = running
    before = client.get("/_sim/faults").json()
    r = client.post("/_sim/faults", json={"latency_ms": 5, "seed": 3, "error_rate_5xx": 2.0})
    assert r.status_code == 400 and "error_rate_5xx" in r.text
    assert client.get("/_sim/faults").json() == before
    r = client.post("/_sim/faults", json={"seed": "x"})
    assert r.status_code == 400
    assert client.get("/_sim/faults").json() == before
    assert client.post("/_sim/faults", json={"seed": "7", "latency_ms": "1.5"}).status_code == 200
    assert (sim.config.seed, sim.config.latency_ms) == (7, 1.5)  # converted, not kept as text


def test_a_new_seed_replays_its_faults_from_the_start(
    running: tuple[ApiSimulator, httpx.Client, str],
) -> None:
    _, client, path = running

    def statuses(n: int = 30) -> list[int]:
        return [client.get(path).status_code for _ in range(n)]

    assert client.post("/_sim/faults", json={"error_rate_5xx": 0.4, "seed": 11}).status_code == 200
    first = statuses()
    assert {200} < set(first)  # some requests failed, some did not
    statuses(7)  # the RNG moves on
    assert client.post("/_sim/faults", json={"seed": 12}).status_code == 200
    other = statuses()
    assert client.post("/_sim/faults", json={"seed": 11}).status_code == 200
    assert statuses() == first  # seed 11 from its start again, not where it stopped
    assert other != first
