"""A scriptable local HTTP server and a fake clock for the core.http tests.

Tests talk real HTTP to ``FakeApi`` so that timeouts, dropped sockets and header parsing are exercised
exactly as in production; only time is faked where a test would otherwise sleep for minutes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class Reply:
    """What the server answers: JSON unless ``body`` is str/bytes; ``drop`` closes without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            kind = (
                "text/html" if self.body.lstrip().lower().startswith(("<!doctype", "<html")) else "text/plain"
            )
            return self.body.encode(), f"{kind}; charset=utf-8"
        if self.body is None and self.status in (204, 304):
            return b"", ""
        return json.dumps(self.body if self.body is not None else {}).encode(), "application/json"


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float = 0.0

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Seen], Reply]


class FakeApi:
    """Routes (method, path) to scripted replies and records every request and its overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], list[Reply | Handler]] = {}
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def route(self, method: str, path: str, *replies: Reply | Handler) -> None:
        """Replies are used in turn; the last one repeats. A callable builds the reply per request."""
        if not replies:
            raise ValueError("route needs at least one reply")
        with self._lock:
            self._routes[(method.upper(), path)] = list(replies)

    def seen(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _enter(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            script = self._routes.get((seen.method, seen.path))
            if script is None:
                return Reply(404, {"errors": [f"no route for {seen.method} {seen.path}"]})
            step = script.pop(0) if len(script) > 1 else script[0]
        return step if isinstance(step, Reply) else step(seen)

    def _leave(self, seen: Seen) -> None:
        with self._lock:
            self.in_flight -= 1
            seen.ended = time.monotonic()

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes; avoid 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_PUT(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    raw_query=parts.query,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    started=time.monotonic(),
                )
                try:
                    reply = api._enter(seen)
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    api._leave(seen)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload, content_type = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, **reply.headers} if content_type else reply.headers
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out or vanish are part of the script

        self._server = Server(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@contextmanager
def running_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    try:
        yield api
    finally:
        api.stop()


class FakeClock:
    """Monotonic clock whose sleep advances time instantly and records how long was slept."""

    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            self.sleeps.append(seconds)

    @property
    def slept(self) -> float:
        with self._lock:
            return sum(self.sleeps)
