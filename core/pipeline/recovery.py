"""Crash safety: pipelines whose runner died are failed (and can be rerun); pipelines waiting
for a runner that is gone are adopted by a live one.

Runs at start and then periodically in every server, so a server killed with -9 is noticed by
its restart or by any neighbour; a live runner's pipelines are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from core.db import Database
from core.pipeline.models import RunnerRecord
from core.pipeline.runners import STALE_AFTER_SECONDS, is_alive, prune_dead_runners
from core.pipeline.store import PipelineStore

log = logging.getLogger("incidentlake.pipeline")


@dataclass
class Recovered:
    failed: list[int] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)


def lost_message(runner_id: str | None, row: RunnerRecord | None) -> str:
    who = f"runner {runner_id}" if row is None else f"runner {row.id} (host {row.hostname}, pid {row.pid})"
    return (
        f"interrupted: the {who} stopped while the pipeline ran (process killed or crashed); "
        "unfinished tasks were marked failed — rerun the pipeline to finish them"
    )


def recover(
    db: Database,
    me: str,
    submit: Callable[[int], None] | None,
    *,
    stale_after: float = STALE_AFTER_SECONDS,
) -> Recovered:
    store = PipelineStore(db)
    result = Recovered()
    runners: dict[str | None, RunnerRecord | None] = {}

    def alive(runner_id: str | None) -> bool:
        if runner_id == me:
            return True
        if runner_id not in runners:
            with db.session() as s:
                runners[runner_id] = s.get(RunnerRecord, runner_id) if runner_id else None
        return is_alive(runners[runner_id], stale_after=stale_after)

    for pipeline_id, runner_id in store.running():
        if not alive(runner_id) and store.fail_lost(
            pipeline_id, runner_id, lost_message(runner_id, runners.get(runner_id))
        ):
            log.warning("pipeline %s failed: its runner %s is gone", pipeline_id, runner_id)
            result.failed.append(pipeline_id)
    if submit is not None:
        for pipeline_id, runner_id, _ in store.waiting():
            if not alive(runner_id) and store.adopt(pipeline_id, runner_id, me):
                log.info("pipeline %s adopted from %s", pipeline_id, runner_id or "nobody")
                submit(pipeline_id)
                result.adopted.append(pipeline_id)
    prune_dead_runners(db, stale_after=stale_after)
    return result
