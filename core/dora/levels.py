"""Performance levels, with the thresholds DevLake's DORA dashboard applies to each report.

The band texts shown to users come from `dora_benchmarks` (DevLake's rows, seeded by the
core migration); the numeric edges below are the ones DevLake's panels hard-code.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import DoraBenchmark

REPORTS = ("2021", "2023")
AGGREGATES = ("median", "mean", "p90")

DEPLOYMENT_FREQUENCY = "Deployment frequency"
CHANGE_FAILURE_RATE = "Change failure rate"
TIME_TO_RESTORE = "Time to restore service"
RECOVERY_TIME = "Failed deployment recovery time"

HOUR, DAY, WEEK = 60, 24 * 60, 7 * 24 * 60


def cfr_level(rate: float, report: str) -> str:
    """DevLake compares MySQL's 4-decimal quotient with the edges; do the same."""
    r = Decimal(repr(rate)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    edges = (".05", ".10", ".15") if report == "2023" else (".15", ".20", ".30")
    for level, edge in zip(("elite", "high", "medium"), edges, strict=True):
        if r <= Decimal(edge):
            return level
    return "low"


def restore_level(minutes: float) -> str:
    """Same edges for time to restore (2021) and failed deployment recovery time (2023)."""
    if minutes < HOUR:
        return "elite"
    if minutes < DAY:
        return "high"
    if minutes < WEEK:
        return "medium"
    return "low"


def frequency_level(per_week: float, per_month: float, per_six_months: float | None, report: str) -> str:
    if per_week >= 5:
        return "elite"
    if report == "2023":
        if per_week >= 1:
            return "high"
        return "medium" if per_month >= 1 else "low"
    if per_month >= 1:
        return "high"
    return "medium" if per_six_months is not None and per_six_months >= 1 else "low"


def benchmark_texts(s: Session, report: str) -> dict[str, dict[str, str]]:
    """{metric: {level: band text}} for one report, from `dora_benchmarks`."""
    out: dict[str, dict[str, str]] = {}
    for row in s.scalars(select(DoraBenchmark).where(DoraBenchmark.dora_report == report)):
        out[row.metric] = {"low": row.low, "medium": row.medium, "high": row.high, "elite": row.elite}
    return out
