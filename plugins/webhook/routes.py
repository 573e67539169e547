"""HTTP routes of the push intake: thin over `PushIntake`, each answering in its API's style.

The push routes are exempt from INCIDENTLAKE_API_KEY (see `PUBLIC_PATHS`): they check the
connection's own key. `rotate-key` is an admin route and stays behind the global key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.api.deps import get_ctx
from core.context import AppContext
from core.services.errors import NotFound
from plugins.webhook import keys
from plugins.webhook.errors import IntakeError, bad_field, datadog_body, devlake_body
from plugins.webhook.intake import ConnectionRef, PushIntake

MAX_BODY = 1024 * 1024
_DRAIN = 8 * MAX_BODY  # read (and drop) this much of an oversized body so the client sees the 413

PUBLIC_PATHS = [
    r"^/plugins/webhook/(connections/)?\d+/(issues|deployments)$",
    r"^/plugins/webhook/(connections/)?\d+/issue/.+/close$",
    r"^/plugins/webhook/connections/by-name/[^/]+/(issues|deployments)$",
    r"^/plugins/webhook/connections/by-name/[^/]+/issue/.+/close$",
    r"^/api/v2/dora/(incident|failure|deployment)$",
]

devlake = APIRouter(prefix="/plugins/webhook", tags=["webhook (DevLake-compatible)"])
datadog = APIRouter(prefix="/api/v2/dora", tags=["webhook (Datadog-compatible DORA)"])
Style = Callable[[IntakeError], dict[str, Any]]


async def read_body(request: Request) -> bytes:
    """The body, refusing more than 1 MB (413) without buffering an unbounded upload."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _DRAIN:
        raise IntakeError(413, f"request body exceeds {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _DRAIN:
            break
        if size <= MAX_BODY:
            chunks.append(chunk)
    if size > MAX_BODY:
        raise IntakeError(413, f"request body exceeds {MAX_BODY} bytes")
    return b"".join(chunks)


async def respond(request: Request, style: Style, work: Callable[[bytes], dict[str, Any]]) -> JSONResponse:
    try:
        raw = await read_body(request)
        return JSONResponse(await run_in_threadpool(work, raw))
    except IntakeError as err:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return JSONResponse(style(err), status_code=err.status, headers=headers)


def connection_ref(connection_id: str) -> ConnectionRef:
    """DevLake's numeric `:connectionId` (DevLake answers a non-number with 400)."""
    if not (connection_id.isascii() and connection_id.isdigit()) or len(connection_id) > 10:
        raise bad_field(("connectionId",), "must be a positive integer")
    return ConnectionRef(id=int(connection_id))


def _bearer(request: Request) -> str | None:
    return keys.bearer_token(request.headers.get("authorization"))


def _dd_key(request: Request) -> str | None:
    return (request.headers.get("dd-api-key") or "").strip() or None


# -- DevLake webhook ----------------------------------------------------------------------


def _intake(ctx: AppContext) -> PushIntake:
    return PushIntake(ctx.db)


async def issues(connection_id: str, request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    """Create or update an issue (DevLake's body; `type: "INCIDENT"` for incidents)."""
    intake = _intake(ctx)
    return await respond(
        request,
        devlake_body,
        lambda raw: intake.post_issue(connection_ref(connection_id), _bearer(request), raw),
    )


async def close_issue(
    connection_id: str, issue_key: str, request: Request, ctx: AppContext = Depends(get_ctx)
) -> JSONResponse:
    """Set the issue DONE and record its resolution date and lead time."""
    intake = _intake(ctx)
    return await respond(
        request,
        devlake_body,
        lambda _raw: intake.close_issue(connection_ref(connection_id), _bearer(request), issue_key),
    )


async def deployments(
    connection_id: str, request: Request, ctx: AppContext = Depends(get_ctx)
) -> JSONResponse:
    """Create or update a deployment and its commits (DevLake's body)."""
    intake = _intake(ctx)
    return await respond(
        request,
        devlake_body,
        lambda raw: intake.post_deployment(connection_ref(connection_id), _bearer(request), raw),
    )


async def issues_by_name(name: str, request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    intake = _intake(ctx)
    return await respond(
        request, devlake_body, lambda raw: intake.post_issue(ConnectionRef(name=name), _bearer(request), raw)
    )


async def close_issue_by_name(
    name: str, issue_key: str, request: Request, ctx: AppContext = Depends(get_ctx)
) -> JSONResponse:
    intake = _intake(ctx)
    return await respond(
        request,
        devlake_body,
        lambda _raw: intake.close_issue(ConnectionRef(name=name), _bearer(request), issue_key),
    )


async def deployments_by_name(
    name: str, request: Request, ctx: AppContext = Depends(get_ctx)
) -> JSONResponse:
    intake = _intake(ctx)
    return await respond(
        request,
        devlake_body,
        lambda raw: intake.post_deployment(ConnectionRef(name=name), _bearer(request), raw),
    )


# by-name first: `/connections/{connection_id}/issue/…` would also match a connection named "by-name"
devlake.add_api_route("/connections/by-name/{name}/issues", issues_by_name, methods=["POST"])
devlake.add_api_route(
    "/connections/by-name/{name}/issue/{issue_key:path}/close", close_issue_by_name, methods=["POST"]
)
devlake.add_api_route("/connections/by-name/{name}/deployments", deployments_by_name, methods=["POST"])
for _prefix in ("/connections/{connection_id}", "/{connection_id}"):  # DevLake serves both forms
    devlake.add_api_route(f"{_prefix}/issues", issues, methods=["POST"])
    devlake.add_api_route(f"{_prefix}/issue/{{issue_key:path}}/close", close_issue, methods=["POST"])
    devlake.add_api_route(f"{_prefix}/deployments", deployments, methods=["POST"])


@devlake.post("/connections/{connection_id}/rotate-key", summary="Replace the connection's API key")
def rotate_key(connection_id: int, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Admin route (behind INCIDENTLAKE_API_KEY): the new key is shown once, the old stops working."""
    if not 0 < connection_id < 2**31:
        raise NotFound(f"webhook connection {connection_id} not found")
    ctx.connections.get("webhook", connection_id)  # 404 for an unknown connection
    with ctx.db.session() as s:
        return {"id": connection_id, "apiKey": keys.rotate_key(s, connection_id)}


# -- Datadog DORA ------------------------------------------------------------------------


@datadog.post("/failure", summary="Send a failure event (Datadog body)")
async def dora_failure(request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    intake = PushIntake(ctx.db)
    return await respond(
        request, datadog_body, lambda raw: intake.post_failure(_dd_key(request), raw, "dora_failure")
    )


@datadog.post("/incident", summary="Send an incident event (Datadog's legacy path)")
async def dora_incident(request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    intake = PushIntake(ctx.db)
    return await respond(
        request, datadog_body, lambda raw: intake.post_failure(_dd_key(request), raw, "dora_incident")
    )


@datadog.post("/deployment", summary="Send a deployment event (Datadog body)")
async def dora_deployment(request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    intake = PushIntake(ctx.db)
    return await respond(
        request, datadog_body, lambda raw: intake.post_dora_deployment(_dd_key(request), raw)
    )
