"""DORA at scale: 1,000,000 incidents and 200,000 deployments, on SQLite and on MariaDB.

Prints the time to fill the tables, of the DORA stage (rebuild incidents + link), and of
one `GET /projects/{name}/dora` over HTTP for a six-month and a two-year period. On MariaDB
it first raises the buffer pool and the redo log to what a million incidents need when the
server's are smaller (see `MYSQL_SETTINGS`), prints the values used, and restores them.
Run with `make bench` (or `pytest tests/benchmarks/test_dora_scale.py -m benchmark -s`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, text

from core.api.app import create_app
from core.config import Settings
from core.context import AppContext
from core.db import Database
from core.dora.linking import link_incidents
from core.dora.stage import rebuild_incidents
from core.migrate import upgrade
from core.models import BoardIssue, CicdDeploymentCommit, Issue, Project, ProjectMapping, utcnow
from core.registry import PluginRegistry
from tests.support.databases import mysql_available, throwaway_mysql
from tests.support.live import serve_app

INCIDENTS = int(os.environ.get("DORA_BENCH_INCIDENTS", 1_000_000))
DEPLOYMENTS = int(os.environ.get("DORA_BENCH_DEPLOYMENTS", 200_000))
BOARDS, SCOPES, BATCH = 20, 10, 10_000
END = datetime(2025, 1, 1)
START = END - timedelta(days=730)

pytestmark = pytest.mark.benchmark


@pytest.fixture(params=["sqlite", "mysql"])
def bench_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dora-bench.db'}"
        upgrade(url)
        db = Database(url)
        yield db
        db.dispose()
        return
    reason = mysql_available()
    if reason:
        pytest.skip(f"MariaDB unavailable: {reason}")
    with throwaway_mysql("il_dora_bench") as url:
        upgrade(url)
        db = Database(url)
        with server_sized_for_the_data(db):
            yield db
        db.dispose()


# What the MariaDB figures need: these tables and their indexes take about 1.3 GB once the
# stage has run, and its million-row statements write about as much redo. A stock server
# (128 MB buffer pool, 96 MB redo log) then spends the run reading pages back and flushing.
# Both settings are dynamic in MariaDB 10.11: the benchmark raises them for its run when
# they are smaller, says so, and puts them back afterwards.
MYSQL_SETTINGS = {
    "innodb_buffer_pool_size": int(os.environ.get("DORA_BENCH_BUFFER_POOL_MB", 3072)) * 2**20,
    "innodb_log_file_size": int(os.environ.get("DORA_BENCH_REDO_LOG_MB", 1024)) * 2**20,
}


@contextmanager
def server_sized_for_the_data(db: Database) -> Iterator[None]:
    raised: dict[str, int] = {}
    with db.engine.connect() as conn:
        for name, wanted in MYSQL_SETTINGS.items():
            current = int(conn.execute(text(f"SELECT @@GLOBAL.{name}")).scalar_one())
            if current < wanted:
                conn.execute(text(f"SET GLOBAL {name} = {wanted}"))
                raised[name] = current
        for name in MYSQL_SETTINGS:
            value = int(conn.execute(text(f"SELECT @@GLOBAL.{name}")).scalar_one())
            note = f" (raised from {raised[name] // 2**20} MB for this run)" if name in raised else ""
            print(f"\n[dora bench mysql] {name} = {value // 2**20} MB{note}", end="")
    try:
        yield
    finally:
        with db.engine.connect() as conn:
            for name, value in raised.items():
                conn.execute(text(f"SET GLOBAL {name} = {value}"))


def _fill(db: Database) -> None:
    rng = random.Random(1)
    now = utcnow()
    span_ms = int((END - START).total_seconds() * 1000)
    with db.session() as s:
        s.add(Project(name="big", incident_filter={}, created_at=now, updated_at=now))
        s.execute(
            insert(ProjectMapping),
            [
                {
                    "project_name": "big",
                    "table": "boards",
                    "row_id": f"board{b}",
                    "created_at": now,
                    "updated_at": now,
                }
                for b in range(BOARDS)
            ]
            + [
                {
                    "project_name": "big",
                    "table": "cicd_scopes",
                    "row_id": f"scope{c}",
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(SCOPES)
            ],
        )
    for first in range(0, DEPLOYMENTS, BATCH):
        rows = []
        for n in range(first, min(first + BATCH, DEPLOYMENTS)):
            finished = START + timedelta(milliseconds=rng.randrange(span_ms))
            for c in range(2 if n % 10 == 0 else 1):  # every tenth deployment ships two commits
                rows.append({
                    "id": f"cdc{n}:{c}", "commit_sha": f"sha{n}{c}", "cicd_deployment_id": f"deploy{n}",
                    "cicd_scope_id": f"scope{n % SCOPES}", "result": "FAILURE" if n % 20 == 0 else "SUCCESS",
                    "environment": "PRODUCTION", "finished_date": finished - timedelta(minutes=c),
                    "created_at": now, "updated_at": now,
                })  # fmt: skip
        with db.session() as s:
            s.execute(insert(CicdDeploymentCommit), rows)
    for first in range(0, INCIDENTS, BATCH):
        issues, links = [], []
        for n in range(first, min(first + BATCH, INCIDENTS)):
            created = START + timedelta(milliseconds=rng.randrange(span_ms))
            lead = rng.randrange(1, 10_000) if rng.random() < 0.95 else None
            issues.append({
                "id": f"incident{n}", "type": "INCIDENT", "title": f"incident {n}", "status": "DONE" if lead else "TODO",
                "created_date": created, "resolution_date": created + timedelta(minutes=lead) if lead else None,
                "lead_time_minutes": lead, "priority": f"P{n % 5 + 1}", "urgency": "high" if n % 3 else "low",
                "commit_sha": f"sha{rng.randrange(DEPLOYMENTS)}0" if n % 50 == 0 else None,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            links.append({"board_id": f"board{n % BOARDS}", "issue_id": f"incident{n}", "created_at": now,
                          "updated_at": now})  # fmt: skip
        with db.session() as s:
            s.execute(insert(Issue), issues)
            s.execute(insert(BoardIssue), links)


def test_dora_stage_and_api_at_scale(bench_db: Database) -> None:
    began = time.perf_counter()
    _fill(bench_db)
    filled = time.perf_counter() - began

    began = time.perf_counter()
    rebuilt = rebuild_incidents(bench_db, "big")
    rebuild_s = time.perf_counter() - began
    began = time.perf_counter()
    linked = link_incidents(bench_db, "big")
    link_s = time.perf_counter() - began
    assert rebuilt.incidents == INCIDENTS
    assert linked.total > INCIDENTS * 0.9

    settings = Settings(db_url=bench_db.url, encryption_secret="bench-secret")
    ctx = AppContext.build(settings, db=bench_db, registry=PluginRegistry.discover())
    timings = {}
    with (
        serve_app(create_app(ctx, background=False)) as url,
        httpx.Client(base_url=url, timeout=600) as client,
    ):
        for label, lo in (("6 months", END - timedelta(days=183)), ("2 years", START)):
            for report in ("2023", "2021"):
                params = {"from": lo.isoformat(), "to": END.isoformat(), "report": report}
                client.get("/projects/big/dora", params=params)  # warm the caches once
                began = time.perf_counter()
                body = client.get("/projects/big/dora", params=params).json()
                timings[(label, report)] = time.perf_counter() - began
                assert body["changeFailureRate"]["deployments"] > 0, body
    print(
        f"\n[dora bench {bench_db.dialect}] {INCIDENTS:,} incidents, {DEPLOYMENTS:,} deployments: "
        f"fill {filled:.1f} s; stage {rebuild_s + link_s:.1f} s (rebuild {rebuild_s:.1f} s, "
        f"link {link_s:.1f} s: {linked.explicit:,} explicit, {linked.time:,} by time)"
    )
    for (label, report), seconds in timings.items():
        print(
            f"[dora bench {bench_db.dialect}] GET /projects/big/dora {label}, report {report}: {seconds:.3f} s"
        )
