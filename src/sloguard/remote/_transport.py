"""One backend's HTTP reads: the Prometheus API envelope, retries with backoff, clear errors.

A read is retried (it is idempotent) on a 5xx answer, on 429 (after its ``Retry-After``,
seconds or an HTTP date, when it gives one) and on a connection error, with exponential
backoff from ``min_backoff`` to ``max_backoff``, at most ``retries`` times and never past
the read's deadline. A 4xx answer, a read timeout and malformed JSON are not retried.
A 5xx whose body says the query itself timed out or was cancelled is not retried either.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from sloguard.httpclient import HTTPConfigError, sync_http_client
from sloguard.promql import ErrorType
from sloguard.remote._backend import QueryBackend
from sloguard.remote._errors import RemoteQueryError

_ERROR_TYPES = {e.value: e for e in ErrorType}
_NOT_RETRIED = (ErrorType.TIMEOUT, ErrorType.CANCELED, ErrorType.BAD_DATA)


@dataclass(frozen=True, slots=True)
class Answer:
    """The ``data`` of a ``status: success`` answer and its ``warnings`` (partial data)."""

    data: Any
    warnings: list[str] = field(default_factory=list)


class BackendClient:
    """Sync reads from one backend (the engine protocol is sync, called from worker threads).
    ``sleep`` and ``now`` are injected so tests never wait."""

    def __init__(self, backend: QueryBackend, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], float] = time.monotonic) -> None:
        self.backend, self._sleep, self._now = backend, sleep, now
        self._client = sync_http_client(backend.http, timeout_s=backend.timeout_s, transport=transport)
        self.retries_total = 0
        self.reads_total = 0  #: reads asked for (each may take several attempts)
        self.failures_total = 0  #: reads that failed after their retries

    def close(self) -> None:
        self._client.close()

    def read(self, path: str, params: list[tuple[str, str]], what: str, timeout_s: float | None = None,
             method: str = "POST", cancel: threading.Event | None = None) -> Answer:
        """``POST`` (form; or ``GET``) ``path`` with ``params``; ``what`` names the read in errors."""
        self.reads_total += 1
        budget = self.backend.timeout_s if timeout_s is None else min(timeout_s, self.backend.timeout_s)
        deadline = self._now() + budget
        attempt = 0
        while True:
            try:
                return self._once(method, path, params, what, max(deadline - self._now(), 0.001))
            except RemoteQueryError as e:
                wait = None if cancel is not None and cancel.is_set() else self._retry_wait(e, attempt, deadline)
                if wait is None:
                    self.failures_total += 1
                    raise _final(e, attempt) from None
            attempt += 1
            self.retries_total += 1
            self._sleep(wait)

    def _retry_wait(self, e: RemoteQueryError, attempt: int, deadline: float) -> float | None:
        if not e.retryable or attempt >= self.backend.retries:
            return None
        b = self.backend
        wait = e.retry_after
        if wait is None:
            wait = min(b.max_backoff_s, b.min_backoff_s * 2 ** attempt)
        if self._now() + wait >= deadline:
            e.detail += f"; not retried: the next attempt, in {wait:g}s, would pass the read's deadline"
            return None
        return float(wait)

    def _once(self, method: str, path: str, params: list[tuple[str, str]], what: str, timeout_s: float) -> Answer:
        url = self.backend.url
        try:
            if method == "GET":
                resp = self._client.get(url + path, params=urlencode(params), timeout=timeout_s)
            else:
                resp = self._client.post(url + path, content=urlencode(params).encode("ascii"), timeout=timeout_s,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        except httpx.TimeoutException as e:
            retry = isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise RemoteQueryError(url, what, f"timed out after {timeout_s:.3g}s ({type(e).__name__})",
                                   ErrorType.TIMEOUT, retryable=retry) from None
        except HTTPConfigError as e:
            raise RemoteQueryError(url, what, str(e), ErrorType.INTERNAL) from None
        except httpx.HTTPError as e:
            how = "cannot connect" if isinstance(e, httpx.ConnectError) else f"the request failed ({type(e).__name__})"
            raise RemoteQueryError(url, what, f"{how}: {e or type(e).__name__}", ErrorType.UNAVAILABLE,
                                   retryable=True) from None
        return _answer(url, what, resp)


def _final(e: RemoteQueryError, attempt: int) -> RemoteQueryError:
    """``e`` with its message rebuilt (``detail`` may have grown) and the attempts counted."""
    detail = e.detail + (f" (after {attempt + 1} attempts)" if attempt else "")
    return RemoteQueryError(e.url, e.what, detail, e.error_type, retryable=e.retryable, status=e.status,
                            retry_after=e.retry_after)


def _retry_after(resp: httpx.Response) -> float | None:
    text = resp.headers.get("Retry-After", "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body(url: str, what: str, resp: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(resp.content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested past the recursion limit
        return None
    return body if isinstance(body, dict) else None


def _answer(url: str, what: str, resp: httpx.Response) -> Answer:
    body = _body(url, what, resp)
    code = resp.status_code
    if body is not None and body.get("status") == "error":
        etype = _ERROR_TYPES.get(str(body.get("errorType", "")), ErrorType.EXECUTION)
        retry = (code >= 500 or code == 429) and etype not in _NOT_RETRIED
        raise RemoteQueryError(url, what, str(body.get("error", "")) or f"HTTP {code}", etype, retryable=retry,
                               status=code, retry_after=_retry_after(resp) if code == 429 else None)
    if code // 100 != 2:
        raise _http_error(url, what, resp)
    if body is None or body.get("status") != "success" or "data" not in body:
        snippet = resp.text[:200].replace("\n", " ")
        raise RemoteQueryError(url, what, f"malformed answer (HTTP {code}, not a Prometheus API JSON "
                                          f"envelope with status and data): {snippet!r}", ErrorType.INTERNAL,
                               status=code)
    warnings = body.get("warnings") or []
    return Answer(body["data"], [str(w) for w in warnings] if isinstance(warnings, list) else [str(warnings)])


def _http_error(url: str, what: str, resp: httpx.Response) -> RemoteQueryError:
    code = resp.status_code
    snippet = resp.text[:200].replace("\n", " ").strip()
    detail = f"HTTP {code} {resp.reason_phrase}" + (f": {snippet}" if snippet else "")
    if code == 429:
        return RemoteQueryError(url, what, detail, ErrorType.UNAVAILABLE, retryable=True, status=code,
                                retry_after=_retry_after(resp))
    etype = ErrorType.UNAVAILABLE if code >= 500 else ErrorType.BAD_DATA
    return RemoteQueryError(url, what, detail, etype, retryable=code >= 500, status=code)
