"""Run the simulator in the foreground: ``python -m plugins.pagerduty.simulator --port 8900 --incidents 1000``.

Used by benchmarks that want the server in a separate process (no GIL sharing with the collector) and for
demos. Prints the URL and token; ``--ready-file`` also writes them as JSON once the port is bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.testing.simserver import fault_knobs, serve_in_foreground, simulator_parser, stop_on_sigterm

from .data import DEFAULT_CACHE_LIMIT, generate
from .server import PagerDutySimulator, SimConfig


def _parser() -> argparse.ArgumentParser:
    p = simulator_parser("pagerduty", __doc__, port=8900)
    p.add_argument("--incidents", type=int, default=1000)
    p.add_argument("--services", type=int, default=5)
    p.add_argument("--weights", default=None, help="comma-separated share per service, e.g. 30,10,10,10")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default="2024-01-01T00:00:00Z", help="first possible created_at (ISO 8601)")
    p.add_argument("--end", default="2025-01-01T00:00:00Z", help="'now' of the generated data (ISO 8601)")
    p.add_argument("--live-clock", action="store_true", help="use the wall clock instead of --end as 'now'")
    p.add_argument("--token", default="sim-token")
    p.add_argument(
        "--no-ratelimit-headers", action="store_true", help="send 429s without ratelimit-* headers"
    )
    p.add_argument("--rate-limit-per-minute", type=int, default=None, help="enforce a real per-minute budget")
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--cache-limit", type=int, default=DEFAULT_CACHE_LIMIT, help="serialized incidents kept")
    p.add_argument(
        "--warm",
        action="store_true",
        help="render every incident before listening: the first pass is served as fast as later ones",
    )
    p.add_argument(
        "--ready-file", type=Path, default=None, help="write {url, token, pid} here when listening"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Generate, serve until SIGINT/SIGTERM, exit 0."""
    args = _parser().parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    if weights is not None and len(weights) != args.services:
        print("--weights needs one value per service", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    store = generate(
        args.incidents,
        args.services,
        args.start,
        args.end,
        args.seed,
        weights=weights,
        freeze_clock=not args.live_clock,
        cache_limit=args.cache_limit,
    )
    if args.warm:
        store.warm_cache()
    gen_s = time.perf_counter() - t0
    config = SimConfig(
        **fault_knobs(args),
        token=args.token,
        rate_limit_headers=not args.no_ratelimit_headers,
        rate_limit_per_minute=args.rate_limit_per_minute,
        drop_rate=args.drop_rate,
        seed=args.fault_seed,
    )
    sim = PagerDutySimulator(store, config, host=args.host, port=args.port)
    url = sim.start()
    stop_on_sigterm()  # after binding: SIGTERM then stops the server like Ctrl-C
    print(f"PagerDuty simulator listening on {url}", flush=True)
    print(f"token: {config.token}  (Authorization: Token token={config.token})", flush=True)
    print(f"generated {len(store)} incidents in {gen_s:.2f}s; services:", flush=True)
    for svc in store.find_services():
        print(f"  {svc.id}  {svc.name:<24} {store.count(svc.id):>8} incidents", flush=True)
    print(f"control plane: {url}/_sim/info  {url}/_sim/stats  {url}/_sim/faults", flush=True)
    return serve_in_foreground(sim, args.ready_file, {"url": url, "token": config.token})


if __name__ == "__main__":
    sys.exit(main())
