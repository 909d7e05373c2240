"""Sending one request with Prometheus' retry rules.

* 2xx: done.
* 5xx, and 429 when ``retry_on_http_429`` is set, and connection errors or timeouts:
  recoverable. The batch is retried after ``min_backoff``, doubling up to
  ``max_backoff``; a ``Retry-After`` header (seconds or an HTTP date) on a 5xx or 429
  replaces the next wait, and the backoff continues from twice that wait.
* Any other status (4xx, 429 without ``retry_on_http_429``): not recoverable; the batch
  is dropped and counted as failed, since sending it again would fail the same way.

Retries go on until the batch is sent or the queue stops (the batch then stays unsent:
its WAL position was not stored, so the next start sends it again).
"""

from __future__ import annotations

import email.utils
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from sloguard.clock import Clock


@dataclass(frozen=True, slots=True)
class SendResponse:
    """What the receiver answered (``status`` 0: no answer; ``error`` says why)."""

    status: int
    retry_after: str = ""
    error: str = ""


class Transport(Protocol):
    """Posts one remote write body; never raises for HTTP or network errors."""

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResponse: ...


class HTTPXTransport:
    """The real transport: an ``httpx.AsyncClient`` (auth, TLS, proxy from the HTTP client
    config) posting to ``url`` with ``timeout_s``."""

    def __init__(self, client: httpx.AsyncClient, url: str, timeout_s: float) -> None:
        self.client, self.url, self.timeout_s = client, url, timeout_s

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResponse:
        try:
            r = await self.client.post(self.url, content=body, headers=dict(headers), timeout=self.timeout_s)
        except httpx.HTTPError as e:
            return SendResponse(0, error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        if r.status_code // 100 == 2:
            return SendResponse(r.status_code)
        text = r.text[:512].strip()
        return SendResponse(r.status_code, r.headers.get("retry-after", ""), f"server returned HTTP status "
                                                                           f"{r.status_code}: {text}")

    async def aclose(self) -> None:
        await self.client.aclose()


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"  # not recoverable: dropped and counted
    STOPPED = "stopped"  # the queue stopped while retrying


def recoverable(resp: SendResponse, retry_on_429: bool) -> bool:
    if resp.status == 0 or resp.status >= 500:
        return True
    return resp.status == 429 and retry_on_429


def retry_after_ms(value: str, now_ms: int) -> int:
    """The wait a ``Retry-After`` header asks for, in ms (0: none, unparsable or past)."""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value) * 1000
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0
    return max(int(when.timestamp() * 1000) - now_ms, 0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    min_backoff_ms: int
    max_backoff_ms: int
    retry_on_429: bool


def next_wait(backoff_ms: int, resp: SendResponse, now_ms: int, policy: RetryPolicy) -> tuple[int, int]:
    """(this wait, the next backoff) after a recoverable failure."""
    wait = backoff_ms
    if resp.status >= 500 or resp.status == 429:
        wait = retry_after_ms(resp.retry_after, now_ms) or backoff_ms
    return wait, min(wait * 2, policy.max_backoff_ms)


async def send_with_backoff(
    post: Callable[[], Awaitable[SendResponse]], policy: RetryPolicy, clock: Clock,
    stopping: Callable[[], bool], on_retry: Callable[[SendResponse], None],
) -> tuple[Outcome, SendResponse]:
    """Post until sent, not recoverable, or ``stopping()``; ``on_retry`` sees each
    recoverable failure before its wait."""
    backoff = policy.min_backoff_ms
    while True:
        resp = await post()
        if 200 <= resp.status < 300:
            return Outcome.SENT, resp
        if not recoverable(resp, policy.retry_on_429):
            return Outcome.FAILED, resp
        if stopping():
            return Outcome.STOPPED, resp
        on_retry(resp)
        wait, backoff = next_wait(backoff, resp, clock.now_ms(), policy)
        await clock.sleep_until(clock.now_ms() + wait)
        if stopping():
            return Outcome.STOPPED, resp
