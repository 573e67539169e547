"""The one upsert helper: inserts, updates, is idempotent and batches past SQLite's limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.db import Database, upsert
from core.models import Board, Issue


def _issue(i: int, title: str = "t") -> dict[str, object]:
    return {
        "id": f"test:Incident:1:{i}",
        "title": f"{title} {i}",
        "type": "INCIDENT",
        "status": "TODO",
        "created_date": datetime(2024, 1, 1, 0, 0, i % 60, 123000),
    }


def test_insert_then_update_is_idempotent(db: Database) -> None:
    with db.session() as s:
        assert upsert(s, Issue, [_issue(i) for i in range(10)]) == 10
    with db.session() as s:
        upsert(s, Issue, [_issue(i, "changed") for i in range(5)])
        upsert(s, Issue, [_issue(i, "changed") for i in range(5)])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 10
        assert s.get(Issue, "test:Incident:1:3").title == "changed 3"
        assert s.get(Issue, "test:Incident:1:7").title == "t 7"
        assert s.get(Issue, "test:Incident:1:3").created_date == datetime(2024, 1, 1, 0, 0, 3, 123000)


def test_many_rows_in_batches(db: Database) -> None:
    # 40 columns x 5000 rows is far beyond SQLite's 32766 bound parameters per statement
    rows = [{**_issue(i), "description": "x" * 10, "url": f"https://x/{i}"} for i in range(5000)]
    with db.session() as s:
        upsert(s, Issue, rows, batch_size=5000)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 5000


def test_restricted_update_columns_keep_others(db: Database) -> None:
    with db.session() as s:
        upsert(s, Board, [{"id": "b1", "name": "first", "description": "keep me"}])
    with db.session() as s:
        upsert(s, Board, [{"id": "b1", "name": "second", "description": "ignored"}], update=["name"])
    with db.session() as s:
        board = s.get(Board, "b1")
        assert (board.name, board.description) == ("second", "keep me")


def test_insert_only_when_no_update_columns(db: Database) -> None:
    with db.session() as s:
        upsert(s, Board, [{"id": "b1", "name": "first"}])
        upsert(s, Board, [{"id": "b1", "name": "second"}], update=[])
    with db.session() as s:
        assert s.get(Board, "b1").name == "first"


def test_aware_datetimes_stored_as_utc(db: Database) -> None:
    from datetime import timedelta, timezone

    aware = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.session() as s:
        upsert(s, Issue, [{"id": "x", "created_date": aware}])
    with db.session() as s:
        assert s.get(Issue, "x").created_date == datetime(2024, 5, 1, 10, 0)
