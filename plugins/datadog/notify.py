"""Pipeline events: a finished pipeline is posted to Datadog's event stream (`POST /api/v1/events`).

`summary` is the pipeline's outcome as the runner knows it (every key optional):
`pipelineId`, `blueprintId`, `blueprintName`, `projectName`, `status` (TASK_COMPLETED, …),
`message`, `beganAt`, `finishedAt`, `spentSeconds`, `records` ({source: count}), `tasks`
([{plugin, scopeId, status, records, message}]) and `dora` (the project's metrics, as the
`/projects/{name}/dora` route returns them). A failed notification is logged and returns False:
it never fails the pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

from core.http import HttpError
from plugins.datadog.api import make_client
from plugins.datadog.connection import DatadogConnection

log = logging.getLogger("incidentlake.datadog.notify")

MAX_TEXT = 4000
MAX_TITLE = 100
MAX_AGGREGATION_KEY = 100
MAX_TAG = 200
SUCCESS_STATUSES = {"TASK_COMPLETED", "COMPLETED", "SUCCESS"}


def notify_pipeline(
    connection: DatadogConnection, summary: dict[str, Any], *, connection_id: int = 0
) -> bool:
    """Post one event for a finished pipeline; True when Datadog accepted it."""
    try:
        body = event_body(summary)
        with make_client(connection_id, connection, max_retries=2, timeout=10.0, max_wait=30.0) as client:
            client.post_json("/api/v1/events", json=body)
    except HttpError as exc:
        log.warning("pipeline event not sent to Datadog: %s", exc)
        return False
    except Exception as exc:  # a notification must never break the caller
        log.warning("pipeline event not sent to Datadog (connection %s): %s", connection.name, exc)
        return False
    return True


def event_body(summary: dict[str, Any]) -> dict[str, Any]:
    """The v1 event: title, markdown text (≤ 4000 characters), alert_type, tags, aggregation key."""
    status = str(summary.get("status") or "UNKNOWN")
    ok = status.upper() in SUCCESS_STATUSES
    blueprint = summary.get("blueprintId")
    name = summary.get("blueprintName") or (f"blueprint {blueprint}" if blueprint is not None else "pipeline")
    pipeline = summary.get("pipelineId")
    word = "succeeded" if ok else f"ended {status.removeprefix('TASK_').lower()}"
    title = f"incidentlake: {name} {word}" + (f" (pipeline {pipeline})" if pipeline is not None else "")
    tags = ["source:incidentlake", f"status:{status.lower()}"]
    if blueprint is not None:
        tags.append(f"blueprint:{blueprint}")
    if summary.get("projectName"):
        tags.append(f"project:{summary['projectName']}")
    key = f"incidentlake-blueprint-{blueprint if blueprint is not None else name}"
    return {
        "title": _cut(title, MAX_TITLE),
        "text": _cut(markdown(summary, ok), MAX_TEXT),
        "alert_type": "success" if ok else "error",
        "priority": "normal" if not ok else "low",
        "tags": [_cut(t, MAX_TAG) for t in tags],
        "aggregation_key": key[:MAX_AGGREGATION_KEY],
    }


def markdown(summary: dict[str, Any], ok: bool) -> str:
    """Datadog renders event text between %%% markers as markdown."""
    lines = ["%%%", f"**Status:** {summary.get('status') or 'unknown'}"]
    if summary.get("projectName"):
        lines.append(f"**Project:** {summary['projectName']}")
    timing = [
        f"{label} {summary[key]}"
        for key, label in (("beganAt", "began"), ("finishedAt", "finished"), ("spentSeconds", "took (s)"))
        if summary.get(key) is not None
    ]
    if timing:
        lines.append(" · ".join(timing))
    if summary.get("message") and not ok:
        lines.append(f"**Error:** {_cut(str(summary['message']), 800)}")
    records = summary.get("records")
    if isinstance(records, dict) and records:
        lines += ["", "| source | records |", "|---|---:|"]
        lines += [f"| {src} | {n} |" for src, n in sorted(records.items())]
    lines += _dora_lines(summary.get("dora"))
    tasks = summary.get("tasks")
    if isinstance(tasks, list) and tasks:
        lines += ["", "**Tasks**"]
        for task in tasks[:30]:
            if isinstance(task, dict):
                scope = f" {task['scopeId']}" if task.get("scopeId") else ""
                extra = f": {_cut(str(task['message']), 200)}" if task.get("message") else ""
                lines.append(f"- {task.get('plugin', '?')}{scope}: {task.get('status', '?')}{extra}")
        if len(tasks) > 30:
            lines.append(f"- … and {len(tasks) - 30} more")
    body = "\n".join(lines)
    return _cut(body, MAX_TEXT - 4) + "\n%%%"


def _dora_lines(dora: Any) -> list[str]:
    if not isinstance(dora, dict) or not dora:
        return []
    out = ["", "**DORA**" + (f" ({dora['from']} to {dora['to']})" if dora.get("from") else "")]
    cfr = dora.get("changeFailureRate") or {}
    if isinstance(cfr, dict) and cfr:
        value = cfr.get("value")
        shown = f"{value:.1%}" if isinstance(value, int | float) else "n/a"
        out.append(f"- change failure rate: {shown} ({cfr.get('level') or cfr.get('reason') or '-'})")
    for key, label in (
        ("timeToRestore", "time to restore"),
        ("failedDeploymentRecoveryTime", "recovery time"),
    ):
        part = dora.get(key)
        if isinstance(part, dict) and part:
            minutes = part.get("minutes")
            shown = f"{minutes} min" if minutes is not None else "n/a"
            out.append(f"- {label}: {shown} ({part.get('level') or part.get('reason') or '-'})")
    freq = dora.get("deploymentFrequency")
    if isinstance(freq, dict) and freq:
        out.append(
            f"- deployment days: {freq.get('deploymentDaysPerWeek')}/week, "
            f"{freq.get('deploymentDaysPerMonth')}/month ({freq.get('level') or '-'})"
        )
    return out


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
