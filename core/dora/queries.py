"""The metric queries: each returns a few rows per month, whatever the data volume.

Every aggregate is computed by the database. The median is DevLake's: the largest value
whose `percent_rank()` is at most 0.5 (the lower median); p90 likewise at 0.9; mean is AVG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from core.dora.dialect import Dialect, month_label
from core.dora.fragments import PIDR, numbers, project_incidents_join
from core.dora.window import Window
from core.models.base import UTCDateTime

QUANTILE = {"median": 0.5, "p90": 0.9}
WINDOW_DEPLOYMENTS = "_dora_window_deployments"  # temporary tables, per connection
PER_DAY = "_dora_per_day"


@dataclass(frozen=True)
class Bucket:
    count: int
    value: float | None


def _run(s: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run SQL text; datetime parameters are typed so SQLite compares them in its stored format."""
    typed = [
        bindparam(k, type_=UTCDateTime())
        for k, v in params.items()
        if isinstance(v, datetime) and re.search(rf":{k}\b", sql)
    ]
    result = s.execute(text(sql).bindparams(*typed), params)
    return list(result) if result.returns_rows else []


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


def histogram_sql(values: str, aggregate: str) -> str:
    """(bucket, n, value, overall) per month, from one scan of the rows.

    Rows are first counted per (month, value); a value's percent_rank is then the number of
    smaller values over (count - 1), from running sums over that much smaller histogram:
    within the month for the month's figure, across months (a RANGE frame takes all months'
    counts of a value at once) for the period's. It is the same figure as PERCENT_RANK()
    over the rows, without sorting every row twice; `less <= q * (total - 1)` is exact on
    both backends (no division). The period's figure is the largest qualifying value over
    the months' rows (`overall`). Mean: AVG, and sums and counts for the period's.
    """
    if aggregate == "mean":
        return f"""
            SELECT bucket, COUNT(*) AS n, AVG(v) AS value, NULL AS overall, SUM(v) AS s, COUNT(v) AS c
            FROM ({values}) x GROUP BY bucket
        """
    q = QUANTILE[aggregate]
    return f"""
        SELECT bucket, SUM(n) AS n, MAX(CASE WHEN less <= {q} * (total - 1) THEN v END) AS value,
               MAX(CASE WHEN less_all <= {q} * (total_all - 1) THEN v END) AS overall, NULL AS s, NULL AS c
        FROM (
            SELECT bucket, v, n,
                SUM(n) OVER (PARTITION BY bucket ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                    - n AS less,
                SUM(n) OVER (PARTITION BY bucket) AS total,
                SUM(n) OVER (ORDER BY v RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                    - SUM(n) OVER (PARTITION BY v) AS less_all,
                SUM(n) OVER () AS total_all
            FROM (SELECT bucket, v, COUNT(*) AS n FROM ({values}) x GROUP BY bucket, v) h
        ) ranked
        GROUP BY bucket
    """


