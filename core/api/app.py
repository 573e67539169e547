"""The FastAPI application: core routers, every plugin's routers, auth and error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core import __version__
from core.api.auth import make_auth_middleware
from core.api.errors import install_error_handlers
from core.api.routers import all_routers
from core.context import AppContext

# Later layers (scheduler, runner) register start/stop hooks here.
LifecycleHook = Callable[[AppContext], Callable[[], None] | None]
_lifecycle_hooks: list[LifecycleHook] = []


def on_startup(hook: LifecycleHook) -> LifecycleHook:
    """Register `hook(ctx)`, called when the app starts; it may return a stop function."""
    _lifecycle_hooks.append(hook)
    return hook


def create_app(ctx: AppContext | None = None, *, background: bool = True) -> FastAPI:
    ctx = ctx or AppContext.build()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stops = [hook(ctx) for hook in _lifecycle_hooks] if background else []
        try:
            yield
        finally:
            for stop in reversed(stops):
                if stop is not None:
                    stop()

    app = FastAPI(
        title="incidentlake",
        version=__version__,
        description="Collects incidents and deployments into a DevLake-compatible schema and computes DORA.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    for router in all_routers():
        app.include_router(router)
    public: list[str] = []
    for plugin in ctx.registry.all():
        public.extend(plugin.public_paths)
        for router in plugin.routers():
            app.include_router(router)
    if ctx.settings.api_key is not None and ctx.settings.api_key.get_secret_value():
        app.middleware("http")(make_auth_middleware(ctx.settings.api_key.get_secret_value(), public))
    return app
