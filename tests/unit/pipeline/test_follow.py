"""Incremental extract/convert subtasks follow a running collector in rounds (core.pipeline.follow)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core.pipeline.follow import Follower, FollowerFailed, followers
from core.plugin import ProgressReporter, Subtask, TaskContext


def _ctx(**kw: Any) -> TaskContext:
    return TaskContext(db=None, plugin=None, connection_id=1, connection=None, options=None, **kw)  # type: ignore[arg-type]


def _sub(
    name: str, kind: str, calls: list[str] | None = None, *, incremental: bool = True, fail: bool = False
) -> Subtask:
    def run(ctx: TaskContext) -> None:
        if calls is not None:
            calls.append(name)
        if fail:
            raise ValueError(f"{name} broke")

    return Subtask(name, run, kind, incremental=incremental)  # type: ignore[arg-type]


def _collect(ctx: TaskContext, records: int, step: int = 500) -> None:
    for _ in range(0, records, step):
        ctx.progress.advance(1, records=step)
        time.sleep(0.02)


def test_rounds_run_in_order_while_the_collector_runs_and_stop_with_it() -> None:
    ctx = _ctx(progress=ProgressReporter())
    calls: list[str] = []
    subs = [_sub("extract", "extract", calls), _sub("convert", "convert", calls)]
    with Follower(ctx, subs, every=1000) as follower:
        _collect(ctx, 10_000)
    rounds = follower.rounds
    assert rounds >= 1
    assert calls == ["extract", "convert"] * rounds
    time.sleep(0.2)
    assert len(calls) == 2 * rounds  # nothing runs once the collector is done
    assert ctx.progress.records == 10_000  # the follower reports into its own progress


def test_a_failing_follower_fails_the_task_after_the_collector_ends() -> None:
    ctx = _ctx(progress=ProgressReporter())
    subs = [_sub("extract", "extract", fail=True)]
    with pytest.raises(FollowerFailed) as info, Follower(ctx, subs, every=1000):
        _collect(ctx, 5000)
    assert info.value.subtask == "extract" and "extract broke" in str(info.value)


def test_the_collectors_own_error_wins() -> None:
    ctx = _ctx(progress=ProgressReporter())
    with (
        pytest.raises(RuntimeError, match="collector"),
        Follower(ctx, [_sub("x", "extract", fail=True)], every=1),
    ):
        _collect(ctx, 3000)
        raise RuntimeError("collector failed")


def test_no_rounds_while_cancelled() -> None:
    ctx = _ctx(progress=ProgressReporter(), cancel=threading.Event())
    ctx.cancel.set()
    calls: list[str] = []
    with Follower(ctx, [_sub("extract", "extract", calls)], every=1):
        _collect(ctx, 3000)
    assert calls == []


def test_only_incremental_extract_and_convert_follow_and_never_on_full_sync() -> None:
    chosen = [
        _sub("collectA", "collect"),
        _sub("collectB", "collect"),
        _sub("extract", "extract"),
        _sub("convert", "convert"),
    ]
    assert [s.name for s in followers(chosen, 0, _ctx())] == ["extract", "convert"]
    assert followers(chosen, 0, _ctx(full_sync=True)) == []
    assert followers([*chosen, _sub("legacy", "convert", incremental=False)], 1, _ctx()) == []
    assert followers(chosen[:2], 0, _ctx()) == []
