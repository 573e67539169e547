"""PagerDuty REST API v2: client construction, error messages, services listing."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from core.http import ApiClient, AuthError, HttpError, RequestRejected, offset_pages
from core.http.messages import default_error_message
from core.plugin import ConnectionTestError
from plugins.pagerduty.connection import PagerDutyConnection

ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100
OFFSET_CAP = 10_000  # PagerDuty refuses offset + limit > 10,000 with a 400
# Retry schedule for every PagerDuty request (tests shorten the backoff, not the number of tries).
RETRY: dict[str, Any] = {"max_retries": 6, "backoff_base": 0.5, "backoff_max": 60.0}


def error_message(response: httpx.Response) -> str | None:
    """PagerDuty errors: {"error": {"message", "code", "errors": [...]}} → "message: errors"."""
    try:
        body = response.json()
    except ValueError:
        return default_error_message(response)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or "").strip()
        details = [str(e) for e in err.get("errors") or [] if e]
        code = err.get("code")
        text = ": ".join(p for p in (message, "; ".join(details)) if p)
        return f"{text} (code {code})" if code is not None and text else text or None
    return default_error_message(response)


def make_client(
    connection_id: int, conn: PagerDutyConnection, *, cancel: threading.Event | None = None, **overrides: Any
) -> ApiClient:
    label = (
        f"pagerduty connection {connection_id} ({conn.name})" if connection_id else f"pagerduty ({conn.name})"
    )
    return ApiClient(
        conn.endpoint or "https://api.pagerduty.com",
        connection=label,
        headers={"Authorization": f"Token token={conn.token.get_secret_value()}", "Accept": ACCEPT},
        rate_limit_per_hour=conn.rate_limit_per_hour,
        proxy=conn.proxy,
        error_message=error_message,
        cancel=cancel,
        **{**RETRY, **overrides},
    )


def test_connection(conn: PagerDutyConnection) -> str:
    """One cheap read; a rejected token, a wrong host and an unreachable host read differently."""
    with make_client(0, conn, max_retries=1, timeout=10.0) as client:
        try:
            client.get_json("/abilities", validate=_has("abilities"))
        except AuthError:
            raise ConnectionTestError(
                f"PagerDuty rejected the API token ({conn.endpoint}): check it is a valid REST API key"
            ) from None
        except RequestRejected as exc:
            raise ConnectionTestError(
                f"{conn.endpoint} answered HTTP {exc.status}: is this a PagerDuty API host? ({exc.remote_message})"
            ) from None
        except HttpError as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout) or "connect" in str(exc).lower():
                raise ConnectionTestError(f"cannot reach {conn.endpoint}: {exc.message}") from None
            raise ConnectionTestError(
                f"{conn.endpoint} did not answer like PagerDuty: {exc.message}"
            ) from None
    return "connected to PagerDuty"


def list_services(
    client: ApiClient, *, query: str | None = None, offset: int = 0, limit: int = 100
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit, "offset": offset, "total": "true"}
    if query:
        params["query"] = query
    body: dict[str, Any] = client.get_json("/services", params=params, validate=_has("services"))
    return body


def all_services(client: ApiClient) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    for page in offset_pages(
        client, "/services", limit=PAGE_LIMIT, items_key="services", max_offset=OFFSET_CAP
    ):
        services.extend(page)
    return services


def _has(key: str) -> Any:
    def check(body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise ValueError(f"response has no {key!r} list")

    return check
