"""`incidentlake metrics` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from core.db import Database
from core.migrate import upgrade
from core.services.projects import ProjectService
from tests.integration.dora.seed import Seed

# the installed entry point, and the module run as a script: both know the same commands
CLI = [str(Path(sys.executable).with_name("incidentlake"))]
MODULE = [sys.executable, "-m", "core.cli"]


def _run(args: list[str], tmp_path: Path, url: str, cli: list[str] = CLI) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INCIDENTLAKE_DB_URL": url,
        "INCIDENTLAKE_ENCRYPTION_SECRET": "cli-test",
        "COLUMNS": "160",
    }
    return subprocess.run(cli + args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_metrics_prints_the_table_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    db = Database(url)
    s = Seed()
    b, c = s.board("b"), s.scope("c")
    s.deployment("d1", c, datetime(2024, 1, 2, 10))
    s.deployment("d2", c, datetime(2024, 1, 3, 10))
    s.incident("i1", b, datetime(2024, 1, 2, 12), datetime(2024, 1, 2, 14))
    s.write(db)
    ProjectService(db).create(
        {
            "name": "shop",
            "scopes": [{"table": "boards", "rowId": "b"}, {"table": "cicd_scopes", "rowId": "c"}],
        }
    )
    db.dispose()

    window = ["--from", "2024-01-01", "--to", "2024-02-01"]
    table = _run(["metrics", "shop", *window, "--refresh"], tmp_path, url)
    assert table.returncode == 0, table.stderr
    assert "1 incidents" in table.stdout and "1 linked" not in table.stderr
    assert "Change failure rate" in table.stdout and "50.0%" in table.stdout
    assert "1 of 2 deployments" in table.stdout
    assert "Failed deployment recovery time" in table.stdout and "4.0 h" in table.stdout

    raw = _run(["metrics", "shop", *window, "--report", "2021", "--json"], tmp_path, url)
    body = json.loads(raw.stdout)
    assert body["timeToRestore"]["minutes"] == 120 and body["report"] == "2021"

    missing = _run(["metrics", "nope"], tmp_path, url)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["error: project 'nope' not found"]
    bad = _run(["metrics", "shop", "--report", "1999"], tmp_path, url)
    assert bad.returncode == 1 and "report" in bad.stderr


def test_python_m_core_cli_knows_the_same_commands(tmp_path: Path) -> None:
    """`python -m core.cli metrics` used to answer "No such command"."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    entry = _run(["--help"], tmp_path, url)
    module = _run(["--help"], tmp_path, url, MODULE)
    assert module.returncode == 0, module.stderr
    for command in ("metrics", "demo", "apply", "trigger", "serve", "migrate"):
        assert command in entry.stdout
        assert command in module.stdout, module.stdout
    missing = _run(["metrics", "nope"], tmp_path, url, MODULE)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["error: project 'nope' not found"]
