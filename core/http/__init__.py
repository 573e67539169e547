"""Shared HTTP layer: one client with retries, rate limiting and clear errors, plus paginators."""

from core.http.client import ApiClient, safe_url
from core.http.errors import (
    AuthError,
    Cancelled,
    HttpError,
    MalformedResponse,
    RateLimitTooLong,
    RequestRejected,
    RetriesExhausted,
    TransientStatus,
)
from core.http.messages import default_error_message
from core.http.paginate import (
    TOTAL_TRUE,
    PaginationLimitError,
    cursor_pages,
    offset_pages,
    page_number_pages,
    set_json_path,
    set_param,
    split_time_windows,
    time_windows,
)
from core.http.ratelimit import RateLimiter
from core.http.retry import RetryPolicy, announced_wait, call_with_retries, is_retryable

__all__ = [
    "TOTAL_TRUE",
    "ApiClient",
    "AuthError",
    "Cancelled",
    "HttpError",
    "MalformedResponse",
    "PaginationLimitError",
    "RateLimitTooLong",
    "RateLimiter",
    "RequestRejected",
    "RetriesExhausted",
    "RetryPolicy",
    "TransientStatus",
    "announced_wait",
    "call_with_retries",
    "cursor_pages",
    "default_error_message",
    "is_retryable",
    "offset_pages",
    "page_number_pages",
    "safe_url",
    "set_json_path",
    "set_param",
    "split_time_windows",
    "time_windows",
]
