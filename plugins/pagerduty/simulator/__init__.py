"""PagerDuty REST API v2 simulator: a real HTTP server over deterministic data, for tests, benchmarks, demos.

Typical use::

    with PagerDutySimulator(generate(1000, 5, seed=1)) as sim:
        httpx.get(f"{sim.url}/incidents", headers=sim.headers, params={"date_range": "all"})
"""

from .data import Incident, ServiceSpec, Store, generate
from .server import FaultRule, PagerDutySimulator, SimConfig, SimStats

__all__ = [
    "FaultRule",
    "Incident",
    "PagerDutySimulator",
    "ServiceSpec",
    "SimConfig",
    "SimStats",
    "Store",
    "generate",
]
