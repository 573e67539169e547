"""Converters: `_tool_datadog_*` → DevLake's domain tables.

Failures and monitor incidents become `issues` (type INCIDENT) on the scope's board;
deployments become `cicd_deployments` plus one `cicd_deployment_commits` row each (DevLake's
DORA queries count deployments from the commit rows), under the scope's `cicd_scopes` row.
Only tool rows extracted since the last conversion (by raw id) are converted again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import groupby, islice
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy import inspect as sa_inspect

from core.collect import stream_rows
from core.db import upsert
from core.models import Board, BoardIssue, CicdDeployment, CicdDeploymentCommit, CicdScope, Issue
from core.plugin import TaskContext
from plugins.datadog.models import (
    RAW_DEPLOYMENTS,
    RAW_FAILURES,
    RAW_MONITOR_EVENTS,
    DatadogDeployment,
    DatadogFailure,
    DatadogMonitorEvent,
)
from plugins.datadog.tasks.common import (
    board_id,
    clip,
    deployment_id,
    domain_environment,
    failure_issue_id,
    lead_time_minutes,
    monitor_incident_id,
    params_of,
    scope_of,
    state_of,
    wants,
)
from plugins.datadog.tasks.events import NO_GROUP, Episode, pair

BATCH = 1000
KEY_BATCH = 200
NO_COMMIT = ""  # DevLake's placeholder: a deployment sent without git still gets its one commit row


ORIGIN = ("_raw_data_params", "_raw_data_table", "_raw_data_id")  # the keys of _origin


def _origin(params: str, table: str, raw_id: int | None) -> dict[str, Any]:
    return {"_raw_data_params": params, "_raw_data_table": table, "_raw_data_id": raw_id}


def convert_scope(ctx: TaskContext) -> None:
    """The scope's board (incidents) and cicd scope (deployments): the same id, as DESIGN fixes."""
    scope = scope_of(ctx)
    sid = board_id(ctx.connection_id, scope.id)
    params = params_of(ctx)
    common = {
        "id": sid,
        "name": scope.name or scope.id,
        "description": f"Datadog: {scope.query}" if scope.query else "Datadog: every record",
        "url": None,
        "_raw_data_params": params,
    }
    with ctx.db.session() as s:
        if wants(ctx, "failures") or wants(ctx, "monitors"):
            upsert(s, Board, [{**common, "type": "datadog_scope", "_raw_data_table": RAW_FAILURES.name}])
        if wants(ctx, "deployments"):
            upsert(s, CicdScope, [{**common, "_raw_data_table": RAW_DEPLOYMENTS.name}])


def _convert_changed(ctx: TaskContext, model: Any, entity: str, write: Callable[[list[Any]], None]) -> None:
    """Hand `write` each batch of the scope's tool rows extracted since the last conversion (by
    raw id); the watermark moves once every batch is written."""
    high_water = 0 if ctx.full_sync else state_of(ctx).raw_id(entity)
    # rows, not ORM objects: 3x faster
    columns = [getattr(model, a.key) for a in sa_inspect(model).column_attrs]
    stmt = select(*columns).where(
        model.connection_id == ctx.connection_id,
        model.scope_id == scope_of(ctx).id,
        model.raw_data_id > high_water,
    )
    for rows in stream_rows(ctx.db, stmt, [model.id], batch_size=BATCH):
        ctx.check_cancelled()
        write(rows)
        high_water = max([high_water, *(r.raw_data_id or 0 for r in rows)])
        ctx.progress.advance(len(rows), records=len(rows))
    state_of(ctx).save_raw_id(entity, high_water)


