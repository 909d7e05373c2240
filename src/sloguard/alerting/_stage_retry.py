"""The stage that sends: one receiver integration's notifier, retried with exponential
backoff on the injected clock while its failures are retryable (5xx, timeouts, connection
errors; not a 4xx), until the flush's deadline. Each attempt is bounded by a timeout, so a
hung receiver costs its own integration that long and nothing more.

Counters per integration type (Alertmanager's ``alertmanager_notifications_total``,
``..._failed_total``, ``alertmanager_notification_requests_total``, ``..._failed_total``
and ``alertmanager_notification_latency_seconds``) live in :class:`PipelineStats`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sloguard.alerting._deadline import TimedOut, within
from sloguard.alerting.model import Alert
from sloguard.alerting.receivers import Backoff, Notifier, NotifyContext, NotifyResult
from sloguard.alerting.stages import FlushContext, StageError
from sloguard.clock import Clock

__all__ = ["LATENCY_BUCKETS_S", "IntegrationStats", "PipelineStats", "RetryStage"]

log = logging.getLogger("sloguard.alerting")

LATENCY_BUCKETS_S = (1.0, 5.0, 10.0, 15.0, 20.0)
"""Alertmanager's notification latency histogram buckets."""


_DEFAULT_BACKOFF = Backoff()


class IntegrationStats:
    """Counters of one integration type: notifications (one per flush that reached the
    retry stage) and the requests (attempts) made for them; latency of each attempt."""

    __slots__ = ("latency_buckets", "latency_count", "latency_sum_s", "notifications",
                 "notifications_failed", "requests", "requests_failed")

    def __init__(self) -> None:
        self.notifications = 0
        self.notifications_failed = 0
        self.requests = 0
        self.requests_failed = 0
        self.latency_sum_s = 0.0
        self.latency_count = 0
        self.latency_buckets = dict.fromkeys(LATENCY_BUCKETS_S, 0)  #: cumulative, by upper bound

    def observe(self, seconds: float) -> None:
        self.latency_sum_s += seconds
        self.latency_count += 1
        for le in LATENCY_BUCKETS_S:
            if seconds <= le:
                self.latency_buckets[le] += 1


class PipelineStats:
    """Counters by integration type (``webhook``, ``slack``, ...), for ``/metrics``."""

    __slots__ = ("by_integration",)

    def __init__(self) -> None:
        self.by_integration: dict[str, IntegrationStats] = {}

    def integration(self, name: str) -> IntegrationStats:
        """The counters of integration type ``name`` (created at zero)."""
        return self.by_integration.setdefault(name, IntegrationStats())


class RetryStage:
    """Sends the flush through ``notifier`` (see the module). With ``send_resolved`` off,
    resolved alerts are left out, and a flush of resolved alerts only counts as sent
    without a request (so the log still records it). Raises :class:`StageError` when the
    receiver refused for good or the deadline came first."""

    __slots__ = ("backoff", "clock", "external_url", "integration", "notifier", "stats", "timeout_ms")

    def __init__(self, notifier: Notifier, integration: str, clock: Clock, stats: IntegrationStats, *,
                 backoff: Backoff = _DEFAULT_BACKOFF, timeout_s: float = 10.0, external_url: str = "") -> None:
        self.notifier = notifier
        self.integration = integration
        self.clock = clock
        self.stats = stats
        self.backoff = backoff
        self.timeout_ms = max(1, round(timeout_s * 1000))
        self.external_url = external_url

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        self.stats.notifications += 1
        if self.notifier.send_resolved():
            sent = list(alerts)
        elif not ctx.firing:
            return ctx, list(alerts)  # only resolved alerts, which this integration does not send: done
        else:
            sent = [a for a in alerts if not a.resolved_at(ctx.now_ms)]
        nctx = NotifyContext(ctx.group_key, ctx.receiver, ctx.group_labels, ctx.now_ms, self.external_url)
        attempts, last = 0, ""
        try:  # the retry loop inline (not a method of its own: one coroutine level less per wait)
            while True:
                if ctx.deadline_ms is not None and self.clock.now_ms() >= ctx.deadline_ms:
                    raise self._canceled(ctx, attempts, last or "the flush's deadline passed")
                result = await self._attempt(nctx, sent, ctx.deadline_ms)
                attempts += 1
                if result.ok:
                    if attempts > 1 or log.isEnabledFor(logging.DEBUG):  # no record made per flush for nothing
                        log.log(logging.INFO if attempts > 1 else logging.DEBUG, "notify success",
                                extra={"integration": ctx.integration, "attempts": attempts})
                    return ctx, list(alerts)
                if not result.retryable:
                    raise StageError(f"{ctx.integration}: notify retry canceled due to unrecoverable error "
                                     f"after {attempts} attempts: {result.error}")
                if result.error != last:
                    log.warning("notify attempt failed, will retry later",
                                extra={"integration": ctx.integration, "attempts": attempts, "err": result.error})
                last = result.error
                await self._pause(ctx, attempts, last)
        except StageError:
            self.stats.notifications_failed += 1
            raise

    async def _pause(self, ctx: FlushContext, attempts: int, last: str) -> None:
        """Sleep before the next attempt; give up when that would be at or past the deadline
        (or, without one, when the backoff's attempts are used up)."""
        wake = self.clock.now_ms() + round(self.backoff.delay(attempts - 1) * 1000)
        if ctx.deadline_ms is None and attempts >= self.backoff.max_attempts:
            raise self._canceled(ctx, attempts, last)
        if ctx.deadline_ms is not None and wake >= ctx.deadline_ms:
            raise self._canceled(ctx, attempts, last)
        await self.clock.sleep_until(wake)

    def _canceled(self, ctx: FlushContext, attempts: int, last: str) -> StageError:
        return StageError(f"{ctx.integration}: notify retry canceled after {attempts} attempts: {last}",
                          retryable=True)

    async def _attempt(self, nctx: NotifyContext, alerts: list[Alert], deadline_ms: int | None) -> NotifyResult:
        now = self.clock.now_ms()
        until_ms = now + self.timeout_ms if deadline_ms is None else min(now + self.timeout_ms, deadline_ms)
        started = time.perf_counter()
        try:
            with within(self.clock, until_ms):
                result = await self.notifier.notify(nctx, alerts)
        except TimedOut:  # the clock reached ``until_ms`` first (the call was cancelled)
            result = NotifyResult.failure(f"no answer within {(until_ms - now) / 1000:g}s", True)
        except Exception as e:  # a notifier bug: report it, do not retry it
            result = NotifyResult.failure(f"the notifier raised {type(e).__name__}: {e}", False)
        self.stats.requests += 1
        self.stats.observe(time.perf_counter() - started)
        if not result.ok:
            self.stats.requests_failed += 1
        return result
