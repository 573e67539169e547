"""Errors services raise; the API maps them to 4xx, the CLI to one line and exit 1."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, causes: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.causes = causes or []


class InvalidInput(ServiceError):
    status = 400

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", causes=[{"field": field, "message": message}])


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class UpstreamError(ServiceError):
    """The source's API failed or refused; not the caller's input."""

    status = 502
