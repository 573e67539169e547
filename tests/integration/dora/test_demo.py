"""`incidentlake demo` end to end: simulators, setup over the API, pipeline, DORA table, serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.registry import PluginRegistry

CLI = str(Path(sys.executable).with_name("incidentlake"))


@pytest.mark.skipif(
    not {"pagerduty", "datadog"} <= set(PluginRegistry.discover().names()),
    reason="the demo needs the PagerDuty and Datadog plugins",
)
def test_demo_runs_and_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "160", "INCIDENTLAKE_API_KEY": ""}
    proc = subprocess.Popen(
        [CLI, "demo", "--port", "0", "--incidents", "60", "--days", "60"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Serving until Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Serving until Ctrl-C" in out, out
        assert "TASK_COMPLETED" in out and "Change failure rate" in out
        dashboard = next(w for w in out.split() if "/dashboard?project=demo-shop" in w)
        page = httpx.get(dashboard, timeout=10)
        assert page.status_code == 200 and "incidentlake" in page.text
        base = dashboard.split("/dashboard")[0]
        body = httpx.get(f"{base}/projects/demo-shop/dora", timeout=30).json()
        assert body["deploymentFrequency"]["deployments"] > 0
        assert body["timeToRestore"]["incidents"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