@dataclass
class DeploymentFigures:
    """Per month: `failures` (deployments, failed) in [from, to); `counts` (deployments,
    deployment days) over whole days; `frequency` buckets 'w:*', 'w:<month>', 'm:*',
    'm:<month>' and 's:*' (deployment days per week, month, six months)."""

    failures: dict[str, tuple[int, int]] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    frequency: dict[str, Bucket] = field(default_factory=dict)


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

    # -- time to restore (2021) / failed deployment recovery time (2023) ----------------
    def time_to_restore(self, window: Window, aggregate: str) -> dict[str, Bucket]:
        """lead_time_minutes of incidents resolved in the period, by resolution month."""
        d = self.d
        values = f"""
            SELECT {d.stored_month("i.resolution_date")} AS bucket, i.lead_time_minutes AS v
            FROM incidents i {project_incidents_join("i")}
            WHERE i.resolution_date >= :lo AND i.resolution_date < :hi AND ({self.filter_sql})
        """
        return self._with_overall(values, aggregate, window)

    def recovery_time(self, window: Window, aggregate: str) -> dict[str, Bucket]:
        """Minutes from the linked deployment's finish to resolution, by deployment month.

        As DevLake's panel: incidents resolved in the period, linked to deployments
        finished in the period. The rows come from `_dora_links`, which the stage
        writes from the links, the incidents and the deployments it linked to.
        """
        d = self.d
        values = f"""
            SELECT {d.stored_month("x.deployment_finished_date")} AS bucket, x.recovery_minutes AS v
            FROM _dora_links x
            WHERE x.project_name = :project AND x.resolution_date >= :lo AND x.resolution_date < :hi
              AND x.deployment_finished_date >= :lo AND x.deployment_finished_date < :hi
        """
        return self._with_overall(values, aggregate, window)

    def _with_overall(self, values: str, aggregate: str, window: Window) -> dict[str, Bucket]:
        """Per month, and for the whole period under '*'."""
        rows = _run(self.s, histogram_sql(values, aggregate), self._params(window))
        out = {
            month_label(r.bucket): Bucket(int(r.n), None if r.value is None else float(r.value)) for r in rows
        }
        n = sum(int(r.n) for r in rows)
        if aggregate == "mean":
            count = sum(int(r.c) for r in rows)
            total = sum(float(r.s) for r in rows if r.s is not None)
            out["*"] = Bucket(n, total / count if count else None)
        else:  # the largest value qualifying over all rows is the largest of the months' ones
            parts = [float(r.overall) for r in rows if r.overall is not None]
            out["*"] = Bucket(n, max(parts) if parts else None)
        return out

    # -- deployments: change failure rate and deployment frequency, in one statement -------
    def deployment_figures(self, window: Window, aggregate: str, *, six_months: bool) -> DeploymentFigures:
        """Everything computed from the project's deployments, reading them once.

        Deployments are taken over the whole days of the period (DevLake counts deployment
        days over calendar days); the change failure rate keeps those finished in [from, to).
        Deployment days per week and month, as DevLake's panel: weeks start on Monday, weeks
        and months cut by the period count as they are, empty ones included.
        """
        d = self.d
        month = d.month_key("month")
        failed = (
            f"CASE WHEN EXISTS (SELECT 1 FROM {PIDR} r JOIN incidents i ON i.id = r.id "
            "WHERE r.deployment_id = dep.deployment_id AND r.project_name = :project) THEN 1 ELSE 0 END"
        )
        frequency = f"""
            SELECT 'w:*' AS bucket, SUM(deployed) AS v FROM {PER_DAY} GROUP BY week
            UNION ALL
            SELECT {d.concat("'w:'", month)}, SUM(deployed) FROM {PER_DAY} GROUP BY month, week
            UNION ALL
            SELECT 'm:*', SUM(deployed) FROM {PER_DAY} GROUP BY month
            UNION ALL
            SELECT {d.concat("'m:'", month)}, SUM(deployed) FROM {PER_DAY} GROUP BY month
        """
        # DevLake's 2021 figure: deployment days in rolling six-month spans, sampled as its panel does
        spans = f"""
            SELECT 's:*' AS bucket, s AS v FROM (
                SELECT SUM(days_deployed) OVER (ORDER BY month ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS s,
                       ROW_NUMBER() OVER (PARTITION BY {d.year_div_6("month")} ORDER BY month DESC) AS rn
                FROM (SELECT month, SUM(deployed) AS days_deployed FROM {PER_DAY} GROUP BY month) m
            ) six
            WHERE rn % 6 = 1
        """
        parts = [
            f"SELECT 'f' AS kind, bucket, n, value FROM ({aggregate_sql(frequency, aggregate)}) f",
            f"""SELECT 'c', {d.stored_month("dep.finished_date")}, COUNT(*), SUM({failed})
                FROM {WINDOW_DEPLOYMENTS} dep WHERE dep.finished_date >= :lo AND dep.finished_date < :hi
                GROUP BY {d.stored_month("dep.finished_date")}""",
            f"""SELECT 'd', {d.stored_month("dep.finished_date")}, COUNT(*), COUNT(DISTINCT {d.day("dep.finished_date")})
                FROM {WINDOW_DEPLOYMENTS} dep GROUP BY {d.stored_month("dep.finished_date")}""",
        ]
        if six_months:
            parts.append(
                f"SELECT 's', bucket, n, value FROM ({aggregate_sql(spans, aggregate, upper_median=True)}) s"
            )
        self._materialize_deployments(window)
        params = {"project": self.project, "lo": window.start, "hi": window.end}
        out = DeploymentFigures()
        rows = _run(self.s, " UNION ALL ".join(parts), params)
        for name in (WINDOW_DEPLOYMENTS, PER_DAY):
            self.s.execute(text(d.drop_temp(name)))
        for r in rows:
            value = None if r.value is None else float(r.value)
            if r.kind in ("f", "s"):
                out.frequency[month_label(r.bucket)] = Bucket(int(r.n), value)
            elif r.kind == "c":
                out.failures[month_label(r.bucket)] = (int(r.n), int(value or 0))
            else:
                out.counts[month_label(r.bucket)] = (int(r.n), int(value or 0))
        return out

    def _materialize_deployments(self, window: Window) -> None:
        """The period's deployments and days, each copied once into a temporary table.

        The deployments are the stage's `_dora_deployments` (the project's deployments, each
        dated by its last finish, as `fragments.deployments` defines them), read by an index
        range instead of grouping deployment commits again on every request: like the links
        the change failure rate counts, they are those of the project's last stage run.
        `PER_DAY` holds every day of the period with its week, month and whether anything
        was deployed. The statement reads both several times, and MariaDB evaluates a CTE
        once per reference.
        """
        d = self.d
        for name in (WINDOW_DEPLOYMENTS, PER_DAY):
            self.s.execute(text(d.drop_temp(name)))
        _run(
            self.s,
            d.create_temp(
                WINDOW_DEPLOYMENTS,
                "SELECT deployment_id, finished_date FROM _dora_deployments "
                "WHERE project_name = :project AND finished_date >= :lo AND finished_date < :hi",
            ),
            {"project": self.project, "lo": window.day_start, "hi": window.day_end},
        )
        _run(
            self.s,
            d.create_temp(
                PER_DAY,
                f"""
                SELECT days.day AS day, {d.week_start("days.day")} AS week, {d.month_start("days.day")} AS month,
                       CASE WHEN dd.day IS NULL THEN 0 ELSE 1 END AS deployed
                FROM (
                    SELECT {d.add_days(d.day(":first_day"), "seq.n")} AS day FROM ({numbers(4)}) seq WHERE seq.n < :ndays
                ) days
                LEFT JOIN (SELECT DISTINCT {d.day("finished_date")} AS day FROM {WINDOW_DEPLOYMENTS}) dd
                    ON dd.day = days.day
                """,
            ),
            {"first_day": window.first_day.isoformat(), "ndays": window.days},
        )
