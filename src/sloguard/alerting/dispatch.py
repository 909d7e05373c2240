"""The dispatcher: Alertmanager 0.25's ``dispatch.Dispatcher``.

It subscribes to the :class:`~sloguard.alerting.provider.AlertStore` (which first replays
every alert it holds), sends each alert down the routing tree and inserts it into one
aggregation group per matched route, keyed by the route and the alert's group labels. Each
group flushes on its own task (see ``_aggr``): the flush builds a
:class:`~sloguard.alerting.stages.FlushContext` and awaits the pipeline's ``NotifyFunc``,
cancelling it at the flush deadline, ``max(group_interval, 10 s)`` after the flush began
(Alertmanager's flush timeout with ``notify.MinTimeout``). A notify that raises or times
out counts as a failed flush; the group carries on. Every 30 s (on the clock) groups left
empty are stopped and dropped, as Alertmanager's maintenance tick does.

On a config reload, stop this dispatcher and start a new one on the same store: the replay
puts every alert into fresh groups, which wait ``group_wait`` again (the notification log
keeps them from notifying twice).

Like the store, the dispatcher lives on one asyncio event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from sloguard.alerting._aggr import AggregationGroup
from sloguard.alerting._deadline import TimedOut, within
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert, LabelsKey, sort_alerts
from sloguard.alerting.provider import AlertStore
from sloguard.alerting.route import Route
from sloguard.alerting.service import AlertView, GroupView, group_order
from sloguard.alerting.stages import FlushContext, NotifyFunc
from sloguard.clock import Clock
from sloguard.labels import Labels

__all__ = ["CLEANUP_INTERVAL_MS", "MIN_FLUSH_TIMEOUT_MS", "AggregationGroup", "Dispatcher"]

log = logging.getLogger("sloguard.alerting.dispatch")

#: Alertmanager's ``notify.MinTimeout``: no flush gets less time than this.
MIN_FLUSH_TIMEOUT_MS = 10_000
#: How often empty aggregation groups are dropped (Alertmanager's maintenance ticker).
CLEANUP_INTERVAL_MS = 30_000
#: Groups listed per step of the event loop by :meth:`Dispatcher.groups`.
GROUP_STEP = 1000


class Dispatcher:
    """Routes stored alerts into aggregation groups and flushes each group on its timer.

    Counters for ``/metrics``: ``flushes`` (notify calls), ``failed_flushes`` (notify
    returned False, raised or hit the deadline), ``alerts_received``; ``aggregation_groups``
    is the number of live groups.
    """

    def __init__(self, route: Route, notify: NotifyFunc, store: AlertStore, clock: Clock, marker: Marker,
                 cleanup_interval_ms: int = CLEANUP_INTERVAL_MS) -> None:
        self._route = route
        self._notify = notify
        self._store = store
        self._clock = clock
        self._marker = marker
        self._cleanup_interval_ms = cleanup_interval_ms
        self._groups: dict[tuple[str, Labels], AggregationGroup] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._cleanup: asyncio.Task[None] | None = None
        self.flushes = 0
        self.failed_flushes = 0
        self.alerts_received = 0

    @property
    def aggregation_groups(self) -> int:
        return len(self._groups)

    async def start(self) -> None:
        """Take every alert the store holds, then each one it stores from now on."""
        if self._unsubscribe is not None:
            raise RuntimeError("The dispatcher is already running; stop it before starting it again.")
        self._cleanup = asyncio.get_running_loop().create_task(self._run_cleanup(), name="dispatcher cleanup")
        self._unsubscribe = self._store.subscribe(self._process)

    async def stop(self) -> None:
        """Stop taking alerts and stop every group (a flush in flight is cancelled)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._cleanup is not None:
            self._cleanup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleanup
            self._cleanup = None
        groups, self._groups = list(self._groups.values()), {}
        for group in groups:
            await group.stop()

    async def settle(self, rounds: int = 50) -> None:
        """Let the group tasks run until they wait again (for tests)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    def receivers_of(self, alert: Alert) -> tuple[str, ...]:
        """The receivers of the routes ``alert`` matches, in tree order (as ``GET
        /api/v2/alerts`` lists them: a receiver named by two matched routes shows twice)."""
        return tuple(r.opts.receiver for r in self._route.match(alert.labels.to_dict()))

    async def groups(self, step: int = GROUP_STEP) -> list[GroupView]:
        """The non-empty groups, sorted as Alertmanager's ``Dispatcher.Groups`` does (by group
        labels, then receiver); alerts sorted for notification, each with its mark and the
        receivers of every group holding it (sorted). A turn for the rest of the event loop
        every ``step`` groups: 150,000 groups take a second to list. Each group's alerts are
        taken at one moment, and the receivers come from what was taken: groups changing
        between steps cannot break a view."""
        taken: list[tuple[AggregationGroup, list[Alert]]] = []
        for i, group in enumerate(list(self._groups.values())):
            if i and i % step == 0:
                await asyncio.sleep(0)
            alerts = group.alerts()
            if alerts:
                taken.append((group, sort_alerts(alerts)))
        receivers: dict[int, list[str]] = {}
        for group, alerts in taken:
            for alert in alerts:
                receivers.setdefault(alert.fingerprint, []).append(group.opts.receiver)
        views: list[GroupView] = []
        keys: list[tuple[LabelsKey, str]] = []
        for i, (group, alerts) in enumerate(taken):
            if i and i % step == 0:
                await asyncio.sleep(0)
            view = GroupView(group.labels, group.opts.receiver, group.route.id, group.key, tuple(
                AlertView(a, self._marker.status(a.fingerprint), tuple(sorted(receivers[a.fingerprint]))) for a in alerts))
            views.append(view)
            keys.append(group_order(view))
        return [views[i] for i in sorted(range(len(views)), key=keys.__getitem__)]

    def _process(self, alert: Alert) -> None:
        """Insert ``alert`` into the group of every route it matches (making groups)."""
        self.alerts_received += 1
        root = self._route  # a tree of the root alone takes every alert: no labels to match
        for route in (root,) if not root.routes and not root.matchers else root.match(alert.labels.to_dict()):
            group_labels = route.opts.group_label_set(alert.labels)
            group = self._groups.get((route.id, group_labels))
            if group is not None:
                group.insert(alert)
                continue
            group = AggregationGroup(route, group_labels, self._clock)
            group.insert(alert)  # before the task starts, so its first wait sees the alert
            group.start(self._flush)  # outside a running event loop this raises: no half-made group
            self._groups[(route.id, group_labels)] = group

    async def _flush(self, group: AggregationGroup, now: int, alerts: Sequence[Alert]) -> bool:
        """Hand one group's batch to the pipeline; False when it failed, raised or timed out."""
        opts = group.opts
        deadline = now + max(opts.group_interval_ms, MIN_FLUSH_TIMEOUT_MS)
        ctx = FlushContext(group.key, group.id, opts.receiver, group.labels, opts, now, deadline_ms=deadline)
        self.flushes += 1
        try:
            with within(self._clock, deadline):
                if await self._notify(ctx, alerts):
                    return True
        except TimedOut:
            log.error("Notify for alerts failed: the flush did not finish by its deadline",
                      extra={"group_key": ctx.group_key, "num_alerts": len(alerts), "deadline_ms": ctx.deadline_ms})
        except Exception as error:
            log.error("Notify for alerts failed", exc_info=error,
                      extra={"group_key": ctx.group_key, "num_alerts": len(alerts)})
        self.failed_flushes += 1
        return False

    async def _run_cleanup(self) -> None:
        tick = self._clock.now_ms()
        while True:
            tick += self._cleanup_interval_ms
            await self._clock.sleep_until(tick)
            for gk, group in list(self._groups.items()):
                if group.empty():
                    del self._groups[gk]
                    await group.stop()
