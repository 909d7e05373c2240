"""The alerts the pipeline holds: Alertmanager's ``provider/mem`` with ``types.Alert.Merge``.

:meth:`AlertStore.receive` does what ``POST /api/v2/alerts`` does before storing (stamp
``updated_at``, fill a missing start, give an alert without an end ``resolve_timeout``);
:meth:`AlertStore.put` merges an alert with the one held under its fingerprint when their
activity ranges overlap, stores it and hands it to every subscriber (the dispatcher). A new
subscriber first gets every alert held, so a dispatcher built after a reload sees them all.
Resolved alerts stay until :meth:`AlertStore.gc` (Alertmanager runs it every 30 minutes).

Not thread-safe: the store, its subscribers and its callers share one asyncio event loop
(the API handlers, the rule evaluator and the dispatcher run on it). A caller on another
thread must hand over with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence

from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert
from sloguard.clock import Clock

__all__ = ["GC_INTERVAL_MS", "AlertStore", "Subscriber", "merge", "overlaps"]

log = logging.getLogger("sloguard.alerting.provider")

#: Alertmanager's ``--alerts.gc-interval`` default.
GC_INTERVAL_MS = 30 * 60_000

#: Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in Unix ms: what an unset end compares as.
_GO_ZERO_MS = -62_135_596_800_000

#: Called with each alert the store holds and then with each alert it stores.
Subscriber = Callable[[Alert], None]

_Alerts = list[Alert]


def _end(alert: Alert) -> int:
    return _GO_ZERO_MS if alert.ends_at is None else alert.ends_at


def overlaps(old: Alert, new: Alert) -> bool:
    """Alertmanager's merge condition in ``Put``: the new alert ends strictly inside the
    held one's range, or starts strictly inside it (an unset end is Go's zero time)."""
    old_end, new_end = _end(old), _end(new)
    return (old.starts_at < new_end < old_end) or (old.starts_at < new.starts_at < old_end)


def merge(a: Alert, b: Alert, now_ms: int) -> Alert:
    """``types.Alert.Merge``: the alert updated last wins, with the earliest start; when it
    is resolved at ``now_ms`` the later end of two resolved alerts wins, otherwise the
    other's end wins if it is later and was given by its sender (not a timeout)."""
    older, younger = (b, a) if b.updated_at < a.updated_at else (a, b)
    starts_at = min(older.starts_at, younger.starts_at)
    ends_at = younger.ends_at
    if younger.resolved_at(now_ms):
        if older.resolved_at(now_ms) and _end(older) > _end(younger):
            ends_at = older.ends_at
    elif _end(older) > _end(younger) and not older.timeout:
        ends_at = older.ends_at
    return younger.with_times(starts_at, ends_at, younger.updated_at, younger.timeout)


class AlertStore:
    """Alerts by fingerprint, with subscribers notified of each alert stored."""

    def __init__(self, clock: Clock, marker: Marker) -> None:
        self._clock = clock
        self._marker = marker
        self._alerts: dict[int, Alert] = {}
        self._subscribers: dict[int, Subscriber] = {}
        self._ids = itertools.count()
        #: Changes whenever the alerts held change (a put, a garbage collection).
        self.version = 0

    def __len__(self) -> int:
        return len(self._alerts)

    def receive(self, alerts: Sequence[Alert], resolve_timeout_ms: int) -> _Alerts:
        """Stamp alerts as ``POST /api/v2/alerts`` does, then :meth:`put` them; returns them
        as stored (merged). A start of 0 is missing: it becomes the end if one is given,
        else now; a missing end becomes now + ``resolve_timeout_ms`` with ``timeout`` set."""
        now = self._clock.now_ms()
        return self.put([_stamp(a, now, resolve_timeout_ms) for a in alerts])

    def put(self, alerts: Sequence[Alert]) -> _Alerts:
        """Store each alert (merged with the held one when their ranges overlap) and hand
        it to every subscriber; returns the alerts as stored."""
        stored: _Alerts = []
        self.version += 1
        for alert in alerts:
            old = self._alerts.get(alert.fingerprint)
            if old is not None and overlaps(old, alert):
                alert = merge(old, alert, self._clock.now_ms())
            self._alerts[alert.fingerprint] = alert
            stored.append(alert)
            for callback in list(self._subscribers.values()):
                _call(callback, alert)
        return stored

    def get(self, fp: int) -> Alert | None:
        """The alert held under fingerprint ``fp``, if any."""
        return self._alerts.get(fp)

    def list(self) -> _Alerts:
        """Every alert held, resolved ones included until they are garbage-collected."""
        return list(self._alerts.values())

    def firing(self, now_ms: int) -> _Alerts:
        """The alerts not resolved at ``now_ms`` (the inhibitor's possible sources)."""
        return [a for a in self._alerts.values() if not a.resolved_at(now_ms)]

    def gc(self) -> int:
        """Drop the alerts resolved now and forget their marks; returns how many went."""
        now = self._clock.now_ms()
        gone = [fp for fp, a in self._alerts.items() if a.resolved_at(now)]
        self.version += 1
        for fp in gone:
            del self._alerts[fp]
            self._marker.delete(fp)
        return len(gone)

    async def run_gc(self, interval_ms: int = GC_INTERVAL_MS) -> None:
        """Call :meth:`gc` every ``interval_ms`` on the store's clock until cancelled."""
        next_at = self._clock.now_ms() + interval_ms
        while True:
            await self._clock.sleep_until(next_at)
            dropped = self.gc()
            if dropped:
                log.debug("resolved alerts garbage-collected", extra={"alerts": dropped})
            next_at = self._clock.now_ms() + interval_ms

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Hand ``callback`` every alert held now, then each alert stored from now on, until
        the returned function is called (Alertmanager's ``Subscribe`` replay)."""
        sid = next(self._ids)
        for alert in list(self._alerts.values()):
            _call(callback, alert)
        self._subscribers[sid] = callback
        return lambda: self._subscribers.pop(sid, None) and None


def _stamp(alert: Alert, now: int, resolve_timeout_ms: int) -> Alert:
    starts_at = alert.starts_at
    if starts_at == 0:
        starts_at = now if alert.ends_at is None else alert.ends_at
    if alert.ends_at is None:
        return alert.with_times(starts_at, now + resolve_timeout_ms, now, True)
    return alert.with_times(starts_at, alert.ends_at, now, alert.timeout)


def _call(callback: Subscriber, alert: Alert) -> None:
    """A subscriber that fails is logged; the store and the other subscribers carry on."""
    try:
        callback(alert)
    except Exception:
        log.exception("alert subscriber failed", extra={"alert": alert.fingerprint_hex})
