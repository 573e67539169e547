"""The shipped example file applies cleanly against the real plugins, and only once."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.context import AppContext
from core.pipeline.apply import Applier, load

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "incidentlake.apply.example.yaml"
ENV = {"PAGERDUTY_TOKEN": "pd-token-from-env", "DD_API_KEY": "dd-api-key-value", "DD_APP_KEY": "dd-app-key-value"}


def test_example_applies_once(ctx: AppContext) -> None:
    for plugin in ("pagerduty", "datadog", "webhook"):
        if plugin not in ctx.registry:
            pytest.skip(f"the {plugin} plugin is not installed")
    config = load(EXAMPLE, ENV)
    changes = Applier(ctx).apply(config)
    kinds = [c.kind for c in changes]
    assert kinds.count("connection") == 3 and kinds.count("blueprint") == 2 and kinds.count("project") == 1
    assert all(c.action == "create" for c in changes)
    token = ctx.connections.list("pagerduty")[0].model.token  # type: ignore[attr-defined]
    assert token.get_secret_value() == "pd-token-from-env"
    assert Applier(ctx).apply(load(EXAMPLE, ENV)) == []
    rotated = {**ENV, "DD_APP_KEY": "rotated-app-key"}
    (change,) = Applier(ctx).apply(load(EXAMPLE, rotated))
    assert change.line() == "~ update connection datadog/datadog-us1 (appKey)"
