"""One aggregation group: Alertmanager's ``aggrGroup``.

The group holds the alerts one route sends with the same group labels. It flushes them
``group_wait`` after the group was made (at once when an alert's wait is already over and
the group has not flushed yet), then every ``group_interval``, each flush in a task of its
own that schedules the next one when it has finished, so a slow receiver delays only its
own group. Between flushes a group holds no task, only a pending call (``_wakeup``): most
groups wait most of the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Sequence

from sloguard.alerting._wakeup import Wakeup, call_at
from sloguard.alerting.model import Alert, label_set_string, sort_alerts
from sloguard.alerting.route import Route, RouteOpts
from sloguard.clock import Clock
from sloguard.labels import Labels

__all__ = ["AggregationGroup", "FlushFunc"]

#: How a group hands a batch to the dispatcher: (group, flush start, sorted alerts) -> ok.
FlushFunc = Callable[["AggregationGroup", int, Sequence[Alert]], Awaitable[bool]]


def group_key(route: Route, labels: Labels) -> str:
    """``aggrGroup.GroupKey``: the route key, a colon, the group labels as a label set."""
    return f"{route.key}:{label_set_string(labels)}"


class AggregationGroup:
    """Alerts of one route and one set of group labels, flushed on the group's timer.

    ``key`` is Alertmanager's group key (the webhook's ``groupKey``); ``id`` is its SHA-256
    in hex (Alertmanager's ``Key.Hash``, what PagerDuty gets as ``dedup_key``).
    """

    __slots__ = ("_alerts", "_clock", "_flush", "_has_flushed", "_next_at", "_task", "_wakeup", "id", "key", "labels",
                 "route")

    def __init__(self, route: Route, labels: Labels, clock: Clock) -> None:
        self.route = route
        self.labels = labels
        self.key = group_key(route, labels)
        self.id = hashlib.sha256(self.key.encode()).hexdigest()
        self._clock = clock
        self._alerts: dict[int, Alert] = {}
        self._next_at = clock.now_ms() + route.opts.group_wait_ms
        self._has_flushed = False
        self._flush: FlushFunc | None = None
        self._wakeup: Wakeup | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def opts(self) -> RouteOpts:
        return self.route.opts

    @property
    def next_flush_ms(self) -> int:
        """When the group flushes next (for tests and the debug view)."""
        return self._next_at

    def alerts(self) -> list[Alert]:
        """The alerts held, as stored (not yet sorted)."""
        return list(self._alerts.values())

    def empty(self) -> bool:
        return not self._alerts

    def insert(self, alert: Alert) -> None:
        """Hold ``alert`` (replacing the one with its fingerprint); flush at once when its
        wait is already over (``starts_at + group_wait`` before now) and the group has not
        flushed yet."""
        self._alerts[alert.fingerprint] = alert
        now = self._clock.now_ms()
        if not self._has_flushed and alert.starts_at + self.opts.group_wait_ms < now:
            self._next_at = now
            if self._wakeup is not None:  # waiting for the first flush: it is due now
                self._wakeup.cancel()
                self._wakeup = None
                self._schedule()

    def start(self, flush: FlushFunc) -> None:
        """Flush with ``flush`` from now on (outside a running event loop this raises)."""
        asyncio.get_running_loop()
        self._flush = flush
        self._schedule()

    async def stop(self) -> None:
        """Cancel the next flush, or the one in flight and wait for it to end."""
        self._flush = None
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _schedule(self) -> None:
        """The next flush: in a task now when it is due, else called back when it is."""
        if self._flush is None:  # stopped (or not started)
            return
        if self._clock.now_ms() >= self._next_at:
            self._task = asyncio.get_running_loop().create_task(self._flush_once(self._flush),
                                                                name=f"aggrGroup {self.key}")
        else:
            self._wakeup = call_at(self._clock, self._next_at, self._due)

    def _due(self) -> None:
        self._wakeup = None
        self._schedule()

    async def _flush_once(self, flush: FlushFunc) -> None:
        now = self._clock.now_ms()
        self._next_at = now + self.opts.group_interval_ms
        self._has_flushed = True
        if self._alerts:
            batch = self._batch(now)
            if await flush(self, now, batch):
                self._forget_resolved(batch, now)
        self._task = None
        self._schedule()

    def _batch(self, now: int) -> list[Alert]:
        """The alerts to send, sorted (an alert firing at ``now`` goes without its end, so it
        cannot resolve as time moves on)."""
        return sort_alerts([a if a.resolved_at(now) else a.with_times(a.starts_at, None, a.updated_at, a.timeout) for a in self._alerts.values()])

    def _forget_resolved(self, batch: list[Alert], now: int) -> None:
        """After a successful flush: forget the resolved alerts sent and not updated since."""
        for sent in batch:
            held = self._alerts.get(sent.fingerprint)
            if held is not None and sent.resolved_at(now) and held.updated_at == sent.updated_at:
                del self._alerts[sent.fingerprint]
