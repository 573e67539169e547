"""Every error leaves as JSON naming what was wrong; bad input is never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.crypto import SecretDecryptError
from core.db import DatabaseUnavailable
from core.logs import redact
from core.registry import UnknownPlugin
from core.services.errors import ServiceError
from core.services.validation import causes_of

log = logging.getLogger("incidentlake.api")


def error_body(message: str, causes: list[dict[str, object]] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"success": False, "message": message}
    if causes:
        body["causes"] = causes
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.causes), status_code=exc.status)

    @app.exception_handler(UnknownPlugin)
    async def _plugin(_: Request, exc: UnknownPlugin) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), status_code=404)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        causes = causes_of(list(exc.errors()))
        for c in causes:
            if c["message"].startswith("JSON decode error"):
                c["field"], c["message"] = "body", "not valid JSON"
        summary = "; ".join(f"{c['field']}: {c['message']}" for c in causes[:5])
        return JSONResponse(error_body(f"invalid input: {summary}", causes), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(SecretDecryptError)
    async def _secret(_: Request, exc: SecretDecryptError) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), status_code=500)

    @app.exception_handler(DatabaseUnavailable)
    async def _db(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, redact(repr(exc)))
        return JSONResponse(error_body("internal error; see the server log"), status_code=500)
