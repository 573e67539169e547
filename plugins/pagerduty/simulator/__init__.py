"""PagerDuty REST API v2 simulator: a real HTTP server over deterministic data, for tests, benchmarks, demos.

Typical use::

    with PagerDutySimulator(generate(1000, 5, seed=1)) as sim:
        httpx.get(f"{sim.url}/incidents", headers=sim.headers, params={"date_range": "all"})
        sim.store.update_status(1, "resolved", at="2025-01-02T00:00:00Z")  # logs a resolve_log_entry
        httpx.get(f"{sim.url}/log_entries", headers=sim.headers, params={"since": "2025-01-02"})
"""

from .data import Incident, LogEntry, ServiceSpec, Store, generate
from .server import FaultRule, PagerDutySimulator, SimConfig, SimStats

__all__ = [
    "FaultRule",
    "Incident",
    "LogEntry",
    "PagerDutySimulator",
    "ServiceSpec",
    "SimConfig",
    "SimStats",
    "Store",
    "generate",
]
