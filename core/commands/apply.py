"""`incidentlake apply <file.yaml>`: make connections, scopes, projects and blueprints match a file."""

from __future__ import annotations

from pathlib import Path

import typer

from core.cli import app, console, friendly, load_settings, migrate_database


@app.command()
@friendly
def apply(
    file: Path = typer.Argument(..., help="YAML file (see config/incidentlake.apply.example.yaml)"),
) -> None:
    """Create or update what the file declares (idempotent); prints each change."""
    from core.context import AppContext
    from core.pipeline.apply import Applier, load

    config = load(file)
    settings = load_settings()
    migrate_database(settings)
    ctx = AppContext.build(settings)
    try:
        changes = Applier(ctx).apply(config)
    finally:
        ctx.close()
    for change in changes:
        console.print(change.line(), highlight=False)
    console.print(f"{len(changes)} change(s)" if changes else "no changes")
