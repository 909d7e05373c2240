"""Errors of the remote backends: each names the backend URL and what was asked of it."""

from __future__ import annotations

from sloguard.promql import ErrorType, PromQLError


class RemoteError(Exception):
    """Base of :mod:`sloguard.remote`'s errors."""


class BackendConfigError(RemoteError, ValueError):
    """A ``query_backend``/``remote_read`` block that cannot be used; the message names the key path."""


class RemoteQueryError(RemoteError, PromQLError):
    """A read from a query backend failed: it timed out, answered 4xx/5xx/429, sent malformed
    JSON, or answered ``status: error`` (whose ``errorType`` becomes :attr:`error_type`).
    ``retry_after`` is a 429's ``Retry-After`` in seconds.

    ``detail`` is the backend's own error text (or ours when it sent none); the message
    adds the backend URL and the query. ``retryable`` says whether the same read could
    succeed later (5xx, 429, a connection error); ``status`` is the HTTP status or 0."""

    def __init__(self, url: str, what: str, detail: str, error_type: ErrorType = ErrorType.EXECUTION,
                 *, retryable: bool = False, status: int = 0, retry_after: float | None = None) -> None:
        self.url, self.what, self.detail = url, what, detail
        self.retryable, self.status, self.retry_after = retryable, status, retry_after
        super().__init__(f"query backend {url}: {what}: {detail}", error_type)
