"""The DORA stage of a project, step two: link its incidents to the deployments behind them.

Set-based on both backends: explicit links by a join on commit sha or version, the time
rule by one sorted pass over deployments and incidents. Links are written to `_dora_links`
(with the deployment's finish and the incident's resolution, for the recovery time) and
copied from there to `project_incident_deployment_relationships`; `_dora_deployments` holds
the project's deployments, ranked, for the time rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from core.db import Database
from core.dialect import typed
from core.dora.dialect import Dialect, session_settings
from core.dora.fragments import PIDR, deployments, project_incidents_join
from core.dora.models import DoraDeployment, DoraLink
from core.dora.project import load_project
from core.dora.stage import now_params

SCRATCH = DoraDeployment.__tablename__
LINKS = DoraLink.__tablename__
EXPLICIT = "_dora_explicit"  # a temporary table, per connection
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

    Explicit: the incident's `commit_sha` or `version` matches a production deployment of
    the project; the latest such deployment finished at or before the incident was created
    wins, else the earliest one finished at most an hour after it (a rollout reports its end
    after the new code started failing); ties go to the greatest deployment id. A match
    only later than that cannot have caused the incident, which then falls to the time rule.
    Time rule (DevLake's): the latest deployment of the project finished at or before the
    incident was created, within the project's linking window if it has one; ties on the
    finish time go to the greatest deployment id, so the result never depends on row order.
    """
    d = Dialect.of(db.dialect)
    with db.session() as s, session_settings(s, d.bulk_session_settings()):
        settings = load_project(s, project)
        predicate, params = settings.incident_filter.predicate("i", "flt")
        params.update(now_params(project))
        # the project's deployments, indexed by finish time, for one lookup per incident
        s.execute(text(f"DELETE FROM {SCRATCH} WHERE project_name = :project"), params)
        order = f"dep.finished_date, {d.binary('dep.deployment_id')}"
        s.execute(
            text(
                f"INSERT INTO {SCRATCH} (project_name, deployment_id, finished_date, ordinal) "
                f"SELECT :project, dep.deployment_id, dep.finished_date, ROW_NUMBER() OVER (ORDER BY {order}) "
                f"FROM ({deployments(windowed=False)}) dep"
            ),
            params,
        )
        s.execute(text(f"DELETE FROM {LINKS} WHERE project_name = :project"), params)
        explicit = s.execute(text(_explicit_sql(d, predicate)), params).rowcount
        window = ""
        if settings.linking_window_hours is not None:
            params["window_ms"] = round(settings.linking_window_hours * 3_600_000)
            window = f"AND {d.millis_between('nd.finished_date', 'x.created_date')} <= :window_ms"
        # the explicitly linked incidents, apart: the time rule's INSERT then does not read the
        # table it writes, which both backends would answer by buffering all its rows first
        s.execute(text(d.drop_temp(EXPLICIT)))
        s.execute(text(f"CREATE TEMPORARY TABLE {EXPLICIT} (incident_id VARCHAR(255) NOT NULL PRIMARY KEY)"))
        s.execute(
            text(
                f"INSERT INTO {EXPLICIT} (incident_id) SELECT incident_id FROM {LINKS} WHERE project_name = :project"
            ),
            params,
        )
        timed = s.execute(text(_time_sql(d, predicate, window)), params).rowcount
        s.execute(text(d.drop_temp(EXPLICIT)))
        s.execute(text(f"DELETE FROM {PIDR} WHERE project_name = :project"), params)
        s.execute(
            typed(
                f"""
                INSERT INTO {PIDR} (id, project_name, deployment_id, link_type,
                    _raw_data_params, _raw_data_table, created_at, updated_at)
                SELECT incident_id, project_name, deployment_id, link_type, :params, 'incidents', :now, :now
                FROM {LINKS} WHERE project_name = :project
                """,
                "now",
            ),
            params,
        )
    return LinkResult(explicit=max(explicit, 0), time=max(timed, 0))


def _explicit_sql(d: Dialect, predicate: str) -> str:
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
        {_insert_link(d, "r.incident_id", "r.deployment_id", "'explicit'", "r.finished_date", "r.resolution_date")}
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


def _insert_link(d: Dialect, incident: str, deployment: str, kind: str, finished: str, resolved: str) -> str:
    """INSERT INTO the project's links … SELECT their columns, the recovery time derived once here."""
    recovery = d.minutes_between(finished, resolved)
    return f"""INSERT INTO {LINKS} (project_name, incident_id, deployment_id, link_type, deployment_finished_date,
            resolution_date, recovery_minutes)
        SELECT :project, {incident}, {deployment}, {kind}, {finished}, {resolved},
            CASE WHEN {resolved} IS NOT NULL THEN {recovery} END"""


def _time_sql(d: Dialect, predicate: str, window: str) -> str:
    """The time rule as one sort: deployments and incidents in time order, a running count.

    An incident's running count of deployments (deployments first at equal instants, so
    "at or before") is the `ordinal` of the latest deployment before it, deployments being
    numbered by (finish, id): ties go to the greatest id. A running SUM stays linear on
    every backend (a running MAX or a per-incident range lookup does not on MariaDB), and
    the ordinal is an indexed lookup (a join on a computed rank is not, on SQLite).
    """
    return f"""
        {_insert_link(d, "x.id", "nd.deployment_id", "'time'", "nd.finished_date", "x.resolution_date")}
        FROM (
            SELECT ev.kind, ev.id, ev.t AS created_date, ev.resolution_date,
                SUM(CASE WHEN ev.kind = 0 THEN 1 ELSE 0 END)
                    OVER (ORDER BY ev.t, ev.kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
            FROM (
                SELECT 0 AS kind, NULL AS id, d.finished_date AS t, NULL AS resolution_date
                FROM {SCRATCH} d WHERE d.project_name = :project
                UNION ALL
                SELECT 1, i.id, i.created_date, i.resolution_date
                FROM incidents i
                {project_incidents_join("i")}
                WHERE i.created_date IS NOT NULL AND ({predicate})
                  AND NOT EXISTS (SELECT 1 FROM {EXPLICIT} e WHERE e.incident_id = i.id)
            ) ev
        ) x
        JOIN {SCRATCH} nd ON nd.project_name = :project AND nd.ordinal = x.n
        WHERE x.kind = 1 {window}
    """
