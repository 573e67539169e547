"""Pure pieces of the pipeline layer: cron validation, legacy bodies, missed fires, progress."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from core.models import utcnow
from core.pipeline.blueprint_body import LegacySettings, legacy_to_connections, validate_cron
from core.pipeline.models import RunnerRecord
from core.pipeline.progress import done_progress, progress_of
from core.pipeline.runners import RunnerIdentity, is_alive
from core.pipeline.scheduler import latest_fire
from core.plugin import ProgressReporter
from core.services.errors import InvalidInput


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/5 * * * *", "0 0 1 * mon", "  15  3 * * *  "])
def test_valid_crons(cron: str) -> None:
    assert validate_cron(cron) == " ".join(cron.split())


@pytest.mark.parametrize("cron", ["", "every day", "* * * *", "61 * * * *", "* * * * * *", "0 25 * * *"])
def test_invalid_crons(cron: str) -> None:
    with pytest.raises(ValueError):
        validate_cron(cron)


def test_manual_is_a_cron_config() -> None:
    assert validate_cron("Manual") == "manual"


def test_legacy_settings_normalize() -> None:
    settings = LegacySettings.model_validate(
        {
            "version": "1.0.0",
            "connections": [
                {
                    "plugin": "PagerDuty",
                    "connectionId": 1,
                    "scope": [
                        {
                            "entities": ["TICKET"],
                            "options": {"connectionId": 1, "start_date": "2022-06-01T15:04:05Z"},
                        }
                    ],
                },
                {
                    "plugin": "pagerduty",
                    "connectionId": 2,
                    "scope": [
                        {"options": {"scopeId": "P1", "start_date": "2021-01-01T00:00:00Z"}},
                        {"options": {"scopeId": "P2"}},
                    ],
                },
            ],
        }
    )
    conns, earliest = legacy_to_connections(settings)
    assert conns[0] == {
        "pluginName": "PagerDuty",
        "connectionId": 1,
        "scopes": [],
        "options": {"entities": ["TICKET"], "start_date": "2022-06-01T15:04:05Z"},
    }
    assert conns[1]["scopes"] == [{"scopeId": "P1"}, {"scopeId": "P2"}]
    assert earliest == datetime(2021, 1, 1, tzinfo=UTC)


def test_legacy_bad_start_date_names_the_field() -> None:
    settings = LegacySettings.model_validate(
        {"connections": [{"plugin": "x", "connectionId": 1, "scope": [{"options": {"start_date": "soon"}}]}]}
    )
    with pytest.raises(InvalidInput) as info:
        legacy_to_connections(settings)
    assert info.value.causes[0]["field"] == "settings.connections.0.scope.0.options.start_date"


def test_latest_fire_finds_the_last_missed_fire_cheaply() -> None:
    now = datetime(2025, 3, 10, 12, 0, 30)
    hourly = CronTrigger.from_crontab("0 * * * *", timezone=UTC)
    assert latest_fire(hourly, now - timedelta(hours=5), now) == datetime(2025, 3, 10, 12, 0)
    assert latest_fire(hourly, datetime(2025, 3, 10, 12, 0, 1), now) is None
    monthly = CronTrigger.from_crontab("0 0 1 * *", timezone=UTC)
    assert latest_fire(monthly, datetime(2024, 1, 1), now) == datetime(2025, 3, 1)
    every_second = CronTrigger(second="*", timezone=UTC)
    assert latest_fire(every_second, datetime(2020, 1, 1), now) == now


def test_progress_of_reports_devlake_fields() -> None:
    reporter = ProgressReporter()
    reporter.start_subtask("collect", 1, 4)
    reporter.set_total(10)
    reporter.advance(5, records=5)
    value, detail = progress_of(reporter)
    assert value == pytest.approx(0.125)
    assert detail == {
        "totalSubTasks": 4,
        "finishedSubTasks": 0,
        "subTaskName": "collect",
        "subTaskNumber": 1,
        "totalRecords": 10,
        "finishedRecords": 5,
        "records": 5,
    }
    reporter.start_subtask("convert", 4, 4)
    assert progress_of(reporter)[0] == pytest.approx(0.75)
    assert done_progress(reporter)[0] == 1.0 and done_progress(reporter)[1]["finishedSubTasks"] == 4


def _row(identity: RunnerIdentity, **changes: object) -> RunnerRecord:
    fields = {
        "id": identity.id,
        "kind": identity.kind,
        "hostname": identity.hostname,
        "pid": identity.pid,
        "process_started": identity.process_started,
        "started_at": utcnow(),
        "heartbeat_at": utcnow(),
        **changes,
    }
    return RunnerRecord(**fields)


def test_runner_liveness() -> None:
    me = RunnerIdentity.new("server")
    assert me.pid == os.getpid() and me.hostname == socket.gethostname()
    assert is_alive(_row(me))
    assert not is_alive(None)
    assert not is_alive(_row(me, heartbeat_at=utcnow() - timedelta(minutes=5)))
    assert not is_alive(_row(me, process_started=me.process_started - 100))  # pid reused by another process
    assert not is_alive(_row(me, pid=2**22 + 12345))  # no such process on this host
    assert is_alive(_row(me, hostname="elsewhere", pid=1))  # other hosts: the heartbeat decides
