"""Datadog API: client construction, key checks, DORA list requests and monitor event pages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.crypto import mask
from core.http import ApiClient, AuthError, HttpError, RequestRejected
from core.plugin import ConnectionTestError
from plugins.datadog.connection import DatadogConnection

DORA_LIMIT = 1000  # Datadog's cap on `limit` for DORA lists (which have no cursor)
EVENTS_LIMIT = 1000  # page[limit] cap of the v2 events search, and the v1 unaggregated page size
LIST_TYPES = {"failures": "dora_failures_list_request", "deployments": "dora_deployments_list_request"}
# Retry schedule for every Datadog request (tests shorten the backoff, not the number of tries).
RETRY: dict[str, Any] = {"max_retries": 6, "backoff_base": 0.5, "backoff_max": 60.0}
Record = dict[str, Any]


def make_client(
    connection_id: int, conn: DatadogConnection, *, cancel: threading.Event | None = None, **overrides: Any
) -> ApiClient:
    label = f"datadog connection {connection_id} ({conn.name})" if connection_id else f"datadog ({conn.name})"
    return ApiClient(
        conn.endpoint or "https://api.datadoghq.com",
        connection=label,
        headers={
            "DD-API-KEY": conn.api_key.get_secret_value(),
            "DD-APPLICATION-KEY": conn.app_key.get_secret_value(),
        },
        rate_limit_per_hour=conn.rate_limit_per_hour,
        proxy=conn.proxy,
        cancel=cancel,
        **{**RETRY, **overrides},
    )


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with whole seconds: windows are cut on whole seconds."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def dora_list(
    client: ApiClient, kind: str, start: datetime, end: datetime, query: str, limit: int = DORA_LIMIT
) -> list[Record]:
    """One DORA list request for [start, end), oldest first (no cursor exists: callers walk time)."""
    attributes: dict[str, Any] = {
        "from": format_time(start),
        "to": format_time(end),
        "limit": limit,
        "sort": "started_at",
    }
    if query:
        attributes["query"] = query
    body = {"data": {"type": LIST_TYPES[kind], "attributes": attributes}}
    answer = client.post_json(f"/api/v2/dora/{kind}", json=body, validate=_data_list)
    data: list[Record] = answer["data"]
    return data


def _data_list(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ValueError("response has no 'data' list")
    if not all(isinstance(item, dict) for item in body["data"]):
        raise ValueError("'data' holds something other than objects")


def which_key_failed(conn: DatadogConnection, client: ApiClient | None = None) -> str:
    """After a 403: ask /api/v1/validate (API key only) to tell which of the two keys is wrong."""
    own = client is None
    client = client or make_client(0, conn, max_retries=1, timeout=10.0)
    try:
        client.get_json("/api/v1/validate")
    except AuthError:
        return f"the API key ({mask(conn.api_key.get_secret_value())})"
    except HttpError:
        return "the API key or the application key"
    finally:
        if own:
            client.close()
    return (
        f"the application key ({mask(conn.app_key.get_secret_value())}), or it lacks the permission "
        "for this endpoint"
    )


def explain_auth(exc: AuthError, conn: DatadogConnection, client: ApiClient) -> AuthError:
    """The same AuthError, with a message that names the rejected key."""
    culprit = which_key_failed(conn, client)
    remote = f"Datadog rejected {culprit}" + (f" ({exc.remote_message})" if exc.remote_message else "")
    return AuthError(connection=exc.connection, status=exc.status or 403, remote_message=remote, url=exc.url)


def test_connection(conn: DatadogConnection) -> str:
    """API key first (/api/v1/validate), then both keys on the DORA list we collect from."""
    with make_client(0, conn, max_retries=1, timeout=10.0) as client:
        try:
            client.get_json("/api/v1/validate")
        except AuthError:
            raise ConnectionTestError(
                f"Datadog rejected the API key ({mask(conn.api_key.get_secret_value())}) at {conn.endpoint}: "
                "check it belongs to this site's organization"
            ) from None
        except HttpError as exc:
            raise _unreachable(conn, exc) from None
        try:
            now = datetime.now(UTC).replace(tzinfo=None)
            dora_list(client, "failures", now - timedelta(days=1), now, "", limit=1)
        except AuthError:
            raise ConnectionTestError(
                f"Datadog accepted the API key but rejected the application key "
                f"({mask(conn.app_key.get_secret_value())}): check it, and that it may read DORA Metrics"
            ) from None
        except HttpError as exc:
            raise _unreachable(conn, exc) from None
    return "connected to Datadog: API key and application key accepted"


def _unreachable(conn: DatadogConnection, exc: HttpError) -> ConnectionTestError:
    if isinstance(exc, RequestRejected):
        return ConnectionTestError(
            f"{conn.endpoint} answered HTTP {exc.status}: is this a Datadog API host? ({exc.remote_message})"
        )
    cause = exc.__cause__ or exc
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout) or "connect" in str(exc).lower():
        return ConnectionTestError(f"cannot reach {conn.endpoint}: {exc.message}")
    return ConnectionTestError(f"{conn.endpoint} did not answer like Datadog: {exc.message}")
