"""Extractors: raw Datadog records → `_tool_datadog_*` rows (no network).

Raw rows are read in id order, so a later copy of a record (a failure re-read once finished)
wins over an earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table

from core.collect import iter_raw
from core.db import upsert
from core.plugin import TaskContext
from plugins.datadog.connection import Kind
from plugins.datadog.models import (
    RAW_DEPLOYMENTS,
    RAW_FAILURES,
    RAW_MONITOR_EVENTS,
    DatadogDeployment,
    DatadogFailure,
    DatadogMonitorEvent,
)
from plugins.datadog.tasks.common import clip, params_of, parse_time, scope_of, state_of, wants
from plugins.datadog.tasks.events import normalize

BATCH = 1000
DORA_TYPES = {"failures": ("dora_failure", "dora_incident"), "deployments": ("dora_deployment",)}
Row = dict[str, Any]


def extract_failures(ctx: TaskContext) -> None:
    if wants(ctx, "failures"):
        _extract(ctx, "failures", RAW_FAILURES, DatadogFailure, _failure_row)


def extract_deployments(ctx: TaskContext) -> None:
    if wants(ctx, "deployments"):
        _extract(ctx, "deployments", RAW_DEPLOYMENTS, DatadogDeployment, _deployment_row)


def extract_monitor_events(ctx: TaskContext) -> None:
    if wants(ctx, "monitors"):
        _extract(ctx, "monitors", RAW_MONITOR_EVENTS, DatadogMonitorEvent, _event_row)


def _extract(
    ctx: TaskContext, kind: Kind, raw: Table, model: Any, build: Callable[[Any], Row | None]
) -> None:
    params = params_of(ctx)
    scope = scope_of(ctx).id
    state = state_of(ctx)
    entity = f"extract:{kind}"
    last = 0 if ctx.full_sync else state.raw_id(entity)
    for batch in iter_raw(ctx.db, raw, params, after_id=last, batch_size=BATCH):
        ctx.check_cancelled()
        latest: dict[str, Row] = {}
        for record in batch:
            row = build(record.data)
            if row is None:
                continue
            row.update(
                connection_id=ctx.connection_id,
                scope_id=scope,
                _raw_data_params=params,
                _raw_data_table=raw.name,
                _raw_data_id=record.id,
            )
            latest[row["id"]] = row
        with ctx.db.session() as s:
            upsert(s, model, list(latest.values()))
        last = batch[-1].id
        ctx.progress.advance(len(batch), records=len(latest))
    state.save_raw_id(entity, last)


def _dora_common(record: Any, kind: Kind) -> tuple[Row, dict[str, Any]] | None:
    if not isinstance(record, dict) or not record.get("id"):
        return None
    if record.get("type") not in DORA_TYPES[kind]:
        return None
    attrs = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    git = attrs.get("git") if isinstance(attrs.get("git"), dict) else {}
    tags = attrs.get("custom_tags")
    row: Row = {
        "id": clip(record["id"]),
        "type": record.get("type"),
        "team": clip(attrs.get("team")),
        "env": clip(attrs.get("env")),
        "started_at": parse_time(attrs.get("started_at")),
        "finished_at": parse_time(attrs.get("finished_at")),
        "version": clip(attrs.get("version")),
        "commit_sha": clip(git.get("commit_sha")),
        "repository_url": git.get("repository_url") if isinstance(git.get("repository_url"), str) else None,
        "custom_tags": json.dumps(tags, separators=(",", ":")) if isinstance(tags, list) and tags else None,
    }
    return row, attrs


def _failure_row(record: Any) -> Row | None:
    common = _dora_common(record, "failures")
    if common is None:
        return None
    row, attrs = common
    services = attrs.get("services")
    if isinstance(services, str):
        services = [services]
    names = [str(s) for s in services or [] if s]
    row.update(
        name=attrs.get("name") if isinstance(attrs.get("name"), str) else None,
        services=",".join(names) or None,
        severity=clip(attrs.get("severity")),
    )
    return row


def _deployment_row(record: Any) -> Row | None:
    common = _dora_common(record, "deployments")
    if common is None:
        return None
    row, attrs = common
    row["service"] = clip(attrs.get("service"))
    return row


def _event_row(record: Any) -> Row | None:
    event = normalize(record)
    return event.row() if event is not None else None
