"""One PagerDuty benchmark run in its own process (so peak RSS is this run's alone).

    python -m tests.benchmarks.pagerduty_run --incidents 100000 --services 10 --latency-ms 2

Starts the simulator in a separate process, collects every service end to end (collect +
extract + convert) into a fresh database, then replays exactly the same page requests with a
bare concurrent httpx fetch (the floor) and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from core.config import Settings
from core.context import AppContext
from core.http.pages import decode_record_page
from core.migrate import upgrade
from core.pipeline.task import execute_task
from plugins.pagerduty import api


def start_simulator(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = workdir / "sim.json"
    heavy = 30.0
    light = (100.0 - heavy) / max(1, args.services - 1)
    weights = ",".join([str(heavy)] + [f"{light:.4f}"] * (args.services - 1))
    now = datetime.now(UTC).replace(microsecond=0)
    cmd = [
        sys.executable,
        "-m",
        "plugins.pagerduty.simulator",
        "--port",
        "0",
        "--incidents",
        str(args.incidents),
        "--services",
        str(args.services),
        "--weights",
        weights,
        "--latency-ms",
        str(args.latency_ms),
        "--start",
        (now - timedelta(days=730)).isoformat(),
        "--end",
        (now - timedelta(minutes=1)).isoformat(),
        "--live-clock",
        "--ready-file",
        str(ready),
        "--cache-limit",
        str(args.incidents + 1000),
        "--warm",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("simulator did not start")
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["url"]


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_since(pid: int) -> Callable[[], tuple[float, float | None]]:
    """From now: a reading of (this process's CPU seconds, process `pid`'s, None if unknown)."""
    theirs, ours = cpu_seconds(pid), time.process_time()

    def read() -> tuple[float, float | None]:
        now = cpu_seconds(pid)
        return round(time.process_time() - ours, 2), (
            None if theirs is None or now is None else round(now - theirs, 2)
        )

    return read


def floor_fetch(url: str, requests: list[dict[str, Any]], concurrency: int) -> float:
    """Fetch the same pages with plain httpx, decoded as the collector decodes them (each page
    checked to be JSON, its records cut out undecoded), `concurrency` at a time."""
    headers = {"Authorization": "Token token=sim-token", "Accept": api.ACCEPT}
    local = threading.local()

    def get(req: dict[str, Any]) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, headers=headers, timeout=60)
        target = req["path"] + (f"?{req['query']}" if req.get("query") else "")
        page = decode_record_page(client.get(target).content, "incidents")  # as the collector does
        return len(page.records)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(get, requests))
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--incidents", type=int, default=100_000)
    p.add_argument("--services", type=int, default=10)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    p.add_argument("--task-workers", type=int, default=1, help="service tasks run at once")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db_url = args.db_url or f"sqlite:///{work / 'bench.db'}"
        upgrade(db_url)
        proc, url = start_simulator(args, work)
        try:
            ctx = AppContext.build(Settings(db_url=db_url, encryption_secret="bench-secret"))
            cid = ctx.connections.create(
                "pagerduty",
                {"name": "bench", "endpoint": url, "token": "sim-token", "rateLimitPerHour": 10_000_000},
            ).id
            with api.make_client(cid, ctx.connections.model("pagerduty", cid)) as client:
                services = [s["id"] for s in api.all_services(client)]
            httpx.post(f"{url}/_sim/reset-stats")

            # CPU seconds beside the wall clock: on a small machine both runs are bound by the
            # CPU they need (ours: every thread of this process; the simulator's apart)
            e2e_cpu_since = cpu_since(proc.pid)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.task_workers) as pool:
                list(
                    pool.map(
                        lambda sid: execute_task(ctx, "pagerduty", {"connectionId": cid, "scopeId": sid}),
                        services,
                    )
                )
            end_to_end = time.perf_counter() - started
            e2e_cpu, e2e_sim_cpu = e2e_cpu_since()
            stats = httpx.get(f"{url}/_sim/stats").json()
            log = httpx.get(f"{url}/_sim/requests").json()["requests"]
            pages = [r for r in log if r["path"].startswith("/incidents") and r.get("status") == 200]
            with ctx.db.engine.connect() as conn:
                issues = conn.exec_driver_sql("SELECT COUNT(*) FROM issues").scalar()
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            floor_cpu_since = cpu_since(proc.pid)
            floor = floor_fetch(url, pages, 8)
            floor_cpu, floor_sim_cpu = floor_cpu_since()
            print(
                json.dumps(
                    {
                        "incidents": args.incidents,
                        "issues": issues,
                        "services": len(services),
                        "db": ctx.db.dialect,
                        "end_to_end_s": round(end_to_end, 2),
                        "requests": stats["requests"],
                        "floor_pages": len(pages),
                        "floor_s": round(floor, 2),
                        "ratio": round(end_to_end / floor, 2),
                        "peak_rss_mb": round(peak_rss_mb, 1),
                        "end_to_end_cpu_s": e2e_cpu,
                        "floor_cpu_s": floor_cpu,
                        "simulator_cpu_s": {"end_to_end": e2e_sim_cpu, "floor": floor_sim_cpu},
                    }
                ),
                flush=True,
            )
            ctx.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("INCIDENTLAKE_LOG_LEVEL", "WARNING")
    main()
