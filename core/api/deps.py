"""Dependencies routers use to reach the running service's context."""

from __future__ import annotations

from fastapi import Request

from core.context import AppContext


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
