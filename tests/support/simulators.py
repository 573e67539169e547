"""What the plugins' simulator fixtures share: start simulators on demand and stop them all at teardown,
and keep the API clients' retries while shortening their sleeps so fault tests stay fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import ParamSpec, TypeVar

import pytest

from core.testing.simserver import SimulatorBase

P = ParamSpec("P")
SimT = TypeVar("SimT", bound=SimulatorBase)


def fast_backoff_fixture(api: ModuleType) -> object:
    """An autouse fixture for a plugin's conftest, ``_fast_backoff = fast_backoff_fixture(api)``: the
    plugin's ``api`` module keeps the same retries as production, with shorter sleeps between them."""

    @pytest.fixture(autouse=True)
    def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(api, "RETRY", {**api.RETRY, "backoff_base": 0.02, "backoff_max": 0.2})

    return _fast_backoff


def start_on_demand(build: Callable[P, SimT]) -> Iterator[Callable[P, SimT]]:
    """For a fixture to ``yield from``: a factory that starts what ``build`` returns; at teardown every
    simulator it started is stopped, so no test leaks a port or a server thread."""
    started: list[SimT] = []

    def start(*args: P.args, **kwargs: P.kwargs) -> SimT:
        sim = build(*args, **kwargs)
        sim.start()
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            sim.stop()
