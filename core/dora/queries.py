"""The metric queries: each returns a few rows per month, whatever the data volume.

Every aggregate is computed by the database. The median is DevLake's: the largest value
whose `percent_rank()` is at most 0.5 (the lower median); p90 likewise at 0.9; mean is AVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from core.dora.dialect import Dialect
from core.dora.fragments import PIDR, deployments, project_incidents_join
from core.dora.window import Window
from core.models.base import UTCDateTime

QUANTILE = {"median": 0.5, "p90": 0.9}


@dataclass(frozen=True)
class Bucket:
    count: int
    value: float | None


def _run(s: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    stmt = text(sql)
    typed = [bindparam(n, type_=UTCDateTime()) for n in ("lo", "hi") if f":{n}" in sql]
    if typed:
        stmt = stmt.bindparams(*typed)
    return list(s.execute(stmt, params))


def aggregate_sql(values: str, aggregate: str, *, upper_median: bool = False) -> str:
    """(bucket, n, value) per bucket of a (bucket, v) query."""
    if aggregate == "mean":
        return f"SELECT bucket, COUNT(*) AS n, AVG(v) AS value FROM ({values}) x GROUP BY bucket"
    if upper_median and aggregate == "median":
        # DevLake's six-month figure takes the upper median; its query finds none when every
        # rank is 0 (one sample, or all equal), where the median is plainly that value
        pick = "COALESCE(MIN(CASE WHEN r >= 0.5 THEN v END), MAX(v))"
    else:
        pick = f"MAX(CASE WHEN r <= {QUANTILE[aggregate]} THEN v END)"
    return f"""
        SELECT bucket, COUNT(*) AS n, {pick} AS value
        FROM (SELECT bucket, v, PERCENT_RANK() OVER (PARTITION BY bucket ORDER BY v) AS r
              FROM ({values}) x) y
        GROUP BY bucket
    """


def _buckets(rows: list[Any]) -> dict[str, Bucket]:
    return {str(r.bucket): Bucket(int(r.n), None if r.value is None else float(r.value)) for r in rows}


class MetricQueries:
    """The SQL behind one project's figures, on one backend."""

    def __init__(
        self, s: Session, project: str, incident_filter_sql: str, filter_params: dict[str, Any]
    ) -> None:
        self.s = s
        self.d = Dialect.of(s.get_bind().dialect.name)
        self.project = project
        self.filter_sql = incident_filter_sql
        self.filter_params = filter_params

    def _params(self, window: Window, **extra: Any) -> dict[str, Any]:
        return {"project": self.project, "lo": window.start, "hi": window.end, **self.filter_params, **extra}

    # -- change failure rate -------------------------------------------------------------
    def change_failures(self, window: Window) -> dict[str, tuple[int, int]]:
        """{month: (deployments, deployments with ≥ 1 linked incident)} by deployment finish."""
        d = self.d
        sql = f"""
            SELECT {d.month_key("dep.finished_date")} AS bucket, COUNT(*) AS deployments,
                SUM(CASE WHEN EXISTS (
                    SELECT 1 FROM {PIDR} r JOIN incidents i ON i.id = r.id
                    WHERE r.deployment_id = dep.deployment_id AND r.project_name = :project
                ) THEN 1 ELSE 0 END) AS failed
            FROM ({deployments(windowed=True)}) dep
            GROUP BY {d.month_key("dep.finished_date")}
        """
        rows = _run(self.s, sql, self._params(window))
        return {str(r.bucket): (int(r.deployments), int(r.failed or 0)) for r in rows}

    # -- time to restore (2021) / failed deployment recovery time (2023) ----------------
    def time_to_restore(self, window: Window, aggregate: str) -> dict[str, Bucket]:
        """lead_time_minutes of incidents resolved in the period, by resolution month."""
        d = self.d
        values = f"""
            SELECT {d.month_key("i.resolution_date")} AS bucket, i.lead_time_minutes AS v
            FROM incidents i {project_incidents_join("i")}
            WHERE i.resolution_date >= :lo AND i.resolution_date < :hi AND ({self.filter_sql})
        """
        return self._with_overall(values, aggregate, window)

    def recovery_time(self, window: Window, aggregate: str) -> dict[str, Bucket]:
        """Minutes from the linked deployment's finish to resolution, by deployment month.

        As DevLake's panel: incidents resolved in the period, linked to deployments
        finished in the period.
        """
        d = self.d
        values = f"""
            SELECT {d.month_key("dep.finished_date")} AS bucket,
                   {d.minutes_between("dep.finished_date", "i.resolution_date")} AS v
            FROM incidents i
            JOIN {PIDR} r ON r.id = i.id AND r.project_name = :project
            JOIN ({deployments(windowed=True)}) dep ON dep.deployment_id = r.deployment_id
            WHERE i.resolution_date >= :lo AND i.resolution_date < :hi AND ({self.filter_sql})
        """
        return self._with_overall(values, aggregate, window)

    def _with_overall(self, values: str, aggregate: str, window: Window) -> dict[str, Bucket]:
        both = f"SELECT bucket, v FROM ({values}) a UNION ALL SELECT '*' AS bucket, v FROM ({values}) b"
        return _buckets(_run(self.s, aggregate_sql(both, aggregate), self._params(window)))

    # -- deployment frequency ------------------------------------------------------------
    def _calendar(self) -> str:
        """CTEs: `days` (every day of the period) and `per_day` (day, week, month, deployed)."""
        d = self.d
        digits = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(10))
        offset = "a.n + 10 * b.n + 100 * c.n + 1000 * e.n"
        first = "CAST(:first_day AS DATE)" if d.mysql else "date(:first_day)"
        return f"""
            digits AS ({digits}),
            days AS (
                SELECT {d.add_days(first, offset)} AS day
                FROM digits a CROSS JOIN digits b CROSS JOIN digits c CROSS JOIN digits e
                WHERE {offset} < :ndays
            ),
            dep AS ({deployments(windowed=True)}),
            dep_days AS (SELECT DISTINCT {d.day("dep.finished_date")} AS day FROM dep),
            per_day AS (
                SELECT days.day AS day, {d.week_start("days.day")} AS week, {d.month_start("days.day")} AS month,
                       CASE WHEN dd.day IS NULL THEN 0 ELSE 1 END AS deployed
                FROM days LEFT JOIN dep_days dd ON dd.day = days.day
            )
        """

    def _calendar_params(self, window: Window) -> dict[str, Any]:
        # DevLake counts whole calendar days, so deployments are taken over whole days too
        return {
            "project": self.project,
            "lo": window.day_start,
            "hi": window.day_end,
            "first_day": window.first_day.isoformat(),
            "ndays": window.days,
        }

    def deployment_days(self, window: Window, aggregate: str) -> dict[str, Bucket]:
        """Deployment days per week and per month: buckets 'w:*', 'w:<month>', 'm:*', 'm:<month>'.

        Weeks start on Monday (DevLake's WEEKDAY); weeks and months cut by the period count
        as they are, with zero-deployment weeks and months included.
        """
        month = self.d.month_key("month")
        values = f"""
            SELECT 'w:*' AS bucket, SUM(deployed) AS v FROM per_day GROUP BY week
            UNION ALL
            SELECT {self.d.concat("'w:'", month)}, SUM(deployed) FROM per_day GROUP BY month, week
            UNION ALL
            SELECT 'm:*', SUM(deployed) FROM per_day GROUP BY month
            UNION ALL
            SELECT {self.d.concat("'m:'", month)}, SUM(deployed) FROM per_day GROUP BY month
        """
        sql = f"WITH {self._calendar()} {aggregate_sql(values, aggregate)}"
        return _buckets(_run(self.s, sql, self._calendar_params(window)))

    def six_month_days(self, window: Window, aggregate: str) -> Bucket:
        """DevLake's 2021 figure: deployment days in rolling six-month spans, sampled as its panel does."""
        d = self.d
        values = f"""
            SELECT '*' AS bucket, s AS v FROM (
                SELECT SUM(days_deployed) OVER (ORDER BY month ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS s,
                       ROW_NUMBER() OVER (PARTITION BY {d.year_div_6("month")} ORDER BY month DESC) AS rn
                FROM (SELECT month, SUM(deployed) AS days_deployed FROM per_day GROUP BY month) m
            ) six
            WHERE rn % 6 = 1
        """
        sql = f"WITH {self._calendar()} {aggregate_sql(values, aggregate, upper_median=True)}"
        rows = _buckets(_run(self.s, sql, self._calendar_params(window)))
        return rows.get("*", Bucket(0, None))

    def deployment_counts(self, window: Window) -> dict[str, tuple[int, int]]:
        """{month: (deployments, deployment days)} over whole days of the period."""
        day = self.d.day("dep.finished_date")
        sql = f"""
            SELECT {self.d.month_key(day)} AS bucket, COUNT(*) AS deployments, COUNT(DISTINCT {day}) AS days
            FROM ({deployments(windowed=True)}) dep
            GROUP BY {self.d.month_key(day)}
        """
        params = {"project": self.project, "lo": window.day_start, "hi": window.day_end}
        return {str(r.bucket): (int(r.deployments), int(r.days)) for r in _run(self.s, sql, params)}
