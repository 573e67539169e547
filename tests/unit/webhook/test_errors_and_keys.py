"""Error wording per imitated API, bearer parsing, and the deadlock retry core provides."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db import is_lock_conflict, retry_on_deadlock
from plugins.webhook.errors import IntakeError, Problem, datadog_body, devlake_body
from plugins.webhook.keys import bearer_token, new_key


def test_devlake_style_names_each_field() -> None:
    err = IntakeError(
        400, "invalid input: issueKey: Field required", [Problem("Field required", ("issueKey",))]
    )
    assert devlake_body(err) == {
        "success": False,
        "message": "invalid input: issueKey: Field required",
        "causes": [{"field": "issueKey", "message": "Field required"}],
    }


def test_datadog_style_points_at_each_attribute() -> None:
    err = IntakeError(400, "bad", [Problem("Field required", ("data", "attributes", "started_at"))])
    assert datadog_body(err) == {
        "errors": [
            {
                "status": "400",
                "title": "Bad Request",
                "detail": "Field required",
                "source": {"pointer": "/data/attributes/started_at"},
            }
        ]
    }
    assert datadog_body(IntakeError(403, "no key")) == {"errors": ["Forbidden"]}
    assert datadog_body(IntakeError(413, "too big"))["errors"][0]["title"] == "Payload Too Large"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("abc", None),
        (None, None),
        ("Bearer", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_keys_are_long_and_random() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100 and min(len(k) for k in keys) >= 43


def _mysql_error(code: int) -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception(code, "Deadlock found when trying to get lock"))


def test_retry_on_deadlock_runs_the_transaction_again() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _mysql_error(1213)
        return "done"

    assert retry_on_deadlock(flaky, base_delay=0) == "done"
    assert len(calls) == 3


def test_retry_on_deadlock_gives_up_and_ignores_other_errors() -> None:
    calls: list[int] = []

    def always(exc: Exception) -> None:
        calls.append(1)
        raise exc

    with pytest.raises(OperationalError):
        retry_on_deadlock(lambda: always(_mysql_error(1205)), attempts=3, base_delay=0)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(IntegrityError):
        retry_on_deadlock(lambda: always(IntegrityError("x", {}, Exception(1062, "dup"))), base_delay=0)
    assert len(calls) == 1
    assert is_lock_conflict(OperationalError("x", {}, Exception("database is locked")))
    assert not is_lock_conflict(ValueError("nope"))
