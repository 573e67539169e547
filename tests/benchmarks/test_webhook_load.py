"""Push-intake load: 5,000 events from 20 concurrent clients over real HTTP, on each backend.

Asserts nothing is lost or duplicated and prints the events per second (the server and the
clients share this one process and its GIL, so the figure is a floor, not a ceiling).
"""

from __future__ import annotations

import httpx
import pytest

from core.api.app import create_app
from core.context import AppContext
from tests.integration.webhook.conftest import create_hook
from tests.integration.webhook.load import check, send, workload
from tests.support.live import serve_app

EVENTS = 5000
CLIENTS = 20


@pytest.mark.benchmark
def test_push_intake_load(ctx: AppContext, db_url: str) -> None:
    backend = ctx.db.dialect
    with serve_app(create_app(ctx, background=False)) as url:
        with httpx.Client(base_url=url, timeout=60) as http:
            hook = create_hook(http, "load")
        pushes, expected = workload(hook, EVENTS)
        elapsed, statuses = send(url, pushes, clients=CLIENTS)
    assert statuses == {200: EVENTS}, statuses
    check(ctx.db, expected)
    print(
        f"\nwebhook push intake on {backend}: {EVENTS} events, {CLIENTS} clients, "
        f"{elapsed:.1f} s, {EVENTS / elapsed:.0f} events/s"
    )
