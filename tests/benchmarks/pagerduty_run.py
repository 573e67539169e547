"""The PagerDuty benchmark in its own process (so peak RSS is its runs' alone).

    python -m tests.benchmarks.pagerduty_run --incidents 100000 --services 10 --latency-ms 2 --repeat 3

Starts the simulator in a separate process, collects every service end to end (collect +
extract + convert) into a fresh database, then replays exactly the same page requests with a
bare concurrent httpx fetch (the floor) and prints one JSON line of figures. With `--repeat N`
it does that N times, each run in a fresh SQLite file and followed by its own floor, and
prints medians (the ratio: the median of the runs' ratios) and every run's pair.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import httpx

from core.config import Settings
from core.context import AppContext
from core.http.pages import decode_record_page
from core.migrate import upgrade
from core.pipeline.task import execute_task
from core.testing.simserver import start_simulator_process
from plugins.pagerduty import api


def start_simulator(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    heavy = 30.0
    light = (100.0 - heavy) / max(1, args.services - 1)
    weights = ",".join([str(heavy)] + [f"{light:.4f}"] * (args.services - 1))
    now = datetime.now(UTC).replace(microsecond=0)
    sim_args = [
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
        "--cache-limit",
        str(args.incidents + 1000),
        "--warm",
    ]
    proc, info = start_simulator_process(
        "pagerduty", sim_args, workdir / "sim.json", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, info["url"]


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


def incident_pages(url: str) -> list[dict[str, Any]]:
    """The incident pages the simulator answered since its counters were reset (for the floor)."""
    log = httpx.get(f"{url}/_sim/requests").json()["requests"]
    return [r for r in log if r["path"].startswith("/incidents") and r.get("status") == 200]


def bench_context(db_url: str, url: str) -> tuple[AppContext, int, list[str]]:
    """A migrated, empty database with a connection to the simulator: (context, connection id,
    the account's services); the simulator's request counters start from zero."""
    upgrade(db_url)
    ctx = AppContext.build(Settings(db_url=db_url, encryption_secret="bench-secret"))
    try:
        cid = ctx.connections.create(
            "pagerduty",
            {"name": "bench", "endpoint": url, "token": "sim-token", "rateLimitPerHour": 10_000_000},
        ).id
        with api.make_client(cid, ctx.connections.model("pagerduty", cid)) as client:
            services = [s["id"] for s in api.all_services(client)]
        httpx.post(f"{url}/_sim/reset-stats")
    except BaseException:
        ctx.close()
        raise
    return ctx, cid, services


def end_to_end(args: argparse.Namespace, db_url: str, url: str, sim_pid: int) -> dict[str, Any]:
    """Collect every service into `db_url` (migrated, empty); the run's figures and the pages
    it fetched (for the floor)."""
    ctx, cid, services = bench_context(db_url, url)
    try:
        # CPU seconds beside the wall clock: on a small machine both runs are bound by the CPU
        # they need (ours: every thread of this process; the simulator's apart)
        cpu = cpu_since(sim_pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.task_workers) as pool:
            list(
                pool.map(
                    lambda sid: execute_task(ctx, "pagerduty", {"connectionId": cid, "scopeId": sid}),
                    services,
                )
            )
        seconds = time.perf_counter() - started
        ours, simulator = cpu()
        with ctx.db.engine.connect() as conn:
            issues = conn.exec_driver_sql("SELECT COUNT(*) FROM issues").scalar()
        return {
            "seconds": seconds,
            "cpu": ours,
            "simulator_cpu": simulator,
            "requests": httpx.get(f"{url}/_sim/stats").json()["requests"],
            "pages": incident_pages(url),
            "issues": issues,
            "services": len(services),
            "db": ctx.db.dialect,
        }
    finally:
        ctx.close()


PHASES = {  # the subtasks of each phase, run for every service before the next phase starts
    "collect": ["collectServices", "collectIncidents"],
    "extract": ["extractServices", "extractIncidents"],
    "convert": ["convertServices", "convertIncidents"],
}


def phases_apart(db_url: str, url: str, sim_pid: int) -> dict[str, Any]:
    """Collect, then extract, then convert, each over every service with nothing beside it (no
    follower): what each phase costs alone, in wall-clock and CPU seconds, then the floor.

    From these, `cpu_bound_ratio`: the ratio the run could reach if all of its CPU work (ours
    and the simulator's, phases alone) were spread perfectly over this machine's cores — a
    lower bound for any way of overlapping the same work here."""
    ctx, cid, services = bench_context(db_url, url)
    try:
        figures: dict[str, Any] = {}
        for phase, subtasks in PHASES.items():
            cpu = cpu_since(sim_pid)
            started = time.perf_counter()
            for sid in services:
                execute_task(ctx, "pagerduty", {"connectionId": cid, "scopeId": sid}, subtasks=subtasks)
            ours, simulator = cpu()
            figures[phase] = {
                "s": round(time.perf_counter() - started, 2),
                "cpu_s": ours,
                "simulator_cpu_s": simulator,
            }
        pages = incident_pages(url)
        cpu = cpu_since(sim_pid)
        floor = floor_fetch(url, pages, 8)
        ours, simulator = cpu()
        figures["floor"] = {"s": round(floor, 2), "cpu_s": ours, "simulator_cpu_s": simulator}
    finally:
        ctx.close()
    work = sum(figures[p]["cpu_s"] + (figures[p]["simulator_cpu_s"] or 0) for p in PHASES)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    figures["cores"] = cores
    figures["cpu_bound_ratio"] = round(max(floor, work / cores) / floor, 2)
    return figures


def _median_or_none(values: Iterable[float | None]) -> float | None:
    """The median CPU reading, None where /proc gave none."""
    known = list(values)
    return None if any(v is None for v in known) else round(median(known), 2)  # type: ignore[type-var]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--incidents", type=int, default=100_000)
    p.add_argument("--services", type=int, default=10)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file per run")
    p.add_argument("--task-workers", type=int, default=1, help="service tasks run at once")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="end-to-end runs, each followed by its floor; figures are medians (SQLite only)",
    )
    p.add_argument(
        "--phases",
        action="store_true",
        help="also run collect, extract and convert apart in a fresh SQLite file and print each one's figures",
    )
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.db_url and args.repeat > 1:
        p.error("--repeat needs a fresh SQLite file per run: leave out --db-url")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, url = start_simulator(args, work)
        try:
            runs = []
            for n in range(args.repeat):
                # a machine shared with others drifts: each run is paired with a floor taken
                # right after it, and the ratio is the median of the pairs' ratios
                file = work / f"bench-{n}.db"
                run = end_to_end(args, args.db_url or f"sqlite:///{file}", url, proc.pid)
                floor_cpu = cpu_since(proc.pid)
                run["floor"] = floor_fetch(url, run["pages"], 8)
                run["floor_cpu"], run["floor_simulator_cpu"] = floor_cpu()
                runs.append(run)
                for path in work.glob(f"{file.name}*"):  # the next run's disk (or tmpfs memory)
                    path.unlink()
            # over every run and floor (a floor holds one page per thread at a time)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            last = runs[-1]
            figures = {
                "incidents": args.incidents,
                "issues": min(r["issues"] for r in runs),  # every run must store them all
                "services": last["services"],
                "db": last["db"],
                "end_to_end_s": round(median(r["seconds"] for r in runs), 2),
                "requests": last["requests"],
                "floor_pages": len(last["pages"]),
                "floor_s": round(median(r["floor"] for r in runs), 2),
                "ratio": round(median(r["seconds"] / r["floor"] for r in runs), 2),
                "peak_rss_mb": round(peak_rss_mb, 1),
                "end_to_end_cpu_s": round(median(r["cpu"] for r in runs), 2),
                "floor_cpu_s": round(median(r["floor_cpu"] for r in runs), 2),
                "simulator_cpu_s": {
                    "end_to_end": _median_or_none(r["simulator_cpu"] for r in runs),
                    "floor": _median_or_none(r["floor_simulator_cpu"] for r in runs),
                },
            }
            if args.repeat > 1:
                figures["runs"] = [
                    {
                        "end_to_end_s": round(r["seconds"], 2),
                        "floor_s": round(r["floor"], 2),
                        "issues": r["issues"],
                        "requests": r["requests"],
                    }
                    for r in runs
                ]
            if args.phases:
                figures["phases"] = phases_apart(f"sqlite:///{work / 'phases.db'}", url, proc.pid)
            print(json.dumps(figures), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("INCIDENTLAKE_LOG_LEVEL", "WARNING")
    main()
