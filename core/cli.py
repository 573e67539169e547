"""The `incidentlake` command line. Every failure is one clear line and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from core import __version__

app = typer.Typer(
    name="incidentlake",
    help="Collect incidents (PagerDuty, Datadog, webhooks) into a DevLake-compatible database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """An error worth exactly one line to the user."""


def friendly(fn: F) -> F:
    """Turn expected failures into one line on stderr and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from core.db import DatabaseUnavailable
        from core.services.errors import ServiceError

        try:
            return fn(*args, **kwargs)
        except (CliError, DatabaseUnavailable, ServiceError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
            err.print(f"[red]error:[/red] invalid setting {where}: {first.get('msg')}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def load_settings() -> Any:
    from core.config import Settings

    return Settings()


def open_database(settings: Any) -> Any:
    from sqlalchemy.exc import ArgumentError

    from core.db import Database, check_connection

    try:
        db = Database(settings.db_url)
    except (ArgumentError, ImportError) as exc:
        raise CliError(f"bad database URL: {exc}") from None
    check_connection(db.engine)
    return db


def migrate_database(settings: Any) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from core import migrate

    db = open_database(settings)
    try:
        migrate.upgrade(settings.db_url)
    except SQLAlchemyError as exc:
        raise CliError(f"migration failed: {getattr(exc, 'orig', exc)}") from None
    finally:
        db.dispose()


@app.command()
@friendly
def version() -> None:
    """Print the version."""
    console.print(f"incidentlake {__version__}")


@app.command()
@friendly
def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    settings = load_settings()
    migrate_database(settings)
    console.print("database is up to date")


@app.command()
@friendly
def serve(
    host: str | None = typer.Option(None, help="Listen address (default from settings)"),
    port: int | None = typer.Option(None, help="Port (default 8080)"),
) -> None:
    """Migrate, then run the REST API, the scheduler and the pipeline runner."""
    import uvicorn

    from core.api.app import create_app
    from core.context import AppContext
    from core.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level)
    migrate_database(settings)
    ctx = AppContext.build(settings)
    api = create_app(ctx)
    console.print(
        f"incidentlake {__version__} listening on http://{host or settings.host}:{port or settings.port} "
        "(docs at /docs)"
    )
    uvicorn.run(
        api,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
    )


def main() -> None:
    """Register every command of `core/commands/` and run the app.

    The commands register on `core.cli.app`. Under `python -m core.cli` this file runs as
    `__main__`, a module distinct from `core.cli`, so the app run is always the imported
    `core.cli`'s: both ways of starting the CLI know the same commands.
    """
    import core.cli as cli
    from core.commands import load_all

    load_all()
    try:
        cli.app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
