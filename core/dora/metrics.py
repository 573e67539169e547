"""A project's DORA report: the four figures with levels and counts, and a monthly series.

The four: deployment frequency, change failure rate, time to restore service (the 2021
report's) and failed deployment recovery time (the 2023 report's); both recovery figures
are always given, `report` picks the bands of the other two. A figure with nothing to
compute from is null with a `reason`, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.db import sqlite_reader_engine
from core.dora import levels as lv
from core.dora.dialect import session_settings
from core.dora.project import load_project, scope_counts
from core.dora.queries import Bucket, DeploymentFigures, MetricQueries
from core.dora.window import Window, iso

NO_CICD = "the project has no deployment scopes (no cicd_scopes in project_mapping)"
NO_BOARDS = "the project has no incident scopes (no boards in project_mapping)"


def _number(value: float | None, aggregate: str) -> float | int | None:
    if value is None:
        return None
    return round(value, 2) if aggregate == "mean" else int(value)


class ReportBuilder:
    def __init__(self, s: Session, project: str, window: Window, report: str, aggregate: str) -> None:
        if report not in lv.REPORTS:
            raise ValueError(f"report must be one of {', '.join(lv.REPORTS)}")
        if aggregate not in lv.AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(lv.AGGREGATES)}")
        settings = load_project(s, project)
        self.s = s
        self.filter = settings.incident_filter.predicate("i", "flt")
        self.q = MetricQueries(s, project, *self.filter)
        self.project, self.window, self.report, self.aggregate = project, window, report, aggregate
        self.scopes = scope_counts(s, project)
        # time to restore has bands only in the 2021 report, recovery time only in 2023
        self.bands = {**lv.benchmark_texts(s, "2021"), **lv.benchmark_texts(s, "2023")}
        self.bands.update(lv.benchmark_texts(s, report))

    def _band(self, metric: str, level: str | None) -> str | None:
        return self.bands.get(metric, {}).get(level) if level else None

    # -- figures -----------------------------------------------------------------------
    def _cfr(self, deployments: int, failed: int, period: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": None,
            "level": None,
            "benchmark": None,
            "failedDeployments": failed,
            "deployments": deployments,
            "reason": None,
        }
        if not self.scopes["cicd_scopes"]:
            out["reason"] = NO_CICD
        elif deployments == 0:
            out["reason"] = f"no successful production deployment finished in this {period}"
        else:
            out["value"] = failed / deployments
            out["level"] = lv.cfr_level(out["value"], self.report)
            out["benchmark"] = self._band(lv.CHANGE_FAILURE_RATE, out["level"])
        return out

    def _restore(self, bucket: Bucket | None, period: str, metric: str) -> dict[str, Any]:
        n = bucket.count if bucket else 0
        out: dict[str, Any] = {
            "minutes": None,
            "level": None,
            "benchmark": None,
            "incidents": n,
            "reason": None,
        }
        if not self.scopes["boards"]:
            out["reason"] = NO_BOARDS
        elif metric == lv.RECOVERY_TIME and not self.scopes["cicd_scopes"]:
            out["reason"] = NO_CICD
        elif bucket is None or bucket.value is None:
            out["reason"] = (
                f"no incident of the project was resolved in this {period}"
                if metric == lv.TIME_TO_RESTORE
                else f"no incident resolved in this {period} is linked to a deployment finished in it"
            )
        else:
            out["minutes"] = _number(bucket.value, self.aggregate)
            out["level"] = lv.restore_level(bucket.value)
            out["benchmark"] = self._band(metric, out["level"])
        return out

    def _frequency(
        self,
        week: Bucket | None,
        month: Bucket | None,
        six: Bucket | None,
        counts: tuple[int, int],
        period: str,
    ) -> dict[str, Any]:
        deployments, days = counts
        out: dict[str, Any] = {
            "deploymentDaysPerWeek": None,
            "deploymentDaysPerMonth": None,
            "level": None,
            "benchmark": None,
            "deployments": deployments,
            "deploymentDays": days,
            "reason": None,
        }
        if not self.scopes["cicd_scopes"]:
            out["reason"] = NO_CICD
        elif deployments == 0 or week is None or month is None or week.value is None or month.value is None:
            out["reason"] = f"no successful production deployment in this {period}"
        else:
            out["deploymentDaysPerWeek"] = _number(week.value, self.aggregate)
            out["deploymentDaysPerMonth"] = _number(month.value, self.aggregate)
            six_value = six.value if six is not None else None
            if self.report == "2021" and six is not None:
                out["deploymentDaysPerSixMonths"] = _number(six_value, self.aggregate)
            out["level"] = lv.frequency_level(week.value, month.value, six_value, self.report)
            out["benchmark"] = self._band(lv.DEPLOYMENT_FREQUENCY, out["level"])
        return out

    # -- the report --------------------------------------------------------------------
    def _queries(self) -> tuple[DeploymentFigures, dict[str, Bucket], dict[str, Bucket]]:
        """The three independent queries, each on its own connection, concurrently.

        On SQLite the application's transactions begin IMMEDIATE (they take the write lock),
        so the queries run on plain reader connections of their own (`core.db.sqlite_reader_engine`): in
        WAL mode readers run side by side, and sqlite3 releases the GIL while it works. An
        in-memory database has no other connection to share, and runs them in turn.
        """
        w, agg, six = self.window, self.aggregate, self.report == "2021"
        jobs: list[Callable[[MetricQueries], Any]] = [
            lambda q: q.deployment_figures(w, agg, six_months=six),
            lambda q: q.time_to_restore(w, agg),
            lambda q: q.recovery_time(w, agg),
        ]
        bind = self.s.get_bind()
        readers = sqlite_reader_engine(bind) if self.q.d.name != "mysql" else bind
        if readers is None:
            with session_settings(self.s, self.q.d.query_session_settings()):
                figures, restore, recovery = (job(self.q) for job in jobs)
            return figures, restore, recovery
        make = sessionmaker(bind=readers)

        def run(job: Callable[[MetricQueries], Any]) -> Any:
            with make() as s, session_settings(s, self.q.d.query_session_settings()):
                return job(MetricQueries(s, self.project, *self.filter))

        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="dora-metrics") as pool:
            figures, restore, recovery = pool.map(run, jobs)
        return figures, restore, recovery

    def build(self) -> dict[str, Any]:
        w, agg = self.window, self.aggregate
        figures, restore, recovery = self._queries()
        failures, counts, days = figures.failures, figures.counts, figures.frequency
        six = days.get("s:*") if self.report == "2021" else None
        total = (sum(v[0] for v in failures.values()), sum(v[1] for v in failures.values()))
        all_counts = (sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values()))
        monthly = []
        for month in w.months():
            deps, failed = failures.get(month, (0, 0))
            monthly.append(
                {
                    "month": month,
                    "changeFailureRate": self._cfr(deps, failed, "month"),
                    "timeToRestore": self._restore(restore.get(month), "month", lv.TIME_TO_RESTORE),
                    "failedDeploymentRecoveryTime": self._restore(
                        recovery.get(month), "month", lv.RECOVERY_TIME
                    ),
                    "deploymentFrequency": self._frequency(
                        days.get(f"w:{month}"),
                        days.get(f"m:{month}"),
                        None,
                        counts.get(month, (0, 0)),
                        "month",
                    ),
                }
            )
        return {
            "project": self.project,
            "from": iso(w.start),
            "to": iso(w.end),
            "report": self.report,
            "aggregate": agg,
            "changeFailureRate": self._cfr(total[0], total[1], "period"),
            "timeToRestore": self._restore(restore.get("*"), "period", lv.TIME_TO_RESTORE),
            "failedDeploymentRecoveryTime": self._restore(recovery.get("*"), "period", lv.RECOVERY_TIME),
            "deploymentFrequency": self._frequency(
                days.get("w:*"), days.get("m:*"), six, all_counts, "period"
            ),
            "monthly": monthly,
        }


def dora_report(
    s: Session, project: str, window: Window, report: str = "2023", aggregate: str = "median"
) -> dict[str, Any]:
    """The `/projects/{name}/dora` body."""
    return ReportBuilder(s, project, window, report, aggregate).build()
