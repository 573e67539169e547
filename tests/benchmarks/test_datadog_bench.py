"""Datadog end to end against the simulator in its own process: figures, not assertions.

    python -m tests.benchmarks.test_datadog_bench --failures 100000 [--db-url URL]

runs one collection (collect + extract + convert of every failure of one scope) in this process
and prints one JSON line; the pytest functions run it in a fresh process per size so each peak
RSS is that run's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.testing.simserver import start_simulator_process

pytestmark = pytest.mark.benchmark


def _run(failures: int, db_url: str | None = None) -> dict[str, object]:
    cmd = [sys.executable, "-m", "tests.benchmarks.test_datadog_bench", "--failures", str(failures)]
    if db_url:
        cmd += ["--db-url", db_url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True, env={**os.environ})
    figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _print(r: dict[str, object]) -> None:
    print(
        f"\ndatadog {r['failures']:>7} failures on {r['db']}: end-to-end {r['end_to_end_s']} s "
        f"(collect {r['collect_s']} s), {r['requests']} requests, {r['issues']} issues, "
        f"peak RSS {r['peak_rss_mb']} MB"
    )


def test_datadog_100k_failures_end_to_end() -> None:
    rows = [_run(n) for n in (25_000, 100_000)]
    for r in rows:
        _print(r)
        assert r["issues"] == r["failures"]
    print(f"peak RSS 25k -> 100k: {rows[0]['peak_rss_mb']} -> {rows[1]['peak_rss_mb']} MB")


def test_datadog_100k_failures_on_mariadb() -> None:
    from tests.support.databases import mysql_available, throwaway_mysql

    if reason := mysql_available():
        pytest.skip(f"MariaDB unavailable: {reason}")
    with throwaway_mysql("il_ddbench") as url:
        r = _run(100_000, url)
    _print(r)
    assert r["issues"] == r["failures"]


# -- one run, in its own process ---------------------------------------------------------------------


def _start_simulator(failures: int, workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    args = [
        "--port", "0", "--failures", str(failures), "--deployments", "0", "--monitors", "0",
        "--start", (now - timedelta(days=365)).isoformat(), "--end", (now - timedelta(minutes=1)).isoformat(),
        "--latency-ms", "2",
    ]  # fmt: skip
    return start_simulator_process(
        "datadog", args, workdir / "sim.json", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def main() -> None:
    from core.config import Settings
    from core.context import AppContext
    from core.migrate import upgrade
    from core.pipeline.task import execute_task

    p = argparse.ArgumentParser()
    p.add_argument("--failures", type=int, default=100_000)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db_url = args.db_url or f"sqlite:///{work / 'bench.db'}"
        upgrade(db_url)
        proc, sim = _start_simulator(args.failures, work)
        try:
            ctx = AppContext.build(Settings(db_url=db_url, encryption_secret="bench-secret"))
            body = {"name": "bench", "endpoint": sim["url"], "apiKey": sim["apiKey"], "appKey": sim["appKey"]}
            cid = ctx.connections.create("datadog", {**body, "rateLimitPerHour": 10_000_000}).id
            ctx.scopes.put("datadog", cid, {"data": [{"id": "all", "name": "all", "kinds": ["failures"]}]})
            httpx.post(f"{sim['url']}/_sim/stats")
            options = {"connectionId": cid, "scopeId": "all"}
            started = time.perf_counter()
            execute_task(ctx, "datadog", options, subtasks=["collectFailures"])
            collect_s = time.perf_counter() - started
            execute_task(ctx, "datadog", options, subtasks=["extractFailures", "convertScope", "convertFailures"])
            end_to_end = time.perf_counter() - started
            stats = httpx.get(f"{sim['url']}/_sim/stats").json()
            with ctx.db.engine.connect() as conn:
                issues = conn.exec_driver_sql("SELECT COUNT(*) FROM issues").scalar()
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            figures = {
                "failures": args.failures,
                "issues": issues,
                "db": ctx.db.dialect,
                "end_to_end_s": round(end_to_end, 2),
                "collect_s": round(collect_s, 2),
                "requests": stats["requests"],
                "peak_rss_mb": round(peak_rss_mb, 1),
            }
            print(json.dumps(figures), flush=True)
            ctx.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("INCIDENTLAKE_LOG_LEVEL", "WARNING")
    main()
