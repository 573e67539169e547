"""The app served on a real port over each backend, and a webhook connection with its key."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.api.app import create_app
from core.context import AppContext
from core.db import Database
from core.models import Base
from tests.support.live import serve_app

WRITTEN_TABLES = (
    "issues",
    "boards",
    "board_issues",
    "cicd_scopes",
    "cicd_deployments",
    "cicd_deployment_commits",
    "_tool_webhook_incident_keys",
)


@dataclass(frozen=True)
class Hook:
    """A webhook connection as its creator sees it: id, name and the key shown once."""

    id: int
    name: str
    key: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def dd(self) -> dict[str, str]:
        return {"DD-API-KEY": self.key, "Content-Type": "application/json", "Accept": "application/json"}


@pytest.fixture
def app_url(ctx: AppContext) -> Iterator[str]:
    with serve_app(create_app(ctx, background=False)) as url:
        yield url


@pytest.fixture
def http(app_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, timeout=60) as client:
        yield client


def create_hook(http: httpx.Client, name: str) -> Hook:
    resp = http.post("/plugins/webhook/connections", json={"name": name})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return Hook(body["id"], body["name"], body["apiKey"])


@pytest.fixture
def hook(http: httpx.Client) -> Hook:
    return create_hook(http, "ci-pushes")


def rows(db: Database, table: str, **where: Any) -> list[dict[str, Any]]:
    """Typed rows of a table (optionally filtered by equality), ordered by primary key."""
    tbl = Base.metadata.tables[table]
    query = select(tbl).where(*(tbl.c[k] == v for k, v in where.items())).order_by(*tbl.primary_key.columns)
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one())


def counts(db: Database) -> dict[str, int]:
    """Row counts of every table a push may write: equal before and after = nothing written."""
    return {t: count(db, t) for t in WRITTEN_TABLES}


def curl(command: str, base_url: str, key: str) -> tuple[int, str]:
    """Run a documented curl command as written, against our server instead of the sample host.

    `{base}` and `{key}` in the command are replaced; `-sS -w` only adds the status code.
    """
    script = command.replace("{base}", base_url).replace("{key}", key)
    script = script.replace("curl ", "curl -sS -w '\\n%{http_code}' ", 1)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body
