"""Turn pydantic validation errors into messages that name each bad field (camelCase)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.services.errors import InvalidInput


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def causes_of(exc: ValidationError | list[dict[str, Any]], prefix: str = "") -> list[dict[str, Any]]:
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    out = []
    for err in errors:
        path = field_path(err.get("loc", ()))
        if prefix:
            path = f"{prefix}.{path}" if path != "body" else prefix
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        out.append({"field": path, "message": msg})
    return out


def invalid(exc: ValidationError | list[dict[str, Any]], prefix: str = "") -> InvalidInput:
    causes = causes_of(exc, prefix)
    summary = "; ".join(f"{c['field']}: {c['message']}" for c in causes[:5])
    return InvalidInput(f"invalid input: {summary}", causes=causes)


M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, prefix) from None
