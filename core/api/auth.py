"""Optional API-key auth: `Authorization: Bearer <INCIDENTLAKE_API_KEY>` on every route but
/ping and the push routes plugins mark public (they check their own keys)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from core.crypto import constant_time_equals


def make_auth_middleware(
    api_key: str, public_patterns: list[str]
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    public = [re.compile(p) for p in ["^/ping$", *public_patterns]]

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if request.method == "OPTIONS" or any(p.search(path) for p in public):
            return await call_next(request)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or not constant_time_equals(token.strip(), api_key):
            return JSONResponse(
                {"success": False, "message": "missing or invalid API key (Authorization: Bearer <key>)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await call_next(request)

    return middleware
