"""Running one task: validate its options, load its connection and scope, run its subtasks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import nullcontext

from pydantic import ValidationError

from core.context import AppContext
from core.heap import freeze_startup_heap
from core.http.errors import Cancelled
from core.pipeline.follow import Follower, FollowerFailed, followers
from core.plugin import ProgressReporter, ScopeBase, Subtask, TaskCancelled, TaskContext
from core.services.errors import NotFound
from core.services.validation import invalid

log = logging.getLogger("incidentlake.task")


class SubtaskFailed(Exception):
    """A subtask raised; carries its name for the task's `failedSubTask`."""

    def __init__(self, subtask: str, cause: BaseException) -> None:
        super().__init__(f"subtask {subtask} failed: {cause}")
        self.subtask = subtask
        self.cause = cause


def select_subtasks(
    all_subtasks: Iterable[Subtask], names: list[str] | None, *, skip_collectors: bool = False
) -> list[Subtask]:
    chosen = [
        s for s in all_subtasks if (names is None and s.enabled_by_default) or (names and s.name in names)
    ]
    if skip_collectors:
        chosen = [s for s in chosen if s.kind != "collect"]
    return chosen


def build_context(
    app: AppContext,
    plugin_name: str,
    options: dict[str, object],
    *,
    progress: ProgressReporter | None = None,
    cancel: threading.Event | None = None,
) -> TaskContext:
    plugin = app.registry.get(plugin_name)
    try:
        opts = plugin.options_model.model_validate(options or {})
    except ValidationError as exc:
        raise invalid(exc, prefix="options") from None
    connection = None
    scope: ScopeBase | None = None
    if opts.connection_id is not None:
        connection = app.connections.model(plugin_name, opts.connection_id)
        if opts.scope_id is not None:
            try:
                scope = app.scopes.get(plugin_name, opts.connection_id, opts.scope_id)
            except NotFound:
                scope = plugin.scope_model(id=opts.scope_id)  # legacy blueprints name no saved scope
    return TaskContext(
        db=app.db,
        plugin=plugin,
        connection_id=opts.connection_id or 0,
        connection=connection,  # type: ignore[arg-type]  # tasks without a connection (e.g. dora)
        options=opts,
        scope=scope,
        full_sync=opts.full_sync,
        time_after=opts.time_after,
        project_name=opts.project_name,
        progress=progress or ProgressReporter(),
        cancel=cancel or threading.Event(),
        log=log,
    )


def execute_task(
    app: AppContext,
    plugin_name: str,
    options: dict[str, object],
    *,
    subtasks: list[str] | None = None,
    skip_collectors: bool = False,
    progress: ProgressReporter | None = None,
    cancel: threading.Event | None = None,
) -> TaskContext:
    """Run the task's subtasks in order; raise SubtaskFailed or TaskCancelled."""
    freeze_startup_heap()  # the first task of a process: its startup objects are settled by now
    ctx = build_context(app, plugin_name, options, progress=progress, cancel=cancel)
    chosen = select_subtasks(ctx.plugin.subtasks, subtasks, skip_collectors=skip_collectors)
    try:
        for number, sub in enumerate(chosen, start=1):
            ctx.check_cancelled()
            ctx.progress.start_subtask(sub.name, number, len(chosen))
            try:
                with (
                    Follower(ctx, followers(chosen, number - 1, ctx))
                    if sub.kind == "collect"
                    else nullcontext()
                ):
                    sub.run(ctx)
            except FollowerFailed as exc:
                raise SubtaskFailed(exc.subtask, exc.cause) from exc.cause
            except TaskCancelled:
                raise
            except Cancelled as exc:  # the HTTP layer noticed the cancel event mid-request
                raise TaskCancelled(str(exc)) from exc
            except Exception as exc:
                raise SubtaskFailed(sub.name, exc) from exc
    finally:
        ctx.close()
    return ctx
