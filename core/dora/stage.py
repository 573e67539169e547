"""The DORA stage of a project, step one: rebuild its incidents from its issues, and rank
its deployments for linking.

Both steps (this one and linking, in `linking.py`) are a handful of set-based statements
(DELETE, then INSERT … SELECT), so a million incidents cost a few statements, not a million
round trips. Each table is rewritten in one transaction: readers see the old rows until the
new ones are complete. Step one's two parts share no table: on MariaDB they run side by side
on two connections (two cores); SQLite, one writer at a time, runs them in turn.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text

from core.db import Database
from core.dialect import typed
from core.dora.dialect import Dialect, session_settings
from core.dora.fragments import deployments, project_boards
from core.dora.models import DoraDeployment
from core.dora.project import sharing_filters
from core.models import Incident, utcnow

T = TypeVar("T")
_OWN = {"id", "incident_key", "parent_incident_id", "table", "scope_id", "lead_time_minutes"}
_PROVENANCE = {
    "_raw_data_params",
    "_raw_data_table",
    "_raw_data_id",
    "_raw_data_remark",
    "created_at",
    "updated_at",
}
# columns incidents share with issues, copied as they are
COPIED = [c.name for c in Incident.__table__.columns if c.name not in _OWN | _PROVENANCE]


@dataclass
class RebuildResult:
    incidents: int
    assignees: int


def raw_params(project: str) -> str:
    """DevLake's `_raw_data_params` for rows its dora plugin derives for a project."""
    return json.dumps({"ProjectName": project}, separators=(",", ":"))


def now_params(project: str) -> dict[str, Any]:
    return {"project": project, "params": raw_params(project), "now": utcnow()}


def side_by_side(db: Database, main: Callable[[], T], other: Callable[[], object]) -> T:
    """Run two parts of the stage that share no table and return `main`'s result: at once on
    two connections on MariaDB (two cores), in turn on SQLite (one writer at a time)."""
    if not Dialect.of(db.dialect).mysql:
        other()
        return main()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dora-stage") as pool:
        pending = pool.submit(other)
        result = main()
        pending.result()
    return result


def rebuild_incidents(db: Database, project: str) -> RebuildResult:
    """Replace the project's `incidents`/`incident_assignees` with its INCIDENT issues,
    filtered, beside `rank_deployments`."""
    return side_by_side(db, lambda: _rebuild(db, project), lambda: rank_deployments(db, project))


def rank_deployments(db: Database, project: str) -> None:
    """`_dora_deployments`: the project's deployments numbered by (finish, id), which the
    time rule looks up by number, and `/dora` reads by finish."""
    d = Dialect.of(db.dialect)
    with db.session() as s, session_settings(s, d.bulk_session_settings()):
        params = {"project": project}
        s.execute(text(f"DELETE FROM {DoraDeployment.__tablename__} WHERE project_name = :project"), params)
        order = f"dep.finished_date, {d.binary('dep.deployment_id')}"
        s.execute(
            text(
                f"INSERT INTO {DoraDeployment.__tablename__} (project_name, deployment_id, finished_date, ordinal) "
                f"SELECT :project, dep.deployment_id, dep.finished_date, ROW_NUMBER() OVER (ORDER BY {order}) "
                f"FROM ({deployments(windowed=False)}) dep"
            ),
            params,
        )


