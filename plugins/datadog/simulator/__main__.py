"""Run the simulator in the foreground: ``python -m plugins.datadog.simulator --port 8901 --failures 1000``.

For benchmarks that want the server in its own process (no GIL shared with the collector) and for
demos. Prints the URL and keys; ``--ready-file`` also writes them as JSON once the port is bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from core.testing.simserver import fault_knobs, serve_in_foreground, simulator_parser, stop_on_sigterm

from .data import generate
from .server import DatadogSimulator, SimConfig


def _parser() -> argparse.ArgumentParser:
    p = simulator_parser("datadog", __doc__, port=8901)
    p.add_argument("--failures", type=int, default=1000)
    p.add_argument("--deployments", type=int, default=2000)
    p.add_argument("--monitors", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default="2025-01-01T00:00:00", help="first possible started_at (UTC)")
    p.add_argument("--end", default=None, help="last possible started_at (UTC; default: now)")
    p.add_argument("--api-key", default=SimConfig.api_key)
    p.add_argument("--app-key", default=SimConfig.app_key)
    p.add_argument("--html-429-fraction", type=float, default=0.0)
    p.add_argument("--rate-limit-per-period", type=int, default=None, help="enforce a real budget")
    p.add_argument("--ready-file", type=Path, default=None, help="write {url, apiKey, appKey, pid} here")
    return p


def main(argv: list[str] | None = None) -> int:
    """Generate, serve until SIGINT/SIGTERM, exit 0."""
    args = _parser().parse_args(argv)
    end = datetime.fromisoformat(args.end) if args.end else datetime.utcnow().replace(microsecond=0)
    t0 = time.perf_counter()
    store = generate(
        args.failures, args.deployments, start=datetime.fromisoformat(args.start), end=end,
        seed=args.seed, monitors=args.monitors,
    )  # fmt: skip
    config = SimConfig(
        **fault_knobs(args),
        api_key=args.api_key,
        app_key=args.app_key,
        html_429_fraction=args.html_429_fraction,
        rate_limit_per_period=args.rate_limit_per_period,
    )
    sim = DatadogSimulator(store, config, host=args.host, port=args.port)
    url = sim.start()
    stop_on_sigterm()  # after binding: SIGTERM then stops the server like Ctrl-C
    print(f"Datadog simulator listening on {url} (generated in {time.perf_counter() - t0:.2f}s)", flush=True)
    print(f"DD-API-KEY: {config.api_key}  DD-APPLICATION-KEY: {config.app_key}", flush=True)
    print(
        f"{len(store.failures)} failures, {len(store.deployments)} deployments, "
        f"{len(store.events)} monitor events; control plane: {url}/_sim/info",
        flush=True,
    )
    info = {"url": url, "apiKey": config.api_key, "appKey": config.app_key}
    return serve_in_foreground(sim, args.ready_file, info)


if __name__ == "__main__":
    sys.exit(main())
