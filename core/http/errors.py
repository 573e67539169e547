"""Errors raised by the HTTP layer.

Every error names the connection it came from, because a pipeline collects from many
connections at once and a bare "HTTP 401" in a log is useless without knowing which one.
"""

from __future__ import annotations


def _one_line(text: str) -> str:
    return " ".join(text.split())


class HttpError(Exception):
    """Base of every failure talking to a remote API; str() is one line naming the connection."""

    def __init__(
        self, message: str, *, connection: str, status: int | None = None, url: str | None = None
    ) -> None:
        self.message = _one_line(message)
        self.status = status
        self.url = url
        self.connection = connection
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.connection}: {self.message}"


class AuthError(HttpError):
    """401/403: retrying cannot fix wrong or under-privileged credentials, so it is never retried."""

    def __init__(
        self,
        *,
        connection: str,
        status: int,
        remote_message: str | None = None,
        url: str | None = None,
    ) -> None:
        self.remote_message = remote_message
        message = f"the API rejected the credentials (HTTP {status})"
        if remote_message:
            message += f": {remote_message}"
        super().__init__(message, connection=connection, status=status, url=url)


class RequestRejected(HttpError):
    """A non-retryable 4xx (or unexpected 3xx); carries the API's own text since it says what to fix."""

    def __init__(
        self,
        *,
        connection: str,
        status: int,
        method: str,
        path: str,
        remote_message: str | None = None,
        url: str | None = None,
    ) -> None:
        self.remote_message = remote_message
        message = f"the API rejected {method} {path} (HTTP {status})"
        if remote_message:
            message += f": {remote_message}"
        super().__init__(message, connection=connection, status=status, url=url)


class MalformedResponse(HttpError):
    """A 2xx body that is not JSON or fails validation; retried because proxies return garbage."""


class TransientStatus(HttpError):
    """A retryable status (429, 408, 5xx); only escapes the client wrapped in RetriesExhausted.

    ``retry_after`` is the server-announced wait in seconds, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        connection: str,
        status: int,
        url: str | None = None,
        retry_after: float | None = None,
        remote_message: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.remote_message = remote_message
        super().__init__(message, connection=connection, status=status, url=url)


class RetriesExhausted(HttpError):
    """Retryable failures persisted past the retry limit; the message names the last cause."""

    def __init__(
        self,
        message: str,
        *,
        connection: str,
        attempts: int,
        last_error: BaseException | None,
        status: int | None = None,
        url: str | None = None,
    ) -> None:
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(message, connection=connection, status=status, url=url)


class RateLimitTooLong(HttpError):
    """The server asked us to wait longer than the configured cap; fail loudly instead of hanging."""

    def __init__(
        self,
        *,
        connection: str,
        wait: float,
        max_wait: float,
        status: int | None = None,
        url: str | None = None,
    ) -> None:
        self.wait = wait
        self.max_wait = max_wait
        message = (
            f"rate limited (HTTP {status}): the API asks to wait {wait:.0f} s, "
            f"more than the {max_wait:.0f} s this client will wait; try again later or lower the request rate"
        )
        super().__init__(message, connection=connection, status=status, url=url)


class Cancelled(Exception):
    """The client's cancel event was set; deliberately not an HttpError so nobody retries it."""

    def __init__(self, message: str = "cancelled", *, connection: str | None = None) -> None:
        self.connection = connection
        super().__init__(f"{connection}: {message}" if connection else message)
