"""`incidentlake trigger <blueprint>`: run a blueprint now, in the foreground, with progress bars."""

from __future__ import annotations

import threading

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from core.cli import CliError, app, console, err, friendly, load_settings, migrate_database
from core.models import Pipeline, Task
from core.pipeline import status as st
from core.pipeline.progress import progress_of
from core.pipeline.runner import RunObserver
from core.plugin import ProgressReporter


class ProgressBars(RunObserver):
    """One bar per task (subtasks done, current subtask and records) plus the pipeline's bar."""

    def __init__(self, progress: Progress, pipeline: Pipeline) -> None:
        self.progress = progress
        self.total = progress.add_task(
            f"pipeline {pipeline.id} {pipeline.name}", total=pipeline.total_tasks, detail=""
        )
        self.bars: dict[int, TaskID] = {}
        self.totals: dict[int, int] = {}
        self.lock = threading.Lock()

    def stage_started(self, pipeline: Pipeline, stage: int, tasks: list[Task]) -> None:
        self.progress.update(self.total, detail=f"stage {stage}")

    def task_started(self, task: Task, subtask_count: int) -> None:
        options = task.options or {}
        scope = options.get("scopeId") or options.get("projectName") or ""
        label = f"  {task.plugin} {scope}".rstrip()
        with self.lock:
            self.totals[task.id] = max(subtask_count, 1)
            self.bars[task.id] = self.progress.add_task(label, total=self.totals[task.id], detail="starting")

    def task_progress(self, task: Task, reporter: ProgressReporter) -> None:
        value, detail = progress_of(reporter)
        bar = self.bars.get(task.id)
        if bar is None:
            return
        count = detail["totalSubTasks"] or 1
        records = detail["records"]
        text = f"{detail['subTaskName']} ({detail['subTaskNumber']}/{count}) · {records} records"
        self.progress.update(bar, completed=value * count, detail=text)

    def task_finished(self, task: Task, status: str, message: str | None) -> None:
        bar = self.bars.get(task.id)
        if bar is not None:
            word = status.removeprefix("TASK_").lower()
            shown = f"[green]{word}[/]" if status == st.COMPLETED else f"[red]{word}[/] {message or ''}"
            done = self.totals.get(task.id, 1) if status == st.COMPLETED else None
            self.progress.update(bar, completed=done, detail=shown)
        if status == st.COMPLETED:
            self.progress.advance(self.total)


@app.command()
@friendly
def trigger(
    blueprint: str = typer.Argument(..., help="Blueprint name or id"),
    full_sync: bool = typer.Option(False, "--full-sync", help="Ignore incremental state: collect everything"),
    skip_collectors: bool = typer.Option(False, "--skip-collectors", help="Re-extract and convert only"),
) -> None:
    """Run a blueprint now in the foreground; exits non-zero unless the pipeline completes."""
    from core.context import AppContext
    from core.logs import setup_logging
    from core.pipeline.foreground import ForegroundRunner

    settings = load_settings()
    setup_logging("ERROR" if settings.log_level in ("INFO", "WARNING") else settings.log_level)
    migrate_database(settings)
    ctx = AppContext.build(settings)
    try:
        bp = ctx.blueprints.find(blueprint)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
        )
        with ForegroundRunner(ctx) as fg:
            pipeline = ctx.blueprints.trigger(
                bp.id, {"fullSync": full_sync, "skipCollectors": skip_collectors}, trigger="cli"
            )
            fg.runner.observer = ProgressBars(progress, pipeline)
            with progress:
                try:
                    fg.run(pipeline.id)
                except KeyboardInterrupt:
                    err.print(f"pipeline {pipeline.id} cancelled")
                    raise typer.Exit(130) from None
        done = ctx.pipelines.get(pipeline.id)
    finally:
        ctx.close()
    line = f"pipeline {done.id}: {done.status} in {done.spent_seconds or 0:.1f} s ({done.finished_tasks}/{done.total_tasks} tasks)"
    if done.status != st.COMPLETED:
        raise CliError(f"{line}: {done.message or 'see GET /pipelines/' + str(done.id) + '/tasks'}")
    console.print(line)
