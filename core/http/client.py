"""ApiClient: the one HTTP client every collector uses.

Sync httpx on purpose: collectors run in worker threads and get concurrency from a bounded thread
pool (``map_concurrent``), which keeps plugin code straightforward and blocking-safe.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from queue import SimpleQueue
from types import TracebackType
from typing import Any, TypeVar

import httpx
import orjson

from core import __version__
from core.http.errors import (
    AuthError,
    Cancelled,
    HttpError,
    MalformedResponse,
    RequestRejected,
    TransientStatus,
)
from core.http.messages import default_error_message, summarize_html
from core.http.pages import NotJson, RecordPage, decode_record_page
from core.http.ratelimit import Clock, RateLimiter, Sleep
from core.http.retry import (
    ANNOUNCED_WAIT_STATUSES,
    RetryPolicy,
    announced_wait,
    call_with_retries,
    describe_error,
    is_retryable_status,
    quota_exhausted_wait,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Params = Mapping[str, Any]
Validator = Callable[[Any], None]
ErrorMessage = Callable[[httpx.Response], str | None]

USER_AGENT = f"incidentlake/{__version__}"
SECRET_QUERY_HINTS = ("key", "token", "secret", "password", "passwd", "signature", "auth", "session")


def safe_url(url: httpx.URL) -> str:
    """The URL for error messages, with credential-looking query values masked (Datadog v1 allows
    api_key/application_key as query parameters)."""
    if not url.query:
        return str(url)
    pairs = [
        (k, "***" if any(h in k.lower() for h in SECRET_QUERY_HINTS) else v)
        for k, v in url.params.multi_items()
    ]
    return str(url.copy_with(params=pairs))


class _RedactUrls(logging.Filter):
    """httpx logs every request URL at INFO; mask credential-looking query values in those lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(safe_url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _install_log_redaction() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrls) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactUrls())


_install_log_redaction()


