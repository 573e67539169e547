"""The DORA stage of a project: rebuild its incidents, then link them to deployments.

Both steps are a handful of set-based statements (DELETE, then INSERT … SELECT), so a
million incidents cost a few statements, not a million round trips. Each step runs in
one transaction: readers see the old rows until the new ones are complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from core.db import Database
from core.dora.dialect import Dialect
from core.dora.fragments import PIDR, deployments, project_boards, project_incidents_join
from core.dora.models import DoraDeployment, DoraRecovery
from core.dora.project import load_project, sharing_filters
from core.models import Incident, utcnow
from core.models.base import UTCDateTime

_OWN = {"id", "incident_key", "parent_incident_id", "table", "scope_id", "lead_time_minutes"}
_PROVENANCE = {
    "_raw_data_params",
    "_raw_data_table",
    "_raw_data_id",
    "_raw_data_remark",
    "created_at",
    "updated_at",
}
SCRATCH = DoraDeployment.__tablename__
RECOVERIES = DoraRecovery.__tablename__
EXPLICIT_SKEW_MS = 3_600_000  # how late a matching deployment may finish after the incident began
# columns incidents share with issues, copied as they are
COPIED = [c.name for c in Incident.__table__.columns if c.name not in _OWN | _PROVENANCE]


@dataclass
class RebuildResult:
    incidents: int
    assignees: int


@dataclass
class LinkResult:
    explicit: int
    time: int

    @property
    def total(self) -> int:
        return self.explicit + self.time


def raw_params(project: str) -> str:
    """DevLake's `_raw_data_params` for rows its dora plugin derives for a project."""
    return json.dumps({"ProjectName": project}, separators=(",", ":"))


def _now_params(project: str) -> dict[str, Any]:
    return {"project": project, "params": raw_params(project), "now": utcnow()}


def _typed(sql: str, *datetimes: str) -> Any:
    """text() with datetime parameters typed, so SQLite compares them in its stored format."""
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in datetimes))


def rebuild_incidents(db: Database, project: str) -> RebuildResult:
    """Replace the project's `incidents`/`incident_assignees` with its INCIDENT issues, filtered."""
    d = Dialect.of(db.dialect)
    with db.session() as s:
        filters = sharing_filters(s, project)
        params = _now_params(project)
        boards = project_boards()
        # drop what the project's boards produced before, and its issues wherever they went
        s.execute(
            text(
                "DELETE FROM incident_assignees WHERE incident_id IN "
                f"(SELECT id FROM incidents WHERE `table` = 'boards' AND scope_id IN ({boards}))"
            ),
            params,
        )
        s.execute(
            text(
                "DELETE FROM incident_assignees WHERE incident_id IN "
                f"(SELECT bi.issue_id FROM board_issues bi WHERE bi.board_id IN ({boards}))"
            ),
            params,
        )
        s.execute(text(f"DELETE FROM incidents WHERE `table` = 'boards' AND scope_id IN ({boards})"), params)
        s.execute(
            text(
                "DELETE FROM incidents WHERE id IN "
                f"(SELECT bi.issue_id FROM board_issues bi WHERE bi.board_id IN ({boards}))"
            ),
            params,
        )
        allowed, filter_params = _allowed_by_any(filters)
        params.update(filter_params)
        lead_time = (
            "COALESCE(i.lead_time_minutes, CASE WHEN i.resolution_date IS NOT NULL AND i.created_date IS NOT NULL "
            f"THEN {d.minutes_between('i.created_date', 'i.resolution_date')} END)"
        )
        columns = ", ".join(f"`{c}`" for c in COPIED)
        copied = ", ".join(f"i.`{c}`" for c in COPIED)
        inserted = s.execute(
            _typed(
                f"""
                INSERT INTO incidents (`id`, incident_key, parent_incident_id, `table`, scope_id,
                    lead_time_minutes, {columns},
                    _raw_data_params, _raw_data_table, created_at, updated_at)
                SELECT i.id, i.issue_key, i.parent_issue_id, 'boards', q.board_id,
                    {lead_time}, {copied},
                    :params, 'issues', :now, :now
                FROM (
                    SELECT bi.issue_id, MIN(bi.board_id) AS board_id
                    FROM board_issues bi
                    JOIN issues f ON f.id = bi.issue_id
                    JOIN project_mapping pm ON pm.row_id = bi.board_id AND pm.`table` = 'boards'
                    WHERE bi.board_id IN ({boards}) AND f.type = 'INCIDENT' AND ({allowed})
                    GROUP BY bi.issue_id
                ) q
                JOIN issues i ON i.id = q.issue_id
                """,
                "now",
            ),
            params,
        ).rowcount
        assignees = s.execute(
            _typed(
                f"""
                INSERT INTO incident_assignees (incident_id, assignee_id, assignee_name,
                    _raw_data_params, _raw_data_table, created_at, updated_at)
                SELECT a.incident_id, a.assignee_id, MAX(a.assignee_name), :params, 'issue_assignees', :now, :now
                FROM (
                    SELECT ia.issue_id AS incident_id, ia.assignee_id, ia.assignee_name
                    FROM issue_assignees ia
                    JOIN incidents n ON n.id = ia.issue_id
                    WHERE n.`table` = 'boards' AND n.scope_id IN ({boards})
                    UNION ALL
                    SELECT n.id, n.assignee_id, n.assignee_name
                    FROM incidents n
                    WHERE n.`table` = 'boards' AND n.scope_id IN ({boards})
                      AND n.assignee_id IS NOT NULL AND n.assignee_id <> ''
                ) a
                GROUP BY a.incident_id, a.assignee_id
                """,
                "now",
            ),
            params,
        ).rowcount
    return RebuildResult(incidents=max(inserted, 0), assignees=max(assignees, 0))