def _rebuild(db: Database, project: str) -> RebuildResult:
    d = Dialect.of(db.dialect)
    with db.session() as s, session_settings(s, d.bulk_session_settings()):
        filters = sharing_filters(s, project)
        params = now_params(project)
        boards = project_boards()
        # drop what the project's boards produced before, and its issues wherever they went
        s.execute(
            text(
                "DELETE FROM incident_assignees WHERE incident_id IN "
                f"(SELECT id FROM incidents WHERE `table` = 'boards' AND scope_id IN ({boards}))"
            ),
            params,
        )
        s.execute(text(_delete_issues_of_boards(d, "incident_assignees", "incident_id", boards)), params)
        s.execute(text(f"DELETE FROM incidents WHERE `table` = 'boards' AND scope_id IN ({boards})"), params)
        s.execute(text(_delete_issues_of_boards(d, "incidents", "id", boards)), params)
        allowed, filter_params = _allowed_by_any(filters)
        params.update(filter_params)
        lead_time = (
            "COALESCE(i.lead_time_minutes, CASE WHEN i.resolution_date IS NOT NULL AND i.created_date IS NOT NULL "
            f"THEN {d.minutes_between('i.created_date', 'i.resolution_date')} END)"
        )
        columns = ", ".join(f"`{c}`" for c in COPIED)
        copied = ", ".join(f"i.`{c}`" for c in COPIED)
        inserted = s.execute(
            typed(
                f"""
                INSERT INTO incidents (`id`, incident_key, parent_incident_id, `table`, scope_id,
                    lead_time_minutes, {columns},
                    _raw_data_params, _raw_data_table, created_at, updated_at)
                SELECT i.id, i.issue_key, i.parent_issue_id, 'boards', q.board_id,
                    {lead_time}, {copied},
                    :params, 'issues', :now, :now
                {_project_issues(d, boards, allowed)}
                """,
                "now",
            ),
            params,
        ).rowcount
        assignees = s.execute(
            typed(
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


def _project_issues(d: Dialect, boards: str, allowed: str) -> str:
    """FROM clause: the INCIDENT issues `i` of the project's boards, each once, with `q.board_id`.

    An issue on several of the project's boards lands on the smallest board whose owners'
    filter lets it through. MariaDB rules the other boards out by NOT EXISTS, a lookup per
    row: a GROUP BY over every issue id sorts in a temporary table three times slower than
    the rest of the statement. SQLite groups faster than it runs those lookups.
    """
    if not d.mysql:
        return f"""
            FROM (
                SELECT bi.issue_id, MIN(bi.board_id) AS board_id
                FROM board_issues bi
                JOIN issues i ON i.id = bi.issue_id
                JOIN project_mapping pm ON pm.row_id = bi.board_id AND pm.`table` = 'boards'
                WHERE bi.board_id IN ({boards}) AND i.type = 'INCIDENT' AND ({allowed})
                GROUP BY bi.issue_id
            ) q
            JOIN issues i ON i.id = q.issue_id
        """
    return f"""
        FROM board_issues q
        JOIN issues i ON i.id = q.issue_id
        WHERE q.board_id IN ({boards}) AND i.type = 'INCIDENT'
          AND EXISTS (
              SELECT 1 FROM project_mapping pm
              WHERE pm.row_id = q.board_id AND pm.`table` = 'boards' AND ({allowed}))
          AND NOT EXISTS (
              SELECT 1 FROM board_issues b2
              JOIN project_mapping pm ON pm.row_id = b2.board_id AND pm.`table` = 'boards'
              WHERE b2.issue_id = q.issue_id AND b2.board_id < q.board_id
                AND b2.board_id IN ({boards}) AND ({allowed}))
    """


def _delete_issues_of_boards(d: Dialect, table: str, column: str, boards: str) -> str:
    """DELETE the rows of `table` whose `column` is an issue of the project's boards.

    SQLite builds the whole IN list (a million issue ids) before deleting anything, even
    from an empty table; a correlated EXISTS costs nothing when there is nothing to delete.
    """
    if d.mysql:
        return f"DELETE FROM {table} WHERE {column} IN (SELECT bi.issue_id FROM board_issues bi WHERE bi.board_id IN ({boards}))"
    return (
        f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM board_issues bi "
        f"WHERE bi.issue_id = {table}.{column} AND bi.board_id IN ({boards}))"
    )


def _allowed_by_any(filters: list[tuple[str, Any]]) -> tuple[str, dict[str, Any]]:
    """True for (issue `i`, mapping `pm`) pairs some owning project's filter lets through."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for n, (name, incident_filter) in enumerate(filters):
        predicate, p = incident_filter.predicate("i", f"f{n}")
        params.update(p)
        params[f"owner{n}"] = name
        clauses.append(f"(pm.project_name = :owner{n} AND {predicate})")
    return " OR ".join(clauses), params
