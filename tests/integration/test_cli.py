"""The CLI as a user runs it: one clear line and a non-zero exit on failure; serve answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "core.cli"]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "INCIDENTLAKE_ENCRYPTION_SECRET": "cli-test-secret", **env}
    full_env.pop("INCIDENTLAKE_DB_URL", None) if "INCIDENTLAKE_DB_URL" not in env else None
    return subprocess.run(CLI + args, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql+pymysql://root@127.0.0.1:1/nope", "cannot connect to database"),
        ("not a url", "not a database URL"),
        ("postgresql://x/y", "unsupported database"),
        ("sqlite:////nonexistent-dir/x.db", "cannot connect to database"),
    ],
)
def test_bad_database_is_one_line(tmp_path: Path, url: str, expected: str) -> None:
    result = _run(["migrate"], tmp_path, INCIDENTLAKE_DB_URL=url)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_version_and_migrate(tmp_path: Path) -> None:
    assert "incidentlake" in _run(["version"], tmp_path).stdout
    result = _run(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "incidentlake.db").exists()
    assert _run(["migrate"], tmp_path).returncode == 0


def test_serve_answers_ping_and_docs(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INCIDENTLAKE_PORT": str(port)}
    env.pop("INCIDENTLAKE_DB_URL", None)
    env.pop("INCIDENTLAKE_ENCRYPTION_SECRET", None)
    proc = subprocess.Popen([*CLI, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("serve did not come up") from None
                time.sleep(0.2)
        assert r.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        assert (tmp_path / "incidentlake.db").exists()
        assert (tmp_path / "incidentlake.secret").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=20)
