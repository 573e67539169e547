"""Run the real `incidentlake serve` (with the pipefake plugin) as a subprocess for crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
SECRET = "test-secret-for-unit-tests-only"  # the same as tests/conftest.py's settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTLAKE_")}
    env.update(
        {
            "INCIDENTLAKE_DB_URL": db_url,
            "INCIDENTLAKE_ENCRYPTION_SECRET": SECRET,
            "INCIDENTLAKE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "tests.integration.pipeline.launch", *args]


class Server:
    """`incidentlake serve` in a subprocess; `kill()` is a SIGKILL, `stop()` a clean SIGTERM."""

    def __init__(self, db_url: str, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        env = cli_env(db_url, INCIDENTLAKE_PORT=str(self.port), INCIDENTLAKE_SCHEDULER="false", **env)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                cli(["serve"]), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"serve did not answer: {self.log.read_text()}")
            time.sleep(0.1)
        self.client = httpx.Client(base_url=self.url, timeout=15)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode
