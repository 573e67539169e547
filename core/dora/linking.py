"""The DORA stage of a project, step two: link its incidents to the deployments behind them.

Set-based on both backends: explicit links by a join on commit sha or version, the time
rule by equality joins from each incident to its time bucket and to the deployment found
there. Links are written to `_dora_links` (with the deployment's finish and the incident's
resolution, for the recovery time) and to `project_incident_deployment_relationships`:
SQLite copies the first into the second in the same transaction; MariaDB derives both side
by side on two connections, each table in its own transaction: for the moment between the
two commits they disagree, and if one fails the stage fails with its error while the other
keeps its new rows until the next run. `_dora_deployments` holds the project's deployments,
ranked by step one (`stage.rank_deployments`), for the time rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import Database
from core.dialect import typed
from core.dora.dialect import Dialect, session_settings
from core.dora.fragments import PIDR, numbers_upto, project_incidents_join
from core.dora.models import DoraDeployment, DoraLink
from core.dora.project import load_project
from core.dora.stage import now_params, side_by_side
from core.models.base import UTCDateTime

SCRATCH = DoraDeployment.__tablename__
LINKS = DoraLink.__tablename__
INCIDENT_COLUMN = {LINKS: "incident_id", PIDR: "id"}  # what each link table calls the incident
STAMPS = {LINKS: (), PIDR: ("now",)}  # its datetime parameters: the relationships' created/updated
EXPLICIT = "_dora_explicit"  # temporary tables, per connection
BUCKETED = "_dora_bucketed_deployments"
BUCKETS = "_dora_buckets"
PER_BUCKET = 1  # deployments per time bucket on average
SLOTS = 4  # finish times a bucket holds in its row; a bucket with more is counted by a lookup
EXPLICIT_SKEW_MS = 3_600_000  # how late a matching deployment may finish after the incident began


@dataclass
class LinkResult:
    explicit: int
    time: int

    @property
    def total(self) -> int:
        return self.explicit + self.time


def link_incidents(db: Database, project: str) -> LinkResult:
    """Rebuild the project's incident → deployment links: explicit first, then the time rule.

    Reads the project's incidents and its deployments as step one of the stage
    (`stage.rebuild_incidents`) left them in `incidents` and `_dora_deployments`.

    Explicit: the incident's `commit_sha` or `version` matches a production deployment of
    the project; the latest such deployment finished at or before the incident was created
    wins, else the earliest one finished at most an hour after it (a rollout reports its end
    after the new code started failing); ties go to the greatest deployment id. A match
    only later than that cannot have caused the incident, which then falls to the time rule.
    Time rule (DevLake's): the latest deployment of the project finished at or before the
    incident was created, within the project's linking window if it has one; ties on the
    finish time go to the greatest deployment id, so the result never depends on row order.
    """
    if not Dialect.of(db.dialect).mysql:  # one writer at a time: derive once, copy the rows
        return _link(db, project, LINKS, copy=True)
    # MariaDB: both tables derived side by side, each in its own transaction, instead of
    # copying a million rows after the fact
    return side_by_side(db, lambda: _link(db, project, LINKS), lambda: _link(db, project, PIDR))


def _link(db: Database, project: str, target: str, *, copy: bool = False) -> LinkResult:
    """Write the project's links into `target` (`LINKS` or `PIDR`); with `copy`, copy the
    links from `LINKS` to `PIDR` in the same transaction."""
    d = Dialect.of(db.dialect)
    with db.session() as s, session_settings(s, d.bulk_session_settings()):
        settings = load_project(s, project)
        predicate, params = settings.incident_filter.predicate("i", "flt")
        params.update(now_params(project))
        s.execute(text(f"DELETE FROM {target} WHERE project_name = :project"), params)
        explicit = s.execute(typed(_explicit_sql(d, predicate, target), *STAMPS[target]), params).rowcount
        window = ""
        if settings.linking_window_hours is not None:
            params["window_ms"] = round(settings.linking_window_hours * 3_600_000)
            window = f"AND {d.millis_between('nd.finished_date', 'i.created_date')} <= :window_ms"
        # the explicitly linked incidents, apart: the time rule's INSERT then does not read the
        # table it writes, which both backends would answer by buffering all its rows first
        s.execute(text(d.drop_temp(EXPLICIT)))
        s.execute(text(f"CREATE TEMPORARY TABLE {EXPLICIT} (incident_id VARCHAR(255) NOT NULL PRIMARY KEY)"))
        s.execute(
            text(
                f"INSERT INTO {EXPLICIT} (incident_id) "
                f"SELECT {INCIDENT_COLUMN[target]} FROM {target} WHERE project_name = :project"
            ),
            params,
        )
        timed = _link_by_time(s, d, predicate, window, params, target)
        s.execute(text(d.drop_temp(EXPLICIT)))
        if copy:
            s.execute(text(f"DELETE FROM {PIDR} WHERE project_name = :project"), params)
            s.execute(
                typed(
                    f"{_insert_link(d, PIDR, 'incident_id', 'deployment_id', 'link_type', '', '')} "
                    f"FROM {LINKS} WHERE project_name = :project",
                    *STAMPS[PIDR],
                ),
                params,
            )
    return LinkResult(explicit=max(explicit, 0), time=max(timed, 0))


def _explicit_sql(d: Dialect, predicate: str, target: str) -> str:
    def match(column: str) -> str:
        same = f"c.{column} = i.{column}"
        if d.mysql:  # the index finds candidates; the binary test makes both backends agree
            same += f" AND {d.binary(f'c.{column}')} = i.{column}"
        return f"""
            SELECT i.id AS incident_id, i.created_date, i.resolution_date, c.cicd_deployment_id AS deployment_id
            FROM incidents i
            {project_incidents_join("i")}
            JOIN cicd_deployment_commits c ON {same}
            WHERE i.{column} IS NOT NULL AND i.{column} <> ''
              AND c.result = 'SUCCESS' AND c.environment = 'PRODUCTION' AND ({predicate})
        """

    before = "m.finished_date <= m.created_date"
    return f"""
        {_insert_link(d, target, "r.incident_id", "r.deployment_id", "'explicit'", "r.finished_date", "r.resolution_date")}
        FROM (
            SELECT m.incident_id, m.deployment_id, m.finished_date, m.resolution_date,
                ROW_NUMBER() OVER (
                    PARTITION BY m.incident_id
                    ORDER BY CASE WHEN {before} THEN 0 ELSE 1 END,
                             CASE WHEN {before} THEN m.finished_date END DESC,
                             m.finished_date ASC,
                             m.deployment_id DESC
                ) AS rn
            FROM (
                SELECT DISTINCT cand.incident_id, cand.created_date, cand.resolution_date,
                       dep.deployment_id, dep.finished_date
                FROM ({match("commit_sha")} UNION ALL {match("version")}) cand
                JOIN {SCRATCH} dep ON dep.project_name = :project AND dep.deployment_id = cand.deployment_id
                WHERE {d.millis_between("cand.created_date", "dep.finished_date")} <= {EXPLICIT_SKEW_MS}
            ) m
        ) r
        WHERE r.rn = 1
    """


def _insert_link(
    d: Dialect,
    target: str,
    incident: str,
    deployment: str,
    kind: str,
    finished: str,
    resolved: str,
    hint: str = "",
) -> str:
    """INSERT INTO `target` … SELECT its columns: the links with the recovery time derived once
    here (`LINKS`), or DevLake's relationships (`PIDR`, which need neither time)."""
    if target == PIDR:
        return f"""INSERT INTO {PIDR} (id, project_name, deployment_id, link_type,
                _raw_data_params, _raw_data_table, created_at, updated_at)
            SELECT {hint} {incident}, :project, {deployment}, {kind}, :params, 'incidents', :now, :now"""
    recovery = d.minutes_between(finished, resolved)
    return f"""INSERT INTO {LINKS} (project_name, incident_id, deployment_id, link_type, deployment_finished_date,
            resolution_date, recovery_minutes)
        SELECT {hint} :project, {incident}, {deployment}, {kind}, {finished}, {resolved},
            CASE WHEN {resolved} IS NOT NULL THEN {recovery} END"""


def _link_by_time(
    s: Session, d: Dialect, predicate: str, window: str, params: dict[str, Any], target: str
) -> int:
    """The time rule: each incident takes the deployment whose ordinal is the number of the
    project's deployments finished at or before its creation.

    Deployments are numbered by (finish, id), so that count is the ordinal of the latest
    one, ties going to the greatest id. It is found per incident from one row of
    `BUCKETS`, the time bucket it falls in (buckets are sized to hold about one deployment):
    the deployments of earlier buckets plus those of its own finished by then, compared
    with the bucket's first `SLOTS` finish times held in the row (a fuller bucket counts
    its deployments by an index lookup). Equality joins only: a range lookup correlated
    to each incident does not use its index on MariaDB, and a sort of every deployment and
    incident together spills a million wide rows to disk there.
    """
    stats = s.execute(
        text(
            f"SELECT MIN(finished_date) AS lo, MAX(finished_date) AS hi, COUNT(*) AS n FROM {SCRATCH} "
            "WHERE project_name = :project"
        ).columns(lo=UTCDateTime(), hi=UTCDateTime()),
        params,
    ).one()
    if not stats.n:
        return 0
    span_ms = round((stats.hi - stats.lo).total_seconds() * 1000)
    bucket_ms = max(1000, math.ceil(span_ms * PER_BUCKET / stats.n))
    params = {**params, "epoch": stats.lo, "bucket_ms": bucket_ms, "last": span_ms // bucket_ms + 1}
    bucket = d.int_div(d.millis_between(":epoch", "{ts}"), ":bucket_ms")
    slots = range(1, SLOTS + 1)
    for name in (BUCKETED, BUCKETS):
        s.execute(text(d.drop_temp(name)))
    # the (bucket, finish) index declared in the table: MariaDB commits the transaction on
    # CREATE INDEX, even on a temporary table
    s.execute(
        text(
            f"CREATE TEMPORARY TABLE {BUCKETED} (ordinal BIGINT NOT NULL PRIMARY KEY, bucket BIGINT NOT NULL, "
            f"finished_date {d.datetime_type} NOT NULL, deployment_id VARCHAR(255) NOT NULL, "
            "UNIQUE (bucket, finished_date, ordinal))"
        )
    )
    s.execute(
        typed(
            f"INSERT INTO {BUCKETED} (ordinal, bucket, finished_date, deployment_id) "
            f"SELECT ordinal, {bucket.format(ts='finished_date')}, finished_date, deployment_id FROM {SCRATCH} "
            "WHERE project_name = :project",
            "epoch",
        ),
        params,
    )
    # every bucket from the first deployment's to the one after the last's: how many
    # deployments finished in earlier buckets, and the first finish times of its own
    finishes = ", ".join(f"f{k} {d.datetime_type}" for k in slots)
    s.execute(
        text(
            f"CREATE TEMPORARY TABLE {BUCKETS} (bucket BIGINT NOT NULL PRIMARY KEY, earlier BIGINT NOT NULL, "
            f"crowded INTEGER NOT NULL, {finishes})"
        )
    )
    s.execute(
        text(
            f"""
            INSERT INTO {BUCKETS} (bucket, earlier, crowded, {", ".join(f"f{k}" for k in slots)})
            SELECT bucket,
                COALESCE(SUM(n) OVER (ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
                CASE WHEN n > {SLOTS} THEN 1 ELSE 0 END, {", ".join(f"f{k}" for k in slots)}
            FROM (
                SELECT bucket, SUM(n) AS n, {", ".join(f"MAX(f{k}) AS f{k}" for k in slots)} FROM (
                    SELECT bucket, 1 AS n, {", ".join(f"CASE WHEN rn = {k} THEN finished_date END AS f{k}" for k in slots)}
                    FROM (
                        SELECT bucket, finished_date, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY ordinal) AS rn
                        FROM {BUCKETED}
                    ) ranked
                    UNION ALL
                    SELECT num, 0, {", ".join("NULL" for _ in slots)}
                    FROM ({numbers_upto(params["last"], "num")}) seq WHERE num <= :last
                ) counted
                GROUP BY bucket
            ) per_bucket
            """
        ),
        params,
    )
    own = " + ".join(f"CASE WHEN b.f{k} <= i.created_date THEN 1 ELSE 0 END" for k in slots)
    latest = f"""b.earlier + CASE WHEN b.crowded = 1
        THEN (SELECT COUNT(*) FROM {BUCKETED} bd WHERE bd.bucket = b.bucket AND bd.finished_date <= i.created_date)
        ELSE {own} END"""
    at = bucket.format(ts="i.created_date")
    timed = s.execute(
        typed(
            f"""
            {_insert_link(d, target, "i.id", "nd.deployment_id", "'time'", "nd.finished_date", "i.resolution_date", d.straight_join)}
            FROM incidents i
            {project_incidents_join("i")}
            JOIN {BUCKETS} b ON b.bucket = {d.clamp(at, "0", ":last")}
            LEFT JOIN {EXPLICIT} e ON e.incident_id = i.id
            JOIN {BUCKETED} nd ON nd.ordinal = {latest}
            WHERE i.created_date IS NOT NULL AND ({predicate}) AND e.incident_id IS NULL {window}
            """,
            "epoch",
            *STAMPS[target],
        ),
        params,
    ).rowcount
    for name in (BUCKETED, BUCKETS):
        s.execute(text(d.drop_temp(name)))
    return timed
