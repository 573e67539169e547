"""SQL building blocks shared by the stage, the metrics and the listings.

They follow DevLake's dashboard queries, so our figures and DevLake's panels read the
same rows the same way: a deployment is a distinct `cicd_deployment_id` with result
SUCCESS and environment PRODUCTION in the project's cicd scopes, dated by
`max(finished_date)`; a project's incidents are `incidents` joined to `project_mapping`
on (`table`, `scope_id`).
"""

from __future__ import annotations

PIDR = "project_incident_deployment_relationships"


def deployments(*, windowed: bool) -> str:
    """The project's deployments (`deployment_id`, `finished_date`), optionally in [:lo, :hi).

    Filtering rows on `finished_date >= :lo` before grouping is exact (the max is in the
    window only if some row is at or after its start) and lets the index do the work.
    """
    lower = "AND c.finished_date >= :lo" if windowed else "AND c.finished_date IS NOT NULL"
    having = "HAVING MAX(c.finished_date) < :hi" if windowed else ""
    return f"""
        SELECT c.cicd_deployment_id AS deployment_id, MAX(c.finished_date) AS finished_date
        FROM cicd_deployment_commits c
        JOIN project_mapping pmd ON pmd.row_id = c.cicd_scope_id AND pmd.`table` = 'cicd_scopes'
        WHERE pmd.project_name = :project AND c.result = 'SUCCESS' AND c.environment = 'PRODUCTION'
          {lower}
        GROUP BY c.cicd_deployment_id
        {having}
    """


def project_incidents_join(alias: str = "i") -> str:
    """Join clause restricting `incidents {alias}` to the project's boards (DevLake's way)."""
    return (
        f"JOIN project_mapping pmi ON pmi.row_id = {alias}.scope_id AND pmi.`table` = {alias}.`table` "
        "AND pmi.project_name = :project"
    )


def project_boards() -> str:
    return "SELECT row_id FROM project_mapping WHERE project_name = :project AND `table` = 'boards'"


def numbers(digits: int, name: str = "n") -> str:
    """SELECT 0 … 10**digits - 1 AS `name`, one row each.

    A cross join of digit rows, not a recursive CTE: MariaDB stops recursion after
    1,000 iterations by default (`max_recursive_iterations`).
    """
    digit = " UNION ALL ".join(f"SELECT {k} AS d" for k in range(10))
    tables = " CROSS JOIN ".join(f"({digit}) t{k}" for k in range(digits))
    value = " + ".join(f"{10**k} * t{k}.d" for k in range(digits))
    return f"SELECT {value} AS {name} FROM {tables}"


def numbers_upto(limit: int, name: str = "n") -> str:
    """SELECT 0 … at least `limit` AS `name`, at most about twice as many rows (not up to ten
    times, as the next power of ten would): the leading digit only goes as far as `limit`'s."""
    digits = len(str(limit))
    low = 10 ** (digits - 1)
    leading = " UNION ALL ".join(f"SELECT {k} AS d" for k in range(limit // low + 1))
    if digits == 1:
        return f"SELECT d AS {name} FROM ({leading}) t"
    return f"SELECT {low} * t.d + s.{name} AS {name} FROM ({leading}) t CROSS JOIN ({numbers(digits - 1, name)}) s"
