"""A project's incident filter: only incidents matching it count anywhere.

DevLake users asked for it because low-priority pages inflated their change failure rate.
Each list is optional; an empty list allows everything; values match case-insensitively,
and an incident without a value for a filtered field does not match.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from core.plugin import CamelModel

# filter field -> column of `issues` / `incidents`
COLUMNS = {
    "priorities": "priority",
    "severities": "severity",
    "urgencies": "urgency",
    "services": "service",
    "environments": "environment",
}


class IncidentFilter(CamelModel):
    priorities: list[str] = Field(default_factory=list, max_length=200)
    severities: list[str] = Field(default_factory=list, max_length=200)
    urgencies: list[str] = Field(default_factory=list, max_length=200)
    services: list[str] = Field(default_factory=list, max_length=200)
    environments: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("*")
    @classmethod
    def _clean(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for v in values:
            v = v.strip()
            if not v or len(v) > 255:
                raise ValueError("values must be non-empty strings of at most 255 characters")
            if v not in out:
                out.append(v)
        return out

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> IncidentFilter:
        return cls.model_validate(data or {})

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in COLUMNS)

    def predicate(self, alias: str, key: str) -> tuple[str, dict[str, Any]]:
        """SQL that is true for incidents (table alias `alias`) passing the filter, and its params.

        `key` keeps parameter names unique when several filters appear in one statement.
        """
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for name, column in COLUMNS.items():
            values = getattr(self, name)
            if not values:
                continue
            names = []
            for i, value in enumerate(values):
                pname = f"{key}_{column}_{i}"
                params[pname] = value.lower()
                names.append(f":{pname}")
            clauses.append(f"LOWER({alias}.{column}) IN ({', '.join(names)})")
        return (" AND ".join(clauses) or "1 = 1"), params
