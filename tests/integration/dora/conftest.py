"""Fixtures for DORA tests: a live API over the `ctx` of the shared conftest."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.api.app import create_app
from core.context import AppContext
from tests.support.live import serve_app


@pytest.fixture
def api(ctx: AppContext) -> Iterator[httpx.Client]:
    with (
        serve_app(create_app(ctx, background=False)) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        yield client
