"""`celery -A tests.integration.pipeline.celery_worker worker`: the real worker app with the
pipefake test plugin installed."""

from __future__ import annotations

from core import registry

registry.BUILTIN["pipefake"] = "tests.integration.pipeline.fakes:plugin"

from core.pipeline.celery_app import celery  # noqa: E402

__all__ = ["celery"]
