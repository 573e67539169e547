"""`incidentlake demo`: the whole product on one laptop, in one command.

Starts the PagerDuty and Datadog simulators on loopback, serves the API, then — through the
public REST API, as a newcomer would with curl — creates connections, scopes, a project and
its blueprint, runs it with progress bars, prints the project's DORA table and the
`/dashboard` address, and keeps serving until Ctrl-C. Uses a fresh SQLite database unless
`--db-url` names one.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from core.cli import CliError, app, console, friendly

PROJECT = "demo-shop"
FINISHED = {"TASK_COMPLETED", "TASK_FAILED", "TASK_CANCELLED", "TASK_PARTIAL"}


@contextmanager
def _simulators(incidents: int, days: int) -> Iterator[dict[str, Any]]:
    """Both simulators in this process, on free loopback ports, with data over the last `days`."""
    from plugins.datadog.simulator.data import generate as datadog_data
    from plugins.datadog.simulator.server import DatadogSimulator
    from plugins.datadog.simulator.server import SimConfig as DatadogConfig
    from plugins.pagerduty.simulator.data import generate as pagerduty_data
    from plugins.pagerduty.simulator.server import PagerDutySimulator
    from plugins.pagerduty.simulator.server import SimConfig as PagerDutyConfig

    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    start = end - timedelta(days=days)
    pd_config, dd_config = PagerDutyConfig(token="demo-pagerduty-token"), DatadogConfig()
    pagerduty = PagerDutySimulator(
        pagerduty_data(incidents, 3, start.isoformat() + "Z", end.isoformat() + "Z", seed=7), pd_config
    )
    datadog = DatadogSimulator(
        datadog_data(incidents // 3, incidents * 2, start=start, end=end, seed=7, monitors=4), dd_config
    )
    try:
        yield {
            "pagerduty": pagerduty.start(),
            "token": pd_config.token,
            "datadog": datadog.start(),
            "apiKey": dd_config.api_key,
            "appKey": dd_config.app_key,
            "start": start,
        }
    finally:
        pagerduty.stop()
        datadog.stop()


@contextmanager
def _serve(ctx: Any, host: str, port: int) -> Iterator[str]:
    """The API with its scheduler and pipeline runner, in a background thread."""
    import uvicorn

    from core.api.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="incidentlake-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise CliError(f"the API could not listen on {host}:{port} (is the port taken? try --port 0)")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _call(client: Any, method: str, path: str, body: Any = None) -> Any:
    response = client.request(method, path, json=body)
    if response.status_code >= 400:
        raise CliError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def _set_up(client: Any, sims: dict[str, Any]) -> int:
    """Connections, scopes, project and blueprint, exactly as the README's curl examples."""
    console.print("[bold]Setting up through the REST API[/bold]")
    pd = _call(client, "POST", "/plugins/pagerduty/connections",
               {"name": "PagerDuty (simulator)", "endpoint": sims["pagerduty"], "token": sims["token"]})  # fmt: skip
    services = _call(client, "GET", f"/plugins/pagerduty/connections/{pd['id']}/remote-scopes")["children"]
    _call(
        client,
        "PUT",
        f"/plugins/pagerduty/connections/{pd['id']}/scopes",
        {"data": [s["data"] for s in services]},
    )
    console.print(f"  PagerDuty connection {pd['id']}: {len(services)} services")
    dd = _call(client, "POST", "/plugins/datadog/connections",
               {"name": "Datadog (simulator)", "endpoint": sims["datadog"], "apiKey": sims["apiKey"],
                "appKey": sims["appKey"]})  # fmt: skip
    scope = {"id": "production", "name": "production", "query": "env:production",
             "kinds": ["failures", "deployments", "monitors"]}  # fmt: skip
    _call(client, "PUT", f"/plugins/datadog/connections/{dd['id']}/scopes", {"data": [scope]})
    console.print(f"  Datadog connection {dd['id']}: scope 'production' (failures, deployments, monitors)")
    _call(client, "POST", "/projects",
          {"name": PROJECT, "description": "the newcomer's demo project", "linkingWindowHours": 72})  # fmt: skip
    blueprint = _call(client, "POST", "/blueprints", {
        "name": f"{PROJECT} (demo)", "projectName": PROJECT, "cronConfig": "manual", "enable": True,
        "timeAfter": sims["start"].isoformat() + "Z",
        "connections": [
            {"pluginName": "pagerduty", "connectionId": pd["id"], "scopes": [{"scopeId": s["id"]} for s in services]},
            {"pluginName": "datadog", "connectionId": dd["id"], "scopes": [{"scopeId": "production"}]},
        ],
    })  # fmt: skip
    console.print(f"  project {PROJECT!r} (72 h linking window) and blueprint {blueprint['id']}")
    return int(blueprint["id"])


