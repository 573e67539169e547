"""`incidentlake trigger` and `incidentlake apply` as a user runs them (subprocesses)."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from pathlib import Path

from sqlalchemy import select

from core.context import AppContext
from core.models import Blueprint, Pipeline, Project, Scope
from core.pipeline.runtime import PipelineRuntime
from tests.integration.pipeline import fakes
from tests.integration.pipeline.conftest import FAST, make_connection, wait_for
from tests.integration.pipeline.serve_proc import cli, cli_env


def run(args: list[str], db_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(args), cwd=cwd, env=cli_env(db_url, **env), capture_output=True, text=True, timeout=180
    )


def _blueprint(ctx: AppContext, name: str, **scope: object) -> Blueprint:
    conn = make_connection(ctx, name=f"c-{name}", scopes=[{"id": "S", **scope}])
    return ctx.blueprints.create(
        {
            "name": name,
            "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "S"}]}],
        }
    )


def _pipelines(ctx: AppContext) -> list[Pipeline]:
    with ctx.db.session() as s:
        return list(s.scalars(select(Pipeline).order_by(Pipeline.id)))


def test_trigger_runs_in_the_foreground(pctx: AppContext, tmp_path: Path) -> None:
    bp = _blueprint(pctx, "nightly", batches=3, batchSize=2)
    result = run(["trigger", "nightly"], pctx.db.url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "TASK_COMPLETED" in result.stdout and "1/1 tasks" in result.stdout
    assert "pipefake S" in result.stdout  # the task's progress bar
    (p,) = _pipelines(pctx)
    assert p.status == "TASK_COMPLETED" and p.trigger == "cli" and p.blueprint_id == bp.id

    result = run(["trigger", str(bp.id), "--full-sync", "--skip-collectors"], pctx.db.url, tmp_path)
    assert result.returncode == 0, result.stderr
    last = _pipelines(pctx)[-1]
    assert last.full_sync and last.skip_collectors and last.status == "TASK_COMPLETED"


def test_trigger_failure_and_unknown_blueprint_exit_non_zero(pctx: AppContext, tmp_path: Path) -> None:
    _blueprint(pctx, "broken", failIn="extractThings")
    result = run(["trigger", "broken"], pctx.db.url, tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "TASK_FAILED" in lines[0] and "extractThings" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    result = run(["trigger", "nope"], pctx.db.url, tmp_path)
    assert result.returncode == 1 and "no blueprint named" in result.stderr


def test_trigger_is_refused_while_the_blueprint_runs(pctx: AppContext, tmp_path: Path) -> None:
    bp = _blueprint(pctx, "busy", batches=600, sleep=0.1)
    rt = PipelineRuntime(pctx, scheduler=False, **FAST).start()
    try:
        running = pctx.blueprints.trigger(bp.id)
        result = run(["trigger", "busy"], pctx.db.url, tmp_path)
        assert result.returncode == 1 and "already running" in result.stderr, result.stderr
        pctx.pipelines.cancel(running.id)
        wait_for(lambda: pctx.pipelines.get(running.id).status == "TASK_CANCELLED")
    finally:
        rt.stop()


def test_ctrl_c_cancels_the_run(pctx: AppContext, tmp_path: Path) -> None:
    _blueprint(pctx, "slow", batches=100, sleep=0.1)
    proc = subprocess.Popen(
        cli(["trigger", "slow"]),
        cwd=tmp_path,
        env=cli_env(pctx.db.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: any(p.status == "TASK_RUNNING" for p in _pipelines(pctx)), timeout=60)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    (p,) = _pipelines(pctx)
    assert p.status == "TASK_CANCELLED"


APPLY = """
connections:
  - plugin: pipefake
    name: main
    token: ${PF_TOKEN}
    scopes:
      - id: A
        name: service a
      - B
projects:
  - name: shop
    description: the shop
    linkingWindowHours: 24
blueprints:
  - name: shop-nightly
    projectName: shop
    cronConfig: "0 3 * * *"
    labels: [shop]
    connections:
      - plugin: pipefake
        connection: main
        scopes: [A, B]
"""


def test_apply_is_idempotent_and_reports_changes(pctx: AppContext, tmp_path: Path) -> None:
    config = tmp_path / "incidentlake.yaml"
    config.write_text(textwrap.dedent(APPLY))
    first = run(["apply", str(config)], pctx.db.url, tmp_path, PF_TOKEN=fakes.TOKEN)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "+ create connection pipefake/main",
        "+ create scope pipefake/main/A",
        "+ create scope pipefake/main/B",
        "+ create project shop",
        "+ create blueprint shop-nightly",
        "5 change(s)",
    ]
    second = run(["apply", str(config)], pctx.db.url, tmp_path, PF_TOKEN=fakes.TOKEN)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "no changes"

    record = pctx.connections.list("pipefake")[0]
    assert record.model.token.get_secret_value() == fakes.TOKEN  # type: ignore[attr-defined]
    with pctx.db.session() as s:
        assert {r.scope_id for r in s.scalars(select(Scope))} == {"A", "B"}
        assert s.get(Project, "shop") is not None
        bp = s.scalar(select(Blueprint))
        assert bp is not None and bp.cron_config == "0 3 * * *" and bp.project_name == "shop"
        assert bp.connections == [
            {
                "pluginName": "pipefake",
                "connectionId": record.id,
                "scopes": [{"scopeId": "A"}, {"scopeId": "B"}],
            }
        ]

    changed = APPLY.replace('"0 3 * * *"', '"0 4 * * *"').replace("name: service a", "name: service A")
    config.write_text(textwrap.dedent(changed).replace("linkingWindowHours: 24", "linkingWindowHours: 48"))
    third = run(["apply", str(config)], pctx.db.url, tmp_path, PF_TOKEN="rotated-token-value")
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines() == [
        "~ update connection pipefake/main (token)",
        "~ update scope pipefake/main/A (name)",
        "~ update project shop (linkingWindowHours)",
        "~ update blueprint shop-nightly (cronConfig)",
        "4 change(s)",
    ]
    assert "rotated-token-value" not in third.stdout
    again = run(["apply", str(config)], pctx.db.url, tmp_path, PF_TOKEN="rotated-token-value")
    assert again.stdout.strip() == "no changes", again.stdout


def test_apply_errors_name_the_problem(pctx: AppContext, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(APPLY))
    result = run(["apply", str(config)], pctx.db.url, tmp_path)
    assert result.returncode == 1 and "PF_TOKEN is not set" in result.stderr
    assert "connections.0.token" in result.stderr

    config.write_text(
        "blueprints:\n  - name: x\n    connections:\n      - plugin: pipefake\n        connection: ghost\n"
    )
    result = run(["apply", str(config)], pctx.db.url, tmp_path)
    assert result.returncode == 1 and "blueprints.0.connections.0.connection" in result.stderr

    config.write_text("connectons: []\n")
    result = run(["apply", str(config)], pctx.db.url, tmp_path)
    assert result.returncode == 1 and "connectons" in result.stderr
    result = run(["apply", str(tmp_path / "missing.yaml")], pctx.db.url, tmp_path)
    assert result.returncode == 1 and "cannot read" in result.stderr
