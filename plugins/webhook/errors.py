"""Intake failures and how each imitated API words them.

Handlers raise `IntakeError`s; the DevLake-style routes answer
`{"success": false, "message", "causes": [{"field", "message"}]}` and the Datadog-style
routes `{"errors": [{"status", "title", "detail", "source": {"pointer"}}]}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


@dataclass
class Problem:
    """One thing wrong with a request; `path` is the field's location in the body."""

    message: str
    path: tuple[str | int, ...] = ()


@dataclass
class IntakeError(Exception):
    status: int
    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def bad_request(problems: list[Problem]) -> IntakeError:
    summary = "; ".join(f"{_dotted(p.path) or 'body'}: {p.message}" for p in problems[:5])
    return IntakeError(400, f"invalid input: {summary}", problems)


def bad_field(path: tuple[str | int, ...], message: str) -> IntakeError:
    return bad_request([Problem(message, path)])


def from_validation(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> IntakeError:
    """Pydantic errors → problems located by the body's own field names (aliases)."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err.get("loc", ()) if isinstance(p, str | int))
        message = str(err.get("msg", "invalid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if err.get("type") in ("model_type", "dict_type", "model_attributes_type"):
            message = "must be a JSON object"
        problems.append(Problem(message, prefix + loc))
    return bad_request(problems)


def devlake_body(err: IntakeError) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": err.message}
    if err.problems:
        body["causes"] = [{"field": _dotted(p.path) or "body", "message": p.message} for p in err.problems]
    return body


def datadog_body(err: IntakeError) -> dict[str, Any]:
    title = TITLES.get(err.status, "Error")
    if err.status in (401, 403):
        return {"errors": [title]}  # Datadog answers a bad key with a bare list of strings
    items = err.problems or [Problem(err.message)]
    out = []
    for p in items:
        item: dict[str, Any] = {"status": str(err.status), "title": title, "detail": p.message}
        if p.path:
            item["source"] = {"pointer": "/" + "/".join(str(x) for x in p.path)}
        out.append(item)
    return {"errors": out}


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)