def _incident(
    iid: str, created: datetime | None, resolved: datetime | None, origin: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """An `issues` row of type INCIDENT: DONE once resolved, its lead time creation → resolution;
    `fields` are its other columns (the ones set here are not theirs to set)."""
    return {
        "id": iid,
        "type": "INCIDENT",
        "status": "DONE" if resolved else "TODO",
        "resolution_date": resolved,
        "created_date": created,
        "updated_date": resolved or created,
        "lead_time_minutes": lead_time_minutes(created, resolved),
        "is_subtask": False,
        **fields,
        **origin,
    }


def _store_incidents(s: Any, board: str, issues: list[dict[str, Any]]) -> None:
    """Upsert incidents and their links to the scope's board (a link keeps its incident's origin)."""
    upsert(s, Issue, issues)
    upsert(
        s, BoardIssue, [{"board_id": board, "issue_id": i["id"], **{k: i[k] for k in ORIGIN}} for i in issues]
    )


def convert_failures(ctx: TaskContext) -> None:
    if not wants(ctx, "failures"):
        return
    board = board_id(ctx.connection_id, scope_of(ctx).id)
    params = params_of(ctx)

    def write(failures: list[Any]) -> None:
        issues = []
        for f in failures:
            services = (f.services or "").split(",") if f.services else []
            issues.append(
                _incident(
                    failure_issue_id(ctx.connection_id, f.id),
                    f.started_at,
                    f.finished_at,
                    _origin(params, RAW_FAILURES.name, f.raw_data_id),
                    url=None,
                    issue_key=f.id,
                    title=f.name,
                    description=f.name,
                    original_type=f.type,
                    original_status="finished" if f.finished_at else "ongoing",
                    severity=f.severity,
                    component=clip(f.services),
                    environment=f.env,
                    service=services[0] if services else None,
                    team=f.team,
                    commit_sha=f.commit_sha,
                    version=f.version,
                    _raw_data_remark=f.custom_tags,
                )
            )
        with ctx.db.session() as s:
            _store_incidents(s, board, issues)

    _convert_changed(ctx, DatadogFailure, "convert:failures", write)


def convert_deployments(ctx: TaskContext) -> None:
    if not wants(ctx, "deployments"):
        return
    scope_row = board_id(ctx.connection_id, scope_of(ctx).id)
    params = params_of(ctx)

    def write(deployments: list[Any]) -> None:
        heads, commits = [], []
        for d in deployments:
            did = deployment_id(ctx.connection_id, d.id)
            environment = domain_environment(d.env)
            label = d.version or d.commit_sha
            common = {
                "cicd_scope_id": scope_row,
                "name": clip(
                    f"deploy {d.service or 'service'}{' ' + label if label else ''} to {d.env or '?'}"
                ),
                "display_title": d.service,
                "url": None,
                "result": "SUCCESS",
                "status": "DONE",
                "original_result": "SUCCESS",
                "original_status": "DONE",
                "environment": environment,
                "original_environment": d.env,
                "created_date": d.started_at,
                "queued_date": None,
                "started_date": d.started_at,
                "finished_date": d.finished_at or d.started_at,
                "duration_sec": _seconds(d.started_at, d.finished_at),
                "queued_duration_sec": None,
                "version": d.version,
                "_raw_data_remark": d.custom_tags,
                **_origin(params, RAW_DEPLOYMENTS.name, d.raw_data_id),
            }
            heads.append({"id": did, **common})
            commits.append(
                {
                    "id": did,
                    "commit_sha": d.commit_sha or NO_COMMIT,
                    "cicd_deployment_id": did,
                    "commit_msg": None,
                    "ref_name": d.version,
                    "repo_id": d.repository_url,
                    "repo_url": d.repository_url,
                    **common,
                }
            )
        ids = [h["id"] for h in heads]
        with ctx.db.session() as s:
            upsert(s, CicdDeployment, heads)
            # a deployment's commit is replaced as a whole (a resent event may name another sha)
            s.execute(delete(CicdDeploymentCommit).where(CicdDeploymentCommit.id.in_(ids)))
            upsert(s, CicdDeploymentCommit, commits)

    _convert_changed(ctx, DatadogDeployment, "convert:deployments", write)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return float(int((end - start).total_seconds()))


def convert_monitor_incidents(ctx: TaskContext) -> None:
    """Monitor events → one incident per alert episode of each (monitor, group) with new events.

    Every event of a touched (monitor, group) is paired again, so an alert collected in one run
    is closed by the recovery collected in a later run, and late events re-pair correctly.
    """
    if not wants(ctx, "monitors"):
        return
    entity = "convert:monitors"
    state = state_of(ctx)
    last = 0 if ctx.full_sync else state.raw_id(entity)
    scope = scope_of(ctx).id
    t = DatadogMonitorEvent
    mine = and_(t.connection_id == ctx.connection_id, t.scope_id == scope)
    with ctx.db.session() as s:
        high_water = s.scalar(select(func.max(t.raw_data_id)).where(mine)) or 0
        keys = s.execute(
            select(t.monitor_id, t.group_key)
            .where(mine, t.raw_data_id > last)
            .group_by(t.monitor_id, t.group_key)
            .order_by(t.monitor_id, t.group_key)
        ).all()
    ctx.progress.set_total(len(keys))
    it = iter(keys)
    while chunk := [tuple(k) for k in islice(it, KEY_BATCH)]:
        ctx.check_cancelled()
        with ctx.db.session() as s:
            events = s.scalars(
                select(t)
                .where(mine, tuple_(t.monitor_id, t.group_key).in_(chunk))
                .order_by(t.monitor_id, t.group_key, t.happened_at, t.id)
            ).all()
        episodes: dict[tuple[int, str], list[Episode]] = {
            key: pair(list(group))
            for key, group in groupby(events, key=lambda e: (e.monitor_id, e.group_key))
        }
        _write_monitor_incidents(ctx, episodes)
        ctx.progress.advance(len(chunk), records=sum(len(v) for v in episodes.values()))
    state.save_raw_id(entity, max(high_water, last))


def _write_monitor_incidents(ctx: TaskContext, episodes: dict[tuple[int, str], list[Episode]]) -> None:
    board = board_id(ctx.connection_id, scope_of(ctx).id)
    params = params_of(ctx)
    issues = []
    for (monitor, group), found in episodes.items():
        for ep in found:
            alert, recovery = ep.alert, ep.recovery
            resolved = recovery.happened_at if recovery is not None else None
            name = alert.monitor_name or f"monitor {monitor}"
            issues.append(
                _incident(
                    monitor_incident_id(ctx.connection_id, monitor, group, alert.happened_ms),
                    alert.happened_at,
                    resolved,
                    _origin(params, RAW_MONITOR_EVENTS.name, (recovery or alert).raw_data_id),
                    url=alert.url,
                    issue_key=f"{monitor}:{group}:{alert.happened_ms}",
                    title=clip(name if group == NO_GROUP else f"{name} ({group})", 10_000),
                    description=alert.message,
                    original_type="monitor_alert",
                    original_status="recovered" if resolved else (alert.status or "alert"),
                    priority=alert.priority,
                    severity=alert.status,
                    component=alert.monitor_name,
                    environment=alert.env,
                    service=alert.service,
                    team=alert.team,
                )
            )
    wanted = {i["id"] for i in issues}
    with ctx.db.session() as s:
        _drop_stale(s, ctx.connection_id, board, episodes, wanted)
        _store_incidents(s, board, issues)


def _drop_stale(
    s: Any, connection_id: int, board: str, episodes: dict[tuple[int, str], list[Episode]], wanted: set[str]
) -> None:
    """Incidents of these (monitor, group)s that pairing no longer gives (late events re-paired)."""
    prefixes = {f"datadog:MonitorIncident:{connection_id}:{m}:{g}:" for m, g in episodes}
    monitors = {m for m, _ in episodes}
    found = s.scalars(
        select(BoardIssue.issue_id).where(
            BoardIssue.board_id == board,
            or_(
                *(
                    BoardIssue.issue_id.like(f"datadog:MonitorIncident:{connection_id}:{m}:%")
                    for m in monitors
                )
            ),
        )
    ).all()
    stale = [
        i for i in found if i not in wanted and i.rsplit(":", 1)[0] + ":" in prefixes and epoch_suffix(i)
    ]
    if not stale:
        return
    s.execute(delete(BoardIssue).where(BoardIssue.board_id == board, BoardIssue.issue_id.in_(stale)))
    still_linked = set(s.scalars(select(BoardIssue.issue_id).where(BoardIssue.issue_id.in_(stale))).all())
    orphans = [i for i in stale if i not in still_linked]
    if orphans:
        s.execute(delete(Issue).where(Issue.id.in_(orphans)))


def epoch_suffix(issue_id: str) -> bool:
    return issue_id.rsplit(":", 1)[-1].isdigit()
