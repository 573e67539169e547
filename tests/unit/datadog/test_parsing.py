"""Pure pieces of the Datadog plugin: times, sites, environments, monitor pairing, windows, events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from plugins.datadog.connection import DatadogConnection, DatadogScope, site_endpoint
from plugins.datadog.notify import MAX_TEXT, event_body
from plugins.datadog.simulator.data import compile_query
from plugins.datadog.tasks.collect import query_tags
from plugins.datadog.tasks.common import domain_environment, parse_time
from plugins.datadog.tasks.events import ALERT, RECOVERY, RENOTIFY, normalize, pair, transition_of
from plugins.datadog.tasks.windows import MAX_SPAN, merge_windows, next_span

T = datetime(2024, 3, 1, 12, 30, 15, 123000)


@pytest.mark.parametrize(
    "value",
    [
        1709296215123000000,  # ns
        "1709296215123000000",
        1709296215123,  # ms
        1709296215.123,  # s
        "2024-03-01T12:30:15.123Z",
        "2024-03-01T12:30:15.123456789Z"[:23] + "Z",
        "2024-03-01T14:30:15.123+02:00",
    ],
)
def test_parse_time_accepts_nanoseconds_and_rfc3339(value: object) -> None:
    assert parse_time(value) == T


@pytest.mark.parametrize("value", [None, "", "soon", True, [], {}])
def test_parse_time_rejects_junk(value: object) -> None:
    assert parse_time(value) is None


def test_parse_time_keeps_microseconds_of_nanoseconds() -> None:
    assert parse_time("2024-03-01T12:30:15.123456789Z") == T.replace(microsecond=123456)
    assert parse_time(1709296215123456789) == T.replace(microsecond=123456)


@pytest.mark.parametrize(
    ("given", "endpoint"),
    [
        ("datadoghq.com", "https://api.datadoghq.com"),
        ("datadoghq.eu", "https://api.datadoghq.eu"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("app.datadoghq.eu", "https://api.datadoghq.eu"),
        ("api.us3.datadoghq.com", "https://api.us3.datadoghq.com"),
        ("us2.ddog-gov.com", "https://api.us2.ddog-gov.com"),
        ("http://127.0.0.1:8901/", "http://127.0.0.1:8901"),
    ],
)
def test_sites_become_api_endpoints(given: str, endpoint: str) -> None:
    assert DatadogConnection(name="d", endpoint=given, apiKey="k", appKey="a").endpoint == endpoint
    assert site_endpoint(given).rstrip("/") == endpoint


def test_default_endpoint_and_secret_fields() -> None:
    conn = DatadogConnection(name="d", apiKey="k", appKey="a")
    assert conn.endpoint == "https://api.datadoghq.com"
    assert set(DatadogConnection.secret_fields()) == {"api_key", "app_key"}


def test_scope_kinds_are_normalized() -> None:
    scope = DatadogScope.model_validate({"id": "s", "kinds": ["monitors", "failures", "monitors"]})
    assert scope.kinds == ["failures", "monitors"]
    with pytest.raises(ValueError):
        DatadogScope.model_validate({"id": "s", "kinds": ["incidents"]})


@pytest.mark.parametrize(
    ("env", "domain"),
    [("prod", "PRODUCTION"), ("Production", "PRODUCTION"), ("production-eu", "PRODUCTION"),
     ("staging", "STAGING"), ("qa", "TESTING"), ("dev", "DEVELOPMENT"), ("sandbox", "SANDBOX"), (None, None)],
)  # fmt: skip
def test_environments(env: str | None, domain: str | None) -> None:
    assert domain_environment(env) == domain


@pytest.mark.parametrize(
    ("title", "status", "transition"),
    [
        ("[Triggered on {host:a}] CPU", "error", ALERT),
        ("[P1] [Triggered] CPU", "error", ALERT),
        ("[Re-Triggered on {host:a}] CPU", "error", RENOTIFY),
        ("[Recovered on {host:a}] CPU", "success", RECOVERY),
        ("[Warn on {host:a}] CPU", "warning", ALERT),
        ("[No Data on {host:a}] CPU", "error", "other"),
        ("CPU is high", "error", ALERT),
        ("CPU is fine", "success", RECOVERY),
        ("something", "info", "other"),
    ],
)
def test_transitions(title: str, status: str, transition: str) -> None:
    assert transition_of(title, status) == transition


@dataclass
class Ev:
    transition: str
    at: int


def test_pairing_ignores_renotifications_and_stray_recoveries() -> None:
    events = [Ev(RECOVERY, 0), Ev(ALERT, 1), Ev(RENOTIFY, 2), Ev(ALERT, 3), Ev(RECOVERY, 4), Ev(RECOVERY, 5),
              Ev(RENOTIFY, 6), Ev(RECOVERY, 7), Ev(ALERT, 8)]  # fmt: skip
    got = [(e.alert.at, e.recovery.at if e.recovery else None) for e in pair(events)]
    assert got == [(1, 4), (6, 7), (8, None)]


def test_normalize_v2_and_v1_agree() -> None:
    v2 = {
        "id": "AZ1",
        "type": "event",
        "attributes": {
            "timestamp": "2024-03-01T12:30:15.123Z",
            "tags": ["service:web", "env:prod", "team:core"],
            "attributes": {"monitor_id": 7, "monitor_groups": ["host:b", "host:a"], "status": "error",
                           "title": "[Triggered on {host:a,host:b}] Disk", "monitor": {"name": "Disk", "priority": 2}},
        },
    }  # fmt: skip
    v1 = {"id": 1, "date_happened": 1709296215, "title": "[Triggered on {host:a,host:b}] Disk", "alert_type": "error",
          "monitor_id": 7, "tags": ["service:web"]}  # fmt: skip
    a, b = normalize(v2), normalize(v1)
    assert a is not None and b is not None
    assert (a.monitor_id, a.group_key, a.transition, a.monitor_name, a.priority) == (
        7,
        "host:a,host:b",
        ALERT,
        "Disk",
        "P2",
    )
    assert (b.monitor_id, b.group_key, b.transition, b.monitor_name) == (7, "host:a,host:b", ALERT, "Disk")
    assert a.row()["service"] == "web" and a.row()["happened_ms"] == 1709296215123
    assert normalize({"id": "x", "attributes": {"attributes": {}}}) is None  # not a monitor event


def test_next_span_aims_at_the_target() -> None:
    assert next_span(timedelta(days=1), 1000) == timedelta(hours=12)
    assert next_span(timedelta(days=1), 0) == timedelta(days=8)
    assert next_span(timedelta(days=60), 0) == MAX_SPAN
    assert next_span(timedelta(seconds=1), 999) == timedelta(seconds=1)


def test_merge_windows_bounds_the_number_of_windows() -> None:
    times = [T + timedelta(hours=h) for h in (0, 0, 1, 5, 50, 51, 200)]
    windows = merge_windows(times, pad=timedelta(seconds=1), max_windows=3)
    assert len(windows) == 3
    assert all(any(a <= t < b for a, b in windows) for t in times)
    assert windows == sorted(windows)


def test_event_body_respects_datadog_limits() -> None:
    body = event_body({"blueprintId": "b" * 300, "status": "TASK_PARTIAL", "message": "x" * 9000,
                       "tasks": [{"plugin": "p", "message": "m" * 300}] * 100})  # fmt: skip
    assert len(body["text"]) <= MAX_TEXT and body["text"].startswith("%%%") and body["text"].endswith("%%%")
    assert len(body["aggregation_key"]) <= 100 and len(body["title"]) <= 100
    assert body["alert_type"] == "error"


def test_query_tags_and_simulator_queries() -> None:
    query = "env:production team:backend severity:(SEV-1 OR SEV-2) -service:legacy"
    assert query_tags(query) == ["env:production", "team:backend"]
    match = compile_query(query)
    assert match({"env": ["production"], "team": ["backend"], "severity": ["SEV-2"], "service": ["web"]})
    assert not match({"env": ["production"], "team": ["backend"], "severity": ["SEV-3"]})
    assert not match(
        {"env": ["production"], "team": ["backend"], "severity": ["SEV-1"], "service": ["legacy"]}
    )
    assert compile_query("service:pay*")({"service": ["payments"]})
