"""What every receiver shares: the per-flush context, the result of one attempt, Go's JSON
encoding, truncation, the HTTP post and the retry loop.

A receiver builds its payload with a pure function (tested against Alertmanager's bodies)
and sends it once per :meth:`Notifier.notify`; :func:`notify_with_retry` repeats a
retryable failure with exponential backoff, using an injected ``sleep``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
import httpx

from sloguard._slots import fast_init
from sloguard.alerting._aioclient import SharedClient
from sloguard.alerting._httpclient import HTTPConfigError
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.labels import Labels

log = logging.getLogger("sloguard.alerting.receivers")

#: Alertmanager's ``User-Agent`` header spelling, with sloguard's name.
USER_AGENT = "sloguard-alerting"
DEFAULT_TIMEOUT_S = 10.0
_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
TRUNCATION_MARKER = "…"


@fast_init
@dataclass(frozen=True, slots=True)
class NotifyContext:
    """One flush of one aggregation group to one receiver."""

    group_key: str
    receiver: str
    group_labels: Labels
    now_ms: int
    external_url: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class NotifyResult:
    """The outcome of one attempt: ``retryable`` failures (5xx, 429, timeouts, connection
    errors) may succeed later; others (4xx, bad templates) will not. ``error`` never
    contains a secret (URLs, keys and passwords are left out)."""

    ok: bool
    retryable: bool = False
    error: str = ""
    status_code: int | None = None

    @classmethod
    def success(cls, status_code: int | None = None) -> NotifyResult:
        return cls(True, False, "", status_code)

    @classmethod
    def failure(cls, error: str, retryable: bool, status_code: int | None = None) -> NotifyResult:
        return cls(False, retryable, error, status_code)


class Notifier(Protocol):
    """A receiver integration: send one notification for ``alerts`` (one attempt). ``notify``
    may be a coroutine function or return another coroutine to await (one level less)."""

    def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Awaitable[NotifyResult]: ...

    def send_resolved(self) -> bool:
        """Whether resolved alerts are sent (the pipeline filters them out otherwise)."""
        ...


class _Resolvable(Protocol):
    @property
    def send_resolved(self) -> bool: ...


C = TypeVar("C", bound=_Resolvable)


class HTTPNotifier(Generic[C]):
    """What the templated HTTP receivers (Slack, PagerDuty) hold: their config as the config
    reader made it, the templates, a shared client and the request timeout."""

    def __init__(self, config: C, tmpl: NotificationTemplate | None = None,
                 client: httpx.AsyncClient | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.config = config
        self.tmpl = tmpl or NotificationTemplate()
        self.client = client or httpx.AsyncClient()
        self.timeout_s = timeout_s

    def send_resolved(self) -> bool:
        return self.config.send_resolved


def go_json(obj: Any) -> bytes:
    """``json.NewEncoder(w).Encode(obj)``: compact, HTML characters escaped, newline at the end."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(ch, esc)
    return (s + "\n").encode()


def truncate_in_runes(s: str, n: int) -> tuple[str, bool]:
    """Alertmanager's ``TruncateInRunes``: at most ``n`` characters, the last one ``…``."""
    if len(s) <= n:
        return s, False
    if n <= 3:
        return s[:n], True
    return s[:n - 1] + TRUNCATION_MARKER, True


def check_status(status: int, body: str, retry_codes: Collection[int] = ()) -> NotifyResult:
    """Alertmanager's ``Retrier.Check``: 2xx succeeds, 5xx and ``retry_codes`` are retryable."""
    if status // 100 == 2:
        return NotifyResult.success(status)
    retryable = status // 100 == 5 or status in retry_codes
    detail = f": {body.strip()}" if body.strip() else ""
    return NotifyResult.failure(f"unexpected status code {status}{detail}", retryable, status)


async def post_json(client: httpx.AsyncClient, url: str, body: bytes, what: str,
                    retry_codes: Collection[int] = (), timeout_s: float = DEFAULT_TIMEOUT_S) -> NotifyResult:
    """POST ``body`` to ``url`` (a secret: it never appears in the result or the log)."""
    try:
        if isinstance(client, SharedClient):  # aiohttp directly: no httpx models
            status, text = await client.post_bytes(url, body, _HEADERS, timeout_s)
        else:
            resp = await client.post(url, content=body, headers=_HEADERS, timeout=timeout_s)
            status, text = resp.status_code, resp.text
    except HTTPConfigError as e:  # names a file or the token URL, never a secret
        return NotifyResult.failure(f"{what}: {e}", True)
    except httpx.TimeoutException:
        return NotifyResult.failure(f"{what}: the request timed out after {timeout_s:g}s", True)
    except (httpx.HTTPError, aiohttp.ClientError) as e:
        return NotifyResult.failure(f"{what}: the request failed ({type(e).__name__})", True)
    result = check_status(status, text[:1024], retry_codes)
    if result.ok:
        return result
    return NotifyResult.failure(f"{what}: {result.error}", result.retryable, result.status_code)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between attempts: ``initial_s * factor**n`` capped at ``max_s``."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    max_attempts: int = 5

    def delay(self, attempt: int) -> float:
        return float(min(self.max_s, self.initial_s * self.factor ** attempt))


async def notify_with_retry(notifier: Notifier, ctx: NotifyContext, alerts: Sequence[Alert],
                            sleep: Callable[[float], Awaitable[None]],
                            backoff: Backoff = Backoff()) -> tuple[NotifyResult, int]:
    """Retry retryable failures; returns the last result and the number of attempts."""
    result = NotifyResult.failure("no attempt was made", False)
    for attempt in range(backoff.max_attempts):
        result = await notifier.notify(ctx, alerts)
        if result.ok or not result.retryable:
            return result, attempt + 1
        log.warning("notify attempt failed, retrying",
                    extra={"receiver": ctx.receiver, "attempt": attempt + 1, "err": result.error})
        if attempt + 1 < backoff.max_attempts:
            await sleep(backoff.delay(attempt))
    return result, backoff.max_attempts