def _run(client: Any, blueprint_id: int) -> dict[str, Any]:
    """Trigger the blueprint and draw one bar per task until the pipeline finishes."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    pipeline = _call(client, "POST", f"/blueprints/{blueprint_id}/trigger", {})
    bars: dict[int, Any] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn(), TextColumn("{task.fields[detail]}"))  # fmt: skip
    with Progress(*columns, console=console) as progress:
        while True:
            for task in _call(client, "GET", f"/pipelines/{pipeline['id']}/tasks")["tasks"]:
                options = task["options"] or {}
                label = f"{task['plugin']} {options.get('scopeId') or options.get('projectName') or ''}"
                if task["id"] not in bars:
                    bars[task["id"]] = progress.add_task(label, total=1.0, detail="waiting")
                detail = task["progressDetail"] or {}
                text = f"{detail.get('subTaskName') or ''} · {detail.get('records', 0)} records"
                if task["status"] in FINISHED:
                    text = task["status"].removeprefix("TASK_").lower() + " · " + text
                progress.update(bars[task["id"]], completed=task["progress"] or 0.0, detail=text)
            pipeline = _call(client, "GET", f"/pipelines/{pipeline['id']}")
            if pipeline["status"] in FINISHED:
                break
            time.sleep(0.3)
    return dict(pipeline)


@app.command()
@friendly
def demo(
    port: int = typer.Option(8080, help="API port on 127.0.0.1 (0: any free port)"),
    incidents: int = typer.Option(600, min=10, max=200_000, help="PagerDuty incidents to simulate"),
    days: int = typer.Option(180, min=7, max=730, help="How far back the simulated data goes"),
    db_url: str | None = typer.Option(None, "--db-url", help="Database (default: a fresh SQLite file)"),
) -> None:
    """Simulators, a project and its DORA metrics in one command; serves until Ctrl-C."""
    import httpx

    from core.config import Settings
    from core.context import AppContext
    from core.dora.render import report_tables
    from core.logs import setup_logging
    from core.migrate import upgrade

    workdir = Path(tempfile.mkdtemp(prefix="incidentlake-demo-"))
    url = db_url or f"sqlite:///{workdir / 'demo.db'}"
    setup_logging("ERROR")
    upgrade(url)
    settings = Settings(db_url=url, encryption_secret="incidentlake-demo-only", api_key=None)
    ctx = AppContext.build(settings)
    console.print(f"database: {url}")
    with _simulators(incidents, days) as sims:
        console.print(f"PagerDuty simulator: {sims['pagerduty']}   Datadog simulator: {sims['datadog']}")
        with _serve(ctx, "127.0.0.1", port) as base, httpx.Client(base_url=base, timeout=120) as client:
            console.print(f"incidentlake API: {base} (OpenAPI at {base}/docs)\n")
            blueprint_id = _set_up(client, sims)
            pipeline = _run(client, blueprint_id)
            line = f"pipeline {pipeline['id']}: {pipeline['status']} in {pipeline['spentSeconds'] or 0:.1f} s"
            if pipeline["status"] != "TASK_COMPLETED":
                raise CliError(f"{line}: {pipeline['message']}")
            console.print(line + "\n")
            console.print(report_tables(_call(client, "GET", f"/projects/{PROJECT}/dora")))
            console.print(
                f"\n[bold]Dashboard:[/bold] {base}/dashboard?project={PROJECT}\n"
                f"Grafana: config/grafana (MySQL data source). Try: "
                f"curl '{base}/projects/{PROJECT}/dora?report=2021&aggregate=p90'\n"
                "Serving until Ctrl-C."
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopping")
    ctx.close()
