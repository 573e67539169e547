"""HTTP plumbing shared by the plugins' API simulators, so each plugin only writes its routes and data.

Built on ``http.server.ThreadingHTTPServer`` with a hand-written response writer: no framework overhead,
one thread per keep-alive connection, and full control over the socket so a "drop" fault really closes
it. A simulator subclasses ``ApiSimulator`` (over ``SimulatorBase``: lifecycle, connection tracking; plus
the store, config, stats and the fault draw) and implements ``handle``; its config and fault rules extend
``SimConfigBase`` and ``FaultRuleBase``; its handler subclasses ``SimHandler`` to name itself
(``server_version``) and its default content type. The CLI helpers give every
``python -m plugins.<name>.simulator`` the same common flags, ready-file and signal handling, and
``start_simulator_process`` runs one in a process of its own (benchmarks) and waits until it is ready.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

FAULTS = ("drop", "malformed", "429", "500", "502", "503", "504")
"""Every injectable fault: close the socket, truncate a 2xx body, or answer with that status."""

Headers = dict[str, str]
Reply = tuple[int, bytes, Headers]
Query = dict[str, list[str]]


# --------------------------------------------------------------------------------------------- faults


class FaultRates(Protocol):
    """The per-request probabilities ``draw_fault`` reads (a simulator's config dataclass has them)."""

    drop_rate: float
    error_rate_5xx: float
    rate_429: float
    malformed_rate: float


def draw_fault(rng: random.Random, rates: FaultRates) -> str | None:
    """One random fault (or None) for a request.

    The draw order is fixed and a zero rate draws nothing, so a seed replays the same fault sequence
    whatever the other knobs are. The caller holds the lock guarding ``rng``.
    """
    rnd = rng.random
    if rates.drop_rate > 0 and rnd() < rates.drop_rate:
        return "drop"
    if rates.error_rate_5xx > 0 and rnd() < rates.error_rate_5xx:
        return rng.choice(("500", "502", "503"))
    if rates.rate_429 > 0 and rnd() < rates.rate_429:
        return "429"
    if rates.malformed_rate > 0 and rnd() < rates.malformed_rate:
        return "malformed"
    return None


def malformed(content: bytes) -> bytes:
    """Corrupt a JSON body: any proper prefix of a JSON object or array is invalid JSON."""
    return content[: max(1, len(content) // 2)]


@dataclass
class FaultRuleBase(ABC):
    """A targeted fault; a plugin's rule adds which requests it hits (``take``) and how often."""

    fault: str

    def __post_init__(self) -> None:
        """Reject typos early: a silently inert rule makes a failure test pass for the wrong reason."""
        if self.fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {self.fault!r}")

    @abstractmethod
    def take(self, path: str, query: Query) -> bool:
        """Whether this request gets the fault, counting it if so (called under the simulator's lock)."""

    @classmethod
    def parse_all(cls, values: Iterable[Any]) -> list[Self]:
        """Rules from a /_sim/faults body: dicts become rules, rules are kept as they are."""
        return [r if isinstance(r, cls) else cls(**r) for r in values]


class SimConfigBase:
    """What every simulator's config dataclass has: the shared fault knobs and their checks and reset.

    The plugin's dataclass declares the fields itself (their order is its /_sim/faults JSON and its
    positional arguments); this base only names the ones the shared code reads, so it has no fields.
    """

    latency_ms: float
    error_rate_5xx: float
    rate_429: float
    malformed_rate: float
    drop_rate: float
    seed: int
    rules: list[Any]  # the plugin's FaultRuleBase subclass

    rule_class: ClassVar[type[FaultRuleBase]]  # the plugin's rule, for "rules" and "add_rules"
    rate_knobs: ClassVar[Collection[str]] = ()  # the plugin's probabilities, each within [0, 1]

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply a partial update (a /_sim/faults body), all or nothing: every value is checked before
        any is applied, so a bad one leaves the config as it was; "add_rules" appends to the rules."""
        self.check_keys(values, also=("add_rules",))
        staged = {key: self.parse_knob(key, value) for key, value in values.items()}
        for key, value in staged.items():
            if key == "add_rules":
                self.rules = [*self.rules, *value]
            else:
                setattr(self, key, value)

    def parse_knob(self, key: str, value: Any) -> Any:
        """One value of an update, checked and converted (ValueError/TypeError if it is bad): rules,
        probabilities and latency by name, every other field by its declared type (str, bool, int,
        int | None); a plugin with a knob of another type converts it and passes the rest here."""
        if key in ("rules", "add_rules"):
            return self.rule_class.parse_all(value)
        if key in self.rate_knobs:
            return rate_knob(key, value)
        if key == "latency_ms":
            return max(0.0, float(value))
        kind = _field_types(type(self)).get(key)
        if kind == "str":  # credentials
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be a boolean")
            return value
        if kind == "int":
            return int(value)
        if kind == "int | None":  # an enforced budget, None for none
            return None if value is None else int(value)
        # a field of another type would be stored as sent (text for a number): a plugin converts it
        raise ValueError(f"{key} cannot be set through /_sim/faults")

    def check_keys(self, values: Mapping[str, Any], also: Collection[str] = ()) -> None:
        """Reject unknown keys of an update: a misspelt knob silently ignored would fake a passing test."""
        unknown = set(values) - {f.name for f in fields(cast(Any, self))} - set(also)
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")

    def clear_faults(self) -> None:
        """Back to a healthy server: no latency, random faults or rules (a plugin also lifts its budget)."""
        self.latency_ms = self.error_rate_5xx = self.rate_429 = self.malformed_rate = self.drop_rate = 0.0
        self.rules = []


@functools.cache
def _field_types(config: type) -> dict[str, str]:
    """A config dataclass's fields and their declared types as written ("int | None")."""
    return {
        f.name: f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        for f in fields(config)
    }


def rate_knob(key: str, value: Any) -> float:
    """A probability from a config update, as a float within [0, 1]."""
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{key} must be within [0, 1]")
    return rate


class WindowCounter:
    """Requests counted per fixed time window and key, for simulated rate-limit budgets (a real 429)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window start, count)

    def hit(self, window: int, key: str = "") -> int:
        """Count one request in ``window`` (its start time) and return the count so far, this one included."""
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                count = 0
            count += 1
            self._windows[key] = (window, count)
        return count


# --------------------------------------------------------------------------------------------- stats


class RequestStats:
    """The counters every simulator's stats share, under one lock; subclasses add their own fields.

    Subclasses record while holding ``_lock`` (so their extra fields change atomically with these) and
    extend ``_snapshot``/``_reset``, which run under it too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()

    def _count(self, path_key: str, status: int | None) -> None:
        """Count one answered request, or a dropped one (status None, counted as "dropped")."""
        self.requests += 1
        self.by_path[path_key] += 1
        self.by_status["dropped" if status is None else str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy, JSON-ready (status keys are strings)."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_path": dict(self.by_path), "by_status": dict(self.by_status)}

    def reset(self) -> None:
        """Zero everything, e.g. between the warm-up and the measured part of a benchmark."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self.requests = 0
        self.by_path.clear()
        self.by_status.clear()


# --------------------------------------------------------------------------------------------- HTTP plumbing


class SimServer(ThreadingHTTPServer):
    """Tracks live connections so stop() can close idle keep-alive sockets instead of leaking threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: SimulatorBase, handler: type[SimHandler]) -> None:
        self.sim = sim
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_all_connections(self) -> None:
        """Shut down every open client socket; their handler threads then exit on EOF."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SimHandler(BaseHTTPRequestHandler):
    """Thin adapter: the stdlib parses the request line and headers, the simulator's ``handle`` answers.

    Dispatches GET, POST and PUT; a subclass whose API has DELETE adds ``do_DELETE`` calling ``dispatch``
    (without it the stdlib answers 501, as an API without the method would refuse it).
    """

    protocol_version = "HTTP/1.1"
    server_version = "APISimulator/1.0"
    content_type = "application/json"  # default for send(); subclasses match their API's exact header
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are eventually reaped

    def setup(self) -> None:
        """Register the connection for stop()."""
        super().setup()
        srv = cast(SimServer, self.server)
        with srv.connections_lock:
            srv.connections.add(self.connection)

    def finish(self) -> None:
        """Unregister; tolerate sockets we shut down ourselves."""
        srv = cast(SimServer, self.server)
        with srv.connections_lock:
            srv.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def dispatch(self, method: str) -> None:
        """Hand the request to the simulator."""
        cast(SimServer, self.server).sim.handle(self, method)

    def do_GET(self) -> None:
        """Dispatch."""
        self.dispatch("GET")

    def do_POST(self) -> None:
        """Dispatch."""
        self.dispatch("POST")

    def do_PUT(self) -> None:
        """Dispatch."""
        self.dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr logging (it would dominate benchmark time); use stats instead."""

    def target(self) -> tuple[str, str, Query]:
        """(path without trailing slash, raw query string, parsed query keeping blank values)."""
        split = urlsplit(self.path)
        return split.path.rstrip("/") or "/", split.query, parse_qs(split.query, keep_blank_values=True)

    def send(
        self, status: int, body: bytes, content_type: str | None = None, headers: Headers | None = None
    ) -> None:
        """Status line, headers and body in a single write (no Nagle/delayed-ACK stalls on keep-alive)."""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Server: {self.server_version}",
            f"Content-Type: {content_type or self.content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def drop(self) -> None:
        """Close the socket without answering: the client sees a disconnect, not an HTTP error."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SimulatorBase(ABC):
    """Lifecycle of a simulator: in-process (background thread), foreground, or as a context manager."""

    handler_class: ClassVar[type[SimHandler]] = SimHandler
    thread_name: ClassVar[str] = "api-sim"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def handle(self, h: SimHandler, method: str) -> None:
        """Answer one request (called on the connection's thread); the plugin's API lives here."""

    def start(self) -> str:
        """Bind (a free port unless one was given), serve from a daemon thread, return the base URL."""
        if self._server is not None:
            return self.url
        self._server = SimServer((self.host, self.port), self, self.handler_class)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop accepting, close open keep-alive connections, release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Foreground mode for the CLI: blocks until KeyboardInterrupt."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (only valid once started)."""
        if self._server is None:
            raise RuntimeError("simulator is not running; call start()")
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Client connections currently held open (keep-alive checks in tests)."""
        if self._server is None:
            return 0
        with self._server.connections_lock:
            return len(self._server.connections)


StoreT = TypeVar("StoreT")
ConfigT = TypeVar("ConfigT", bound=SimConfigBase)
StatsT = TypeVar("StatsT", bound=RequestStats)


class ApiSimulator(SimulatorBase, Generic[StoreT, ConfigT, StatsT]):
    """A plugin's simulator: its data store, runtime knobs and request stats, and one fault draw for all.

    Every request's fault comes from the first matching rule, else from the rates with the RNG seeded
    from the config, so a seed replays the same faults; ``_lock`` guards the RNG and the rules.
    """

    def __init__(
        self, store: StoreT, config: ConfigT, stats: StatsT, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.store = store
        self.config = config
        self.stats = stats
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._rng_seed = self.config.seed
        self._windows = WindowCounter()  # the simulated rate-limit budgets

    def _pick_fault(self, path: str, query: Query) -> str | None:
        """This request's fault, if any: a targeted rule's first, else a random one. An update that
        changed the seed reseeds first, so every draw of the request (also a plugin's own, such as
        an HTML error page) replays the new seed from its start."""
        with self._lock:
            if self.config.seed != self._rng_seed:
                self._rng = random.Random(self.config.seed)
                self._rng_seed = self.config.seed
            for rule in self.config.rules:
                if rule.take(path, query):
                    return rule.fault
            return draw_fault(self._rng, self.config)

    def _chance(self, probability: float) -> bool:
        """A draw from the seeded RNG (a plugin's own, e.g. whether an error page is HTML)."""
        with self._lock:
            return self._rng.random() < probability

    def _delay(self) -> None:
        """The configured latency, slept on the request's thread as a slow network would."""
        if self.config.latency_ms > 0:
            time.sleep(self.config.latency_ms / 1000)


# --------------------------------------------------------------------------------------------- CLI


def simulator_parser(plugin: str, description: str | None, *, port: int) -> argparse.ArgumentParser:
    """The parser of ``python -m plugins.<plugin>.simulator`` with the flags every simulator CLI has: where
    to listen and the shared fault knobs (``fault_knobs`` maps them onto the config); the plugin adds its own.
    """
    p = argparse.ArgumentParser(prog=f"python -m plugins.{plugin}.simulator", description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=port, help="0 picks a free port")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--error-rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--malformed-rate", type=float, default=0.0)
    return p


def fault_knobs(args: argparse.Namespace) -> dict[str, float]:
    """The shared fault flags of ``simulator_parser`` as config keyword arguments."""
    return {
        "latency_ms": args.latency_ms,
        "error_rate_5xx": args.error_rate_5xx,
        "rate_429": args.rate_429,
        "malformed_rate": args.malformed_rate,
    }


def stop_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so a terminated simulator closes its sockets and exits 0."""

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` plus our pid as JSON, atomically (rename), so a poller never reads half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**info, "pid": os.getpid()}))
    tmp.replace(path)


def start_simulator_process(
    plugin: str, args: Sequence[str], ready_file: Path, *, timeout: float = 120.0, **popen: Any
) -> tuple[subprocess.Popen[Any], dict[str, Any]]:
    """``python -m plugins.<plugin>.simulator`` with ``args`` in a process of its own (``popen``: the
    Popen options, e.g. its output and working directory); returns once it has written ``ready_file``
    (give a path that does not exist yet): the process and what it wrote there (its URL, credentials
    and pid). RuntimeError, with the last line of the process's error output when that is a pipe, if
    it exits or ``timeout`` passes first (the process is then stopped)."""
    cmd = [sys.executable, "-m", f"plugins.{plugin}.simulator", *args, "--ready-file", str(ready_file)]
    proc = subprocess.Popen(cmd, **popen)
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            if isinstance(err, bytes):
                err = err.decode(errors="replace")
            reason = f": {err.strip().splitlines()[-1]}" if err and err.strip() else ""
            raise RuntimeError(f"the {plugin} simulator did not start{reason}")
        time.sleep(0.05)
    return proc, json.loads(ready_file.read_text())


def serve_in_foreground(sim: SimulatorBase, ready_file: Path | None, info: dict[str, Any]) -> int:
    """Announce readiness (if asked), serve until SIGINT or SIGTERM (see stop_on_sigterm), exit 0."""
    if ready_file is not None:
        write_ready_file(ready_file, info)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
