"""Sending alerts to Alertmanager-compatible receivers (``POST /api/v2/alerts``).

Prometheus' semantics: ``startsAt`` is when the alert fired, ``endsAt`` its resolve time
or, while firing, ``valid_until`` (eval time + 4 x max(resend delay, group interval)), so
a receiver that stops hearing about an alert resolves it by itself. External labels are
added unless the alert already has the label, then the optional relabel step runs (it
may drop an alert by returning ``None``). Batches of at most 64 go to every receiver;
a failed receiver is counted and logged, never retried (the next resend covers it).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sloguard.labels import Labels, LabelsBuilder
from sloguard.rules._alert import Alert

log = logging.getLogger("sloguard.rules.notifier")

MAX_BATCH = 64
QUEUE_CAPACITY = 10_000
Relabel = Callable[[Labels], Labels | None]


def format_millis(ms: int) -> str:
    """go-openapi ``strfmt.DateTime``: RFC 3339 with exactly three fraction digits."""
    secs, frac = divmod(ms, 1000)
    return datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:03d}Z"


def generator_url(external_url: str, expr: str) -> str:
    """``externalURL + strutil.TableLinkForExpression(expr)``."""
    return f"{external_url}/graph?g0.expr={urllib.parse.quote_plus(expr)}&g0.tab=1"


@dataclass(frozen=True, slots=True)
class PostableAlert:
    """One element of the ``/api/v2/alerts`` body."""

    labels: Labels
    annotations: tuple[tuple[str, str], ...]
    starts_at: int
    ends_at: int
    generator_url: str

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": format_millis(self.starts_at),
            "endsAt": format_millis(self.ends_at),
            "generatorURL": self.generator_url,
        }


def to_postable(alert: Alert, expr: str, external_url: str) -> PostableAlert:
    """Prometheus' ``sendAlerts``: ``endsAt`` is the resolve time, else ``valid_until``."""
    ends = alert.resolved_at if alert.resolved_at is not None else (alert.valid_until or 0)
    starts = alert.fired_at if alert.fired_at is not None else alert.active_at
    return PostableAlert(alert.labels, alert.annotations, starts, ends, generator_url(external_url, expr))


def prepare_postable(p: PostableAlert, external_labels: dict[str, str],
                     relabel: Relabel | None = None) -> PostableAlert | None:
    """External labels added where the alert lacks them, then ``relabel``; ``None`` when
    the alert is dropped (relabelled away or left without labels)."""
    lb = LabelsBuilder(p.labels)
    for k, v in external_labels.items():
        if not p.labels.get(k):
            lb.set(k, v)
    labels: Labels | None = lb.labels()
    if relabel is not None and labels is not None:
        labels = relabel(labels)
    if not labels:
        return None
    return PostableAlert(labels, p.annotations, p.starts_at, p.ends_at, p.generator_url)


@dataclass(slots=True)
class NotifierStats:
    sent: int = 0
    errors: int = 0
    dropped: int = 0
    last_error: str = ""
    per_url_errors: dict[str, int] = field(default_factory=dict)


class AlertmanagerNotifier:
    """A ``NotifyFunc`` (``await notifier(expr, alerts)``) posting to each receiver URL.

    ``urls`` are base URLs (``http://127.0.0.1:9093``); ``/api/v2/alerts`` is appended.
    """

    def __init__(
        self,
        urls: Sequence[str],
        external_labels: dict[str, str] | None = None,
        external_url: str = "",
        relabel: Relabel | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.urls = [u.rstrip("/") + "/api/v2/alerts" for u in urls]
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url.rstrip("/")
        self.relabel = relabel
        self.client = client or httpx.AsyncClient(timeout=timeout_s)
        self.stats = NotifierStats()
        self.queue_capacity = QUEUE_CAPACITY
        self._queue: deque[PostableAlert] = deque()
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, expr: str, alerts: Sequence[Alert]) -> None:
        """Queue the alerts (never blocks on the network) and make sure a sender runs."""
        for a in alerts:
            p = self._prepare(to_postable(a, expr, self.external_url))
            if p is None:
                continue
            if len(self._queue) >= self.queue_capacity:
                self._queue.popleft()
                self.stats.dropped += 1
            self._queue.append(p)
        if self._queue and (self._sender is None or self._sender.done()):
            self._sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            n = min(MAX_BATCH, len(self._queue))
            batch = [self._queue.popleft().to_json() for _ in range(n)]
            await self.send(batch)

    async def flush(self) -> None:
        """Wait until every queued alert has been offered to the receivers."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    def _prepare(self, p: PostableAlert) -> PostableAlert | None:
        prepared = prepare_postable(p, self.external_labels, self.relabel)
        if prepared is None:
            self.stats.dropped += 1
        return prepared

    async def send(self, body: list[dict[str, Any]]) -> bool:
        """POST one batch to every receiver; True if at least one accepted it."""
        results = await asyncio.gather(*(self._post(u, body) for u in self.urls))
        if any(results):
            self.stats.sent += len(body)
        return any(results)

    async def _post(self, url: str, body: list[dict[str, Any]]) -> bool:
        try:
            r = await self.client.post(url, json=body)
            if r.status_code // 100 != 2:
                raise httpx.HTTPStatusError(f"bad response status {r.status_code} from {url}", request=r.request, response=r)
            return True
        except httpx.HTTPError as e:
            self.stats.errors += 1
            self.stats.per_url_errors[url] = self.stats.per_url_errors.get(url, 0) + 1
            self.stats.last_error = f"error sending alerts to {url}: {e}"
            log.warning("error sending alerts", extra={"alertmanager": url, "count": len(body), "err": str(e)})
            return False

    async def aclose(self) -> None:
        await self.flush()
        await self.client.aclose()
