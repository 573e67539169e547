"""Services: the operations routes and CLI commands are thin wrappers over."""

from core.services.errors import Conflict, InvalidInput, NotFound, ServiceError, UpstreamError

__all__ = ["Conflict", "InvalidInput", "NotFound", "ServiceError", "UpstreamError"]
