"""One aggregation group: Alertmanager's ``aggrGroup``.

The group holds the alerts one route sends with the same group labels. Its own task flushes
them ``group_wait`` after the group was made (at once when an alert's wait is already over
and the group has not flushed yet), then every ``group_interval``, awaiting each flush before
it schedules the next, so a slow receiver delays only its own group.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Sequence

from sloguard.alerting._deadline import sleeper, slept, wake
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

    __slots__ = ("_alerts", "_clock", "_has_flushed", "_next_at", "_sleep", "_task", "id", "key", "labels", "route")

    def __init__(self, route: Route, labels: Labels, clock: Clock) -> None:
        self.route = route
        self.labels = labels
        self.key = group_key(route, labels)
        self.id = hashlib.sha256(self.key.encode()).hexdigest()
        self._clock = clock
        self._alerts: dict[int, Alert] = {}
        self._next_at = clock.now_ms() + route.opts.group_wait_ms
        self._has_flushed = False
        self._sleep: asyncio.Future[None] | None = None
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
            if self._sleep is not None:
                wake(self._sleep)

    def start(self, flush: FlushFunc) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(flush), name=f"aggrGroup {self.key}")

    async def stop(self) -> None:
        """Cancel the group's task, an in-flight flush included, and wait for it to end."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self, flush: FlushFunc) -> None:
        clock = self._clock
        while True:
            # Sleep until the next flush, which an insert may bring forward (:meth:`insert`
            # wakes the sleep). Here, not in a helper coroutine, as the flush below: a group
            # sleeps for most of its life, and each coroutine level is kept (and traversed by
            # the garbage collector) for all that time.
            while clock.now_ms() < self._next_at:
                sleep = self._sleep = sleeper(clock, self._next_at)
                try:
                    await slept(sleep)
                finally:
                    sleep.cancel()
                    self._sleep = None
            now = clock.now_ms()
            self._next_at = now + self.opts.group_interval_ms
            self._has_flushed = True
            if self._alerts:
                batch = self._batch(now)
                if await flush(self, now, batch):
                    self._forget_resolved(batch, now)
                del batch  # not kept (its copies of the alerts) while the group sleeps

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