@functools.cache
def trusted_certificates() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads every CA certificate (about
    45 ms), which each task's client would otherwise pay again. Read-only once built, so the
    clients' threads share it (every client speaks HTTP/1.1, so none changes its ALPN list).
    SSL_CERT_FILE / SSL_CERT_DIR and the CA bundle are read when it is built: a change to
    them takes effect at the next start."""
    return httpx.create_ssl_context()


class ApiClient:
    """One connection's HTTP client: pooling, retries, rate limiting, cancellation and clear errors.

    ``request`` and the ``*_json`` helpers return only on success and otherwise raise an HttpError
    subclass (or Cancelled). Thread-safe; share one instance across a collector's worker threads so
    they share the connection pool, the rate budget and server-announced pauses.

    ``clock`` and ``sleep`` exist for tests (fake time); production code leaves them alone.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connection: str,
        headers: dict[str, str] | None = None,
        rate_limit_per_hour: int | None = None,
        max_concurrency: int = 8,
        timeout: float = 30.0,
        proxy: str | None = None,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        max_wait: float = 300.0,
        error_message: ErrorMessage | None = None,
        cancel: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.connection = connection
        self.max_concurrency = max_concurrency
        self.policy = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_base, backoff_max=backoff_max, max_wait=max_wait
        )
        self.limiter = RateLimiter(rate_limit_per_hour, clock=clock, sleep=sleep)
        self._clock = clock
        self._sleep = sleep
        self._error_message = error_message or default_error_message
        self._cancel = cancel if cancel is not None else threading.Event()
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._count_lock = threading.Lock()
        self._request_count = 0
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        self._http = httpx.Client(
            base_url=base_url,
            headers=all_headers,
            timeout=timeout,
            proxy=proxy,
            transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            verify=trusted_certificates(),
            http1=True,
            http2=False,
            follow_redirects=False,  # a redirect to another host would carry API-key headers along
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    @property
    def cancel_event(self) -> threading.Event:
        """Setting this event makes every pending and future call raise Cancelled."""
        return self._cancel

    def cancel(self) -> None:
        """Stop all in-flight waits and refuse further requests."""
        self._cancel.set()

    @property
    def request_count(self) -> int:
        """HTTP requests actually sent, retries included (for run statistics and tests)."""
        with self._count_lock:
            return self._request_count

    # -- requests ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; returns only a 2xx response, otherwise raises (see module errors)."""
        method = method.upper()
        return self._with_retries(method, path, lambda: self._send(method, path, params, json, headers))

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        validate: Validator | None = None,
    ) -> Any:
        """Like request() but decodes JSON; an undecodable or invalid body is retried as malformed."""
        method = method.upper()

        def attempt() -> Any:
            response = self._send(method, path, params, json, headers)
            return self._decode(method, response, validate)

        return self._with_retries(method, path, attempt)

    def get_json(self, path: str, *, params: Params | None = None, validate: Validator | None = None) -> Any:
        """GET and decode JSON; ``validate`` raising ValueError/KeyError/TypeError means malformed."""
        return self.request_json("GET", path, params=params, validate=validate)

    def get_records(self, path: str, *, key: str, params: Params | None = None) -> RecordPage:
        """GET one page of a list endpoint: its `key` records as the JSON text received (a
        collector stores them as they are), its other fields decoded. A body that is no JSON
        object with a `key` list of objects is retried as malformed."""

        def attempt() -> RecordPage:
            response = self._send("GET", path, params, None, None)
            try:
                return decode_record_page(response.content, key)
            except NotJson as exc:
                raise self._not_json("GET", response) from exc
            except ValueError as exc:
                raise self._unexpected("GET", response, exc) from exc

        return self._with_retries("GET", path, attempt)

    def post_json(
        self, path: str, *, json: Any = None, params: Params | None = None, validate: Validator | None = None
    ) -> Any:
        """POST a JSON body and decode the JSON answer (e.g. search endpoints)."""
        return self.request_json("POST", path, params=params, json=json, validate=validate)

    # -- concurrency -------------------------------------------------------------------------------

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run ``fn`` over ``items`` on up to ``max_concurrency`` threads, yielding results in input order.

        Items are pulled lazily (at most twice the concurrency is queued, so workers stay busy while
        the consumer waits on a slow head item), so huge or endless iterables are fine. The first
        failure (in completion order) cancels queued work, waits for running calls, and is raised.
        """
        source = iter(items)
        window = 2 * self.max_concurrency
        finished: SimpleQueue[int] = SimpleQueue()  # indexes of completed calls, as they complete
        futures: dict[int, Future[R]] = {}
        done: set[int] = set()
        submitted = 0

        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="apiclient") as pool:

            def submit(count: int) -> None:
                nonlocal submitted
                for item in islice(source, count):
                    future = pool.submit(fn, item)
                    future.add_done_callback(lambda _f, i=submitted: finished.put(i))
                    futures[submitted] = future
                    submitted += 1

            try:
                submit(window)
                head = 0
                while head < submitted:
                    if head not in done:
                        index = finished.get()  # O(1) per completion, however many are pending
                        done.add(index)
                        failed = futures[index]
                        if not failed.cancelled() and failed.exception() is not None:
                            failed.result()  # raises the worker's exception
                        continue
                    done.discard(head)
                    result = futures.pop(head).result()
                    head += 1
                    submit(1)
                    yield result
            finally:
                for future in futures.values():
                    future.cancel()

    # -- internals ---------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled", connection=self.connection)

    def _with_retries(self, method: str, path: str, attempt: Callable[[], T]) -> T:
        self._check_cancel()
        return call_with_retries(
            attempt,
            policy=self.policy,
            connection=self.connection,
            what=f"{method} {path}",
            cancel=self._cancel,
            sleep=self._sleep,
        )

    def _take_slot(self) -> None:
        while not self._slots.acquire(timeout=0.5):
            self._check_cancel()

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        self._check_cancel()
        self._take_slot()
        try:
            try:
                self.limiter.acquire(self._cancel)
            except Cancelled as exc:
                raise Cancelled(
                    "cancelled while waiting for the rate limiter", connection=self.connection
                ) from exc
            with self._count_lock:
                self._request_count += 1
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                log.debug("%s: %s %s -> %s", self.connection, method, path, describe_error(exc))
                raise
        finally:
            self._slots.release()
        log.debug("%s: %s %s -> %d", self.connection, method, response.request.url.path, response.status_code)
        self._note_quota(response)
        if response.is_success:
            return response
        raise self._error_for(method, path, response)

    def _note_quota(self, response: httpx.Response) -> None:
        """remaining=0 plus a reset header: pause every thread now rather than collect a 429 each."""
        seconds = quota_exhausted_wait(response.headers)
        if seconds:
            seconds = min(seconds, self.policy.max_wait)
            log.info("%s: API quota used up; pausing requests for %.1f s", self.connection, seconds)
            self.limiter.pause_until(self._clock() + seconds)

    def _remote_message(self, response: httpx.Response) -> str | None:
        try:
            message = self._error_message(response)
        except Exception:  # a plugin's extractor must never hide the real error
            log.debug("%s: error_message extractor failed", self.connection, exc_info=True)
            message = default_error_message(response)
        return " ".join(message.split()) if message else None

    def _error_for(self, method: str, path: str, response: httpx.Response) -> HttpError:
        status = response.status_code
        url = safe_url(response.request.url)
        remote = self._remote_message(response)
        if status in (401, 403):
            return AuthError(connection=self.connection, status=status, remote_message=remote, url=url)
        if is_retryable_status(status):
            retry_after = announced_wait(response.headers) if status in ANNOUNCED_WAIT_STATUSES else None
            if retry_after is not None and retry_after <= self.policy.max_wait:
                self.limiter.pause_until(self._clock() + retry_after)
            reason = f"HTTP {status}" + (f" {response.reason_phrase}" if response.reason_phrase else "")
            return TransientStatus(
                f"{reason}" + (f": {remote}" if remote else ""),
                connection=self.connection,
                status=status,
                url=url,
                retry_after=retry_after,
                remote_message=remote,
            )
        if 300 <= status < 400 and not remote:
            location = response.headers.get("location")
            remote = f"unexpected redirect to {location}" if location else "unexpected redirect"
        return RequestRejected(
            connection=self.connection,
            status=status,
            method=method,
            path=path,
            remote_message=remote,
            url=url,
        )

    def _decode(self, method: str, response: httpx.Response, validate: Validator | None) -> Any:
        if response.status_code == 204:
            data: Any = None
        else:
            try:
                data = orjson.loads(response.content)  # several times faster than json on big pages
            except ValueError as exc:
                raise self._not_json(method, response) from exc
        if validate is not None:
            try:
                validate(data)
            except (ValueError, KeyError, TypeError) as exc:
                raise self._unexpected(method, response, exc) from exc
        return data

    def _not_json(self, method: str, response: httpx.Response) -> MalformedResponse:
        content_type = response.headers.get("content-type", "unknown")
        snippet = (
            summarize_html(response.text)
            if "html" in content_type.lower()
            else " ".join(response.text[:80].split())
        )
        return MalformedResponse(
            f"{method} {response.request.url.path} returned a body that is not JSON "
            f"({content_type}, {len(response.content)} bytes): {snippet!r}",
            connection=self.connection,
            status=response.status_code,
            url=safe_url(response.request.url),
        )

    def _unexpected(self, method: str, response: httpx.Response, exc: Exception) -> MalformedResponse:
        return MalformedResponse(
            f"{method} {response.request.url.path} returned an unexpected body: {type(exc).__name__}: {exc}",
            connection=self.connection,
            status=response.status_code,
            url=safe_url(response.request.url),
        )
