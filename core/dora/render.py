"""A DORA report as rich tables, for the CLI and the demo."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table

LEVEL_STYLE = {"elite": "bold green", "high": "green", "medium": "yellow", "low": "red"}


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if abs(minutes) < 60:
        return f"{minutes:g} min"
    if abs(minutes) < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _level(entry: dict[str, Any]) -> str:
    level = entry.get("level")
    if not level:
        return "[dim]n/a[/dim]"
    return f"[{LEVEL_STYLE[level]}]{level}[/{LEVEL_STYLE[level]}] [dim]({entry.get('benchmark') or ''})[/dim]"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, figure, level, what it was computed from) for the four figures."""
    df, cfr = report["deploymentFrequency"], report["changeFailureRate"]
    ttr, fdrt = report["timeToRestore"], report["failedDeploymentRecoveryTime"]
    per_week = df["deploymentDaysPerWeek"]
    freq = "—" if per_week is None else f"{per_week:g} days/week, {df['deploymentDaysPerMonth']:g} days/month"
    return [
        ("Deployment frequency", freq, _level(df), df.get("reason") or f"{df['deployments']} deployments"),
        (
            "Change failure rate",
            _rate(cfr["value"]),
            _level(cfr),
            cfr.get("reason") or f"{cfr['failedDeployments']} of {cfr['deployments']} deployments",
        ),
        (
            "Time to restore service",
            _duration(ttr["minutes"]),
            _level(ttr),
            ttr.get("reason") or f"{ttr['incidents']} incidents resolved",
        ),
        (
            "Failed deployment recovery time",
            _duration(fdrt["minutes"]),
            _level(fdrt),
            fdrt.get("reason") or f"{fdrt['incidents']} incidents linked to deployments",
        ),
    ]


def report_tables(report: dict[str, Any]) -> Group:
    title = (
        f"DORA {report['report']} — project [bold]{report['project']}[/bold], "
        f"{report['from'][:10]} → {report['to'][:10]} ({report['aggregate']})"
    )
    summary = Table(title=title, title_justify="left")
    for column in ("Metric", "Value", "Level", "Computed from"):
        summary.add_column(column)
    for row in summary_rows(report):
        summary.add_row(*row)
    monthly = Table(title="By month", title_justify="left")
    for column in ("Month", "Deployments", "Deployment days", "Change failure rate", "Time to restore",
                   "Recovery time"):  # fmt: skip
        monthly.add_column(column, justify="right")
    for m in report["monthly"]:
        monthly.add_row(
            m["month"],
            str(m["changeFailureRate"]["deployments"]),
            str(m["deploymentFrequency"]["deploymentDays"]),
            _rate(m["changeFailureRate"]["value"]),
            _duration(m["timeToRestore"]["minutes"]),
            _duration(m["failedDeploymentRecoveryTime"]["minutes"]),
        )
    return Group(summary, monthly)
