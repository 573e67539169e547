"""PagerDuty end to end against the simulator in its own process: figures, not assertions.

Each size runs in a fresh process so its peak RSS is its own (the peak over its three runs and
their floors); RSS should stay flat as the number of incidents grows (everything is streamed
in batches). `issues` is the fewest any run stored: every run must store every incident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.benchmark


def _run(
    incidents: int, db_url: str | None = None, *, repeat: int = 1, phases: bool = False
) -> dict[str, object]:
    cmd = [
        sys.executable,
        "-m",
        "tests.benchmarks.pagerduty_run",
        "--incidents",
        str(incidents),
        "--latency-ms",
        "2",
        "--repeat",
        str(repeat),
    ]
    if db_url:
        cmd += ["--db-url", db_url]
    if phases:
        cmd += ["--phases"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True, env={**os.environ})
    figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def test_pagerduty_100k_incidents_end_to_end() -> None:
    # three runs of each size, each paired with its floor (medians: a shared machine drifts);
    # peak RSS over the three
    rows = [_run(n, repeat=3, phases=n == 100_000) for n in (25_000, 100_000)]
    print()
    for r in rows:
        print(
            f"pagerduty {r['incidents']:>7} incidents on {r['db']}: end-to-end {r['end_to_end_s']} s, "
            f"{r['requests']} requests, floor (bare concurrent fetch of the same {r['floor_pages']} pages) "
            f"{r['floor_s']} s, ratio {r['ratio']}x, peak RSS {r['peak_rss_mb']} MB; CPU seconds: "
            f"end-to-end {r['end_to_end_cpu_s']}, floor {r['floor_cpu_s']}, simulator {r['simulator_cpu_s']}"
            + (f"; runs {r['runs']}" if "runs" in r else "")
        )
        assert r["issues"] == r["incidents"]
    print(f"peak RSS growth 25k -> 100k: {rows[1]['peak_rss_mb']} / {rows[0]['peak_rss_mb']} MB")
    # each phase alone (no follower), and the ratio this machine's cores allow at best for that work
    print(f"pagerduty 100000 incidents, phases apart: {rows[1]['phases']}")


def test_pagerduty_100k_on_mariadb() -> None:
    from tests.support.databases import mysql_available, throwaway_mysql

    if reason := mysql_available():
        pytest.skip(f"MariaDB unavailable: {reason}")
    with throwaway_mysql("il_bench") as url:
        r = _run(100_000, url)
    print(
        f"\npagerduty 100000 incidents on mariadb: end-to-end {r['end_to_end_s']} s, {r['requests']} requests, "
        f"floor {r['floor_s']} s, ratio {r['ratio']}x, peak RSS {r['peak_rss_mb']} MB"
    )
    assert r["issues"] == r["incidents"]
