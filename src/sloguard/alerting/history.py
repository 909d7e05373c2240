"""Alert transitions into the durable alert history: fired and resolved.

:class:`HistoryRecorder` subscribes to the :class:`~sloguard.alerting.provider.AlertStore`
and compares each alert stored with what it last saw under that fingerprint: an alert
firing that was not is *fired* (at its ``starts_at``), an alert resolved that was firing
is *resolved* (at its ``ends_at``). An alert that times out (no update before its end)
is never stored again, so :meth:`HistoryRecorder.sweep` finds it (through a heap of the
firing alerts' ends: a sweep looks at the alerts whose end passed, not at every alert, so
100,000 firing alerts do not cost the event loop a pass each second). The subscriber runs on
the event loop and only queues events; :meth:`HistoryRecorder.flush` writes them in one
transaction in a worker thread. Events a flush could not write (the database away) stay
queued for the next one, up to ``max_pending``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from sloguard.alerting.model import Alert
from sloguard.clock import Clock
from sloguard.state import HistoryEvent, HistoryKind
from sloguard.state.alert_history import alert_history_event

__all__ = ["DROP_REPORT_MS", "MAX_PENDING", "HistoryRecorder", "Writer", "alert_event"]

log = logging.getLogger("sloguard.alerting.history")

#: Events kept for the next flush at most (the oldest go): a burst of that many new alerts
#: between two flushes (one a second), or the events of a database away for a while.
MAX_PENDING = 100_000

#: The least time between two warnings about dropped events.
DROP_REPORT_MS = 60_000

#: Stores events; returns how many were new (``AlertHistoryRepository.record``).
Writer = Callable[[Sequence[HistoryEvent]], int]


def alert_event(alert: Alert, kind: HistoryKind) -> HistoryEvent:
    """The event of ``alert`` firing (at its start) or resolved (at its end)."""
    time = alert.starts_at if kind is HistoryKind.ALERT_FIRED else (alert.ends_at or alert.starts_at)
    return alert_history_event(time, kind, f"{alert.fingerprint:016x}", dict(alert.labels), alert.starts_at,
                               alert.ends_at or 0)


class HistoryRecorder:
    """Turns the alerts the store holds into fired/resolved events and writes them."""

    def __init__(self, write: Writer, clock: Clock, max_pending: int = MAX_PENDING) -> None:
        self._write = write
        self._clock = clock
        self._max_pending = max_pending
        self._firing: dict[int, Alert] = {}
        #: (end, fingerprint) of the firing alerts, the soonest first; an entry whose end is
        #: no longer the one in ``_due`` (the alert was updated since) is skipped.
        self._ends: list[tuple[int, int]] = []
        self._due: dict[int, int] = {}
        self._seen: set[int] = set()
        self._pending: list[HistoryEvent] = []
        self._writing: tuple[asyncio.Future[int], list[HistoryEvent]] | None = None
        self.dropped = 0
        self._unreported = 0
        self._reported_at: int | None = None

    @property
    def pending(self) -> int:
        """Events waiting for the next flush."""
        return len(self._pending)

    def observe(self, alert: Alert) -> None:
        """The store's subscriber: queue the event of a transition, if ``alert`` makes one."""
        fp, now = alert.fingerprint, self._clock.now_ms()
        was_firing = fp in self._firing
        if not alert.resolved_at(now):
            self._firing[fp] = alert
            end = alert.ends_at
            if end is not None and self._due.get(fp) != end:
                self._due[fp] = end
                heapq.heappush(self._ends, (end, fp))
            if not was_firing:
                self._queue(alert_event(alert, HistoryKind.ALERT_FIRED))
        elif was_firing or fp not in self._seen:  # first seen resolved: after a restart, say so once
            self._firing.pop(fp, None)
            self._due.pop(fp, None)
            self._queue(alert_event(alert, HistoryKind.ALERT_RESOLVED))
        self._seen.add(fp)

    def sweep(self, held: Callable[[int], Alert | None], full: bool = False) -> None:
        """Resolve the firing alerts that ended without an update (their end passed). With
        ``full``, a pass over every firing alert: also resolve those the store no longer
        holds, and forget the alerts it dropped (the maintenance round does this)."""
        now = self._clock.now_ms()
        due: list[int] = []
        while self._ends and self._ends[0][0] <= now:
            end, fp = heapq.heappop(self._ends)
            if self._due.get(fp) == end:
                del self._due[fp]
                due.append(fp)
        for fp in list(self._firing) if full else due:
            last = self._firing.get(fp)
            if last is None:
                continue
            current = held(fp)
            if current is None or current.resolved_at(now):
                del self._firing[fp]
                self._due.pop(fp, None)
                gone = current or last
                self._queue(alert_event(gone if gone.resolved_at(now) else replace(gone, ends_at=now),
                                        HistoryKind.ALERT_RESOLVED))
        if full:
            self._seen = {fp for fp in self._seen if fp in self._firing or held(fp) is not None}  # firing: no lookup
            if len(self._ends) > 2 * len(self._due) + 1024:  # mostly entries of updated alerts: rebuild
                self._ends = [(end, fp) for fp, end in self._due.items()]
                heapq.heapify(self._ends)

    async def flush(self) -> None:
        """Write the queued events in a worker thread; on failure they stay queued. A flush
        cancelled mid-write (the pipeline stopping) leaves that write running: the next
        flush waits for it first, so stopping never loses or races a batch."""
        await self._settle()
        self._report_drops()
        batch, self._pending = self._pending, []
        if not batch:
            return
        self._writing = (asyncio.ensure_future(asyncio.to_thread(self._write, batch)), batch)
        await self._settle(raise_error=True)

    async def _settle(self, raise_error: bool = False) -> None:
        """Wait for the write in flight, if any; its batch goes back to the queue if it failed."""
        if self._writing is None:
            return
        task, batch = self._writing
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._writing = None
            self._pending = batch + self._pending
            self._trim()
            if raise_error:
                raise
            log.warning("alert history write failed; its events stay queued", exc_info=True)
            return
        self._writing = None

    def _queue(self, event: HistoryEvent) -> None:
        self._pending.append(event)
        self._trim()

    def _trim(self) -> None:
        extra = len(self._pending) - self._max_pending
        if extra > 0:
            del self._pending[:extra]
            self.dropped += extra
            self._unreported += extra
            self._report_drops()

    def _report_drops(self) -> None:
        """One warning for the drops since the last, at most every ``DROP_REPORT_MS`` (a burst
        of 100,000 alerts, or a database away for an hour, is not a line per event)."""
        now = self._clock.now_ms()
        if not self._unreported or (self._reported_at is not None and now - self._reported_at < DROP_REPORT_MS):
            return
        log.warning("alert history events dropped: more than %s were waiting to be written to the state store",
                    f"{self._max_pending:,}", extra={"dropped": self._unreported, "dropped_total": self.dropped})
        self._unreported, self._reported_at = 0, now
