"""`incidentlake metrics <project>`: the project's DORA figures as a table (or JSON)."""

from __future__ import annotations

import json

import typer

from core.cli import app, console, friendly, load_settings, open_database


@app.command()
@friendly
def metrics(
    project: str = typer.Argument(..., help="Project name"),
    start: str | None = typer.Option(
        None, "--from", help="Start (ISO date or timestamp, UTC); default 6 months"
    ),
    end: str | None = typer.Option(None, "--to", help="End, exclusive (default now)"),
    report: str = typer.Option("2023", "--report", help="DORA report year: 2021 or 2023"),
    aggregate: str = typer.Option("median", "--aggregate", help="median, mean or p90"),
    refresh: bool = typer.Option(False, "--refresh", help="Run the project's DORA stage first"),
    as_json: bool = typer.Option(False, "--json", help="Print the /dora JSON instead of tables"),
) -> None:
    """Print a project's DORA metrics (deployment frequency, change failure rate, recovery time)."""
    from core.dora.render import report_tables
    from core.services.projects import ProjectService

    db = open_database(load_settings())
    try:
        service = ProjectService(db)
        if refresh:
            done = service.refresh(project)
            console.print(
                f"DORA stage: {done['incidents']} incidents, {done['linkedExplicit']} linked explicitly, "
                f"{done['linkedByTime']} by time ({done['spentSeconds']} s)"
            )
        body = service.dora(project, start=start, end=end, report=report, aggregate=aggregate)
    finally:
        db.dispose()
    if as_json:
        console.print_json(json.dumps(body))
    else:
        console.print(report_tables(body))