def _allowed_by_any(filters: list[tuple[str, Any]]) -> tuple[str, dict[str, Any]]:
    """True for (issue `f`, mapping `pm`) pairs some owning project's filter lets through."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for n, (name, incident_filter) in enumerate(filters):
        predicate, p = incident_filter.predicate("f", f"f{n}")
        params.update(p)
        params[f"owner{n}"] = name
        clauses.append(f"(pm.project_name = :owner{n} AND {predicate})")
    return " OR ".join(clauses), params


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
    with db.session() as s:
        settings = load_project(s, project)
        predicate, params = settings.incident_filter.predicate("i", "flt")
        params.update(_now_params(project))
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
        s.execute(text(f"DELETE FROM {PIDR} WHERE project_name = :project"), params)
        explicit = s.execute(_typed(_explicit_sql(d, predicate), "now"), params).rowcount
        window = ""
        if settings.linking_window_hours is not None:
            params["window_ms"] = round(settings.linking_window_hours * 3_600_000)
            window = f"AND {d.millis_between('nd.finished_date', 'x.created_date')} <= :window_ms"
        timed = s.execute(_typed(_time_sql(predicate, window), "now"), params).rowcount
        _write_recoveries(s, d, params)
    return LinkResult(explicit=max(explicit, 0), time=max(timed, 0))


def _write_recoveries(s: Session, d: Dialect, params: dict[str, Any]) -> None:
    """Each resolved, linked incident with its deployment's finish: the recovery time's rows."""
    s.execute(text(f"DELETE FROM {RECOVERIES} WHERE project_name = :project"), params)
    s.execute(
        text(
            f"""
            INSERT INTO {RECOVERIES} (project_name, incident_id, deployment_id, deployment_finished_date,
                resolution_date, recovery_minutes)
            SELECT :project, r.id, r.deployment_id, t.finished_date, i.resolution_date,
                {d.minutes_between("t.finished_date", "i.resolution_date")}
            FROM {PIDR} r
            JOIN incidents i ON i.id = r.id
            JOIN {SCRATCH} t ON t.project_name = :project AND t.deployment_id = r.deployment_id
            WHERE r.project_name = :project AND i.resolution_date IS NOT NULL
            """
        ),
        params,
    )


def _explicit_sql(d: Dialect, predicate: str) -> str:
    def match(column: str) -> str:
        same = f"c.{column} = i.{column}"
        if d.mysql:  # the index finds candidates; the binary test makes both backends agree
            same += f" AND {d.binary(f'c.{column}')} = i.{column}"
        return f"""
            SELECT i.id AS incident_id, i.created_date, c.cicd_deployment_id AS deployment_id
            FROM incidents i
            {project_incidents_join("i")}
            JOIN cicd_deployment_commits c ON {same}
            WHERE i.{column} IS NOT NULL AND i.{column} <> ''
              AND c.result = 'SUCCESS' AND c.environment = 'PRODUCTION' AND ({predicate})
        """

    before = "m.finished_date <= m.created_date"
    return f"""
        INSERT INTO {PIDR} (id, project_name, deployment_id, link_type,
            _raw_data_params, _raw_data_table, created_at, updated_at)
        SELECT r.incident_id, :project, r.deployment_id, 'explicit', :params, 'incidents', :now, :now
        FROM (
            SELECT m.incident_id, m.deployment_id,
                ROW_NUMBER() OVER (
                    PARTITION BY m.incident_id
                    ORDER BY CASE WHEN {before} THEN 0 ELSE 1 END,
                             CASE WHEN {before} THEN m.finished_date END DESC,
                             m.finished_date ASC,
                             m.deployment_id DESC
                ) AS rn
            FROM (
                SELECT DISTINCT cand.incident_id, cand.created_date, dep.deployment_id, dep.finished_date
                FROM ({match("commit_sha")} UNION ALL {match("version")}) cand
                JOIN {SCRATCH} dep ON dep.project_name = :project AND dep.deployment_id = cand.deployment_id
                WHERE {d.millis_between("cand.created_date", "dep.finished_date")} <= {EXPLICIT_SKEW_MS}
            ) m
        ) r
        WHERE r.rn = 1
    """


def _time_sql(predicate: str, window: str) -> str:
    """The time rule as one sort: deployments and incidents in time order, a running count.

    An incident's running count of deployments (deployments first at equal instants, so
    "at or before") is the `ordinal` of the latest deployment before it, deployments being
    numbered by (finish, id): ties go to the greatest id. A running SUM stays linear on
    every backend (a running MAX or a per-incident range lookup does not on MariaDB), and
    the ordinal is an indexed lookup (a join on a computed rank is not, on SQLite).
    """
    return f"""
        INSERT INTO {PIDR} (id, project_name, deployment_id, link_type,
            _raw_data_params, _raw_data_table, created_at, updated_at)
        SELECT x.id, :project, nd.deployment_id, 'time', :params, 'incidents', :now, :now
        FROM (
            SELECT ev.kind, ev.id, ev.t AS created_date,
                SUM(CASE WHEN ev.kind = 0 THEN 1 ELSE 0 END)
                    OVER (ORDER BY ev.t, ev.kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
            FROM (
                SELECT 0 AS kind, NULL AS id, d.finished_date AS t
                FROM {SCRATCH} d WHERE d.project_name = :project
                UNION ALL
                SELECT 1, i.id, i.created_date
                FROM incidents i
                {project_incidents_join("i")}
                WHERE i.created_date IS NOT NULL AND ({predicate})
                  AND NOT EXISTS (SELECT 1 FROM {PIDR} e WHERE e.id = i.id AND e.project_name = :project)
            ) ev
        ) x
        JOIN {SCRATCH} nd ON nd.project_name = :project AND nd.ordinal = x.n
        WHERE x.kind = 1 {window}
    """


def incident_count(s: Session, project: str) -> int:
    """Incidents the project's boards hold now (before its filter)."""
    q = text(f"SELECT COUNT(*) FROM incidents i {project_incidents_join('i')}")
    return int(s.execute(q, {"project": project}).scalar_one())
