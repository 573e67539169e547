"""Stream query results in keyset-paginated batches, so no table is ever held in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.sql import ColumnElement

from core.db import Database


def stream_rows(
    db: Database, stmt: Select[Any], keys: list[ColumnElement[Any]], *, batch_size: int = 1000
) -> Iterator[list[Any]]:
    """Run `stmt` ordered by `keys` (a unique key) in batches; yields lists of Row objects."""
    last: tuple[Any, ...] | None = None
    names = [k.key for k in keys]
    while True:
        q = stmt.order_by(*keys).limit(batch_size)
        if last is not None:
            q = q.where(tuple_(*keys) > tuple_(*last)) if len(keys) > 1 else q.where(keys[0] > last[0])
        with db.session() as s:
            rows = s.execute(q).all()
        if not rows:
            return
        yield rows
        last = _key(rows[-1], names)


def range_batches(
    db: Database, key: ColumnElement[Any], *where: ColumnElement[bool], after: int = 0, batch_size: int = 5000
) -> Iterator[tuple[int, int, int]]:
    """(after, up_to, count): consecutive ranges of an integer key holding `batch_size` rows each,
    for set-based statements that process `after < key <= up_to` at once (an index on the
    filter columns + key makes each step read `batch_size` index entries)."""
    last = after
    while True:
        keys = select(key.label("k")).where(*where, key > last).order_by(key).limit(batch_size).subquery()
        with db.reading() as s:
            hi, count = s.execute(select(func.max(keys.c.k), func.count())).one()
        if not count:
            return
        yield last, int(hi), int(count)
        last = int(hi)


def _key(row: Any, names: list[str]) -> tuple[Any, ...]:
    """Key values of a row of columns, or of a row holding one ORM entity."""
    try:
        return tuple(getattr(row, n) for n in names)
    except AttributeError:
        return tuple(getattr(row[0], n) for n in names)
