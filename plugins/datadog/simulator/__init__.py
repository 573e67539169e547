"""Datadog API simulator (real HTTP) for tests, benchmarks and the demo."""

from .data import Episode, Store, generate
from .server import DatadogSimulator, FaultRule, SimConfig

__all__ = ["DatadogSimulator", "Episode", "FaultRule", "SimConfig", "Store", "generate"]
