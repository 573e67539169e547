"""The number sequences the DORA SQL builds without recursion."""

from __future__ import annotations

import sqlite3

import pytest

from core.dora.fragments import numbers, numbers_upto


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 11, 99, 100, 52_561])
def test_numbers_upto_covers_the_limit_with_at_most_twice_the_rows(limit: int) -> None:
    rows = sorted(n for (n,) in sqlite3.connect(":memory:").execute(numbers_upto(limit)))
    assert rows == list(range(len(rows)))
    assert limit + 1 <= len(rows) <= max(2 * limit, 10)


def test_numbers_is_every_number_below_the_power_of_ten() -> None:
    rows = sorted(n for (n,) in sqlite3.connect(":memory:").execute(numbers(3)))
    assert rows == list(range(1000))
