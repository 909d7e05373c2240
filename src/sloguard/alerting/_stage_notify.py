"""The notification log's stages for one receiver integration: :class:`DedupStage` (send
only what the last notification did not already say, or after ``repeat_interval``; with
the HA agreement, one replica claims the flush in the same transaction) and
:class:`SetNotifiesStage` (record what the receiver accepted).

Alert hashes are Alertmanager's ``hashAlert`` (XXH64 over ``name 0xff value 0xff`` in
label-name order), so the log holds the same numbers Alertmanager's would. The flush id
is built only from what every replica reads alike (the log entry's time and the hashes),
so replicas flushing the same group with the same alerts compete for one claim.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TypeVar

from sloguard.alerting._nflog_async import AsyncNflog, InlineNflog
from sloguard.alerting.model import Alert
from sloguard.alerting.stages import Deferred, FlushContext, StageError
from sloguard.clock import Clock
from sloguard.labels import Labels, labels_hash, xxh64
from sloguard.state import NflogEntry, NflogReceiver, NotificationLog, StateError

__all__ = [
    "DEFAULT_NFLOG_RETENTION_MS", "MIN_TIMEOUT_MS", "DedupStage",
    "SetNotifiesStage", "flush_id", "hash_alert", "needs_update",
]

log = logging.getLogger("sloguard.alerting")

T = TypeVar("T")

DEFAULT_NFLOG_RETENTION_MS = 120 * 3_600_000
"""Alertmanager's ``--data.retention`` default: how long a log entry is kept at most."""
MIN_TIMEOUT_MS = 10_000
"""Alertmanager's ``notify.MinTimeout``: a flush may take at least this long."""


@functools.lru_cache(maxsize=65536)
def _hash_labels(labels: Labels) -> int:
    return labels_hash(list(labels))


def hash_alert(alert: Alert) -> int:
    """Alertmanager's ``hashAlert``: XXH64 of the alert's labels (``name 0xff value 0xff``)."""
    return _hash_labels(alert.labels)


def needs_update(entry: NflogEntry | None, firing: set[int], resolved: set[int], *,
                 send_resolved: bool, repeat_ms: int, now_ms: int) -> bool:
    """Alertmanager's ``DedupStage.needsUpdate``: whether this flush must be notified."""
    if entry is None:
        return bool(firing)  # never notified: only when something fires
    if not entry.is_firing_subset(firing):
        return True
    if not firing:
        # All resolved: notify (whatever send_resolved says) only if the receiver was told
        # something fired, so the log forgets it; alerts that came and went are not news.
        return bool(entry.firing)
    if send_resolved and not entry.is_resolved_subset(resolved):
        return True
    return entry.timestamp < now_ms - repeat_ms  # nothing changed: only after repeat_interval


def _digest(hashes: Sequence[int]) -> str:
    return _digest_of(tuple(hashes))


@functools.lru_cache(maxsize=4096)
def _digest_of(hashes: tuple[int, ...]) -> str:
    """Remembered: most flushes resolve nothing (the empty set), and a group's firing set
    repeats at every repeat_interval."""
    return f"{xxh64(','.join(map(str, hashes)).encode()):016x}"


def flush_id(entry: NflogEntry | None, firing: Sequence[int], resolved: Sequence[int]) -> str:
    """What every replica computes alike for the same notification: the last entry's time
    and the digests of the sorted firing and resolved hashes."""
    return f"{entry.timestamp if entry else 0}:{_digest(firing)}:{_digest(resolved)}"


def _unavailable(ctx: FlushContext, what: str, e: StateError) -> StageError:
    return StageError(f"{ctx.integration}: {what} for group {ctx.group_key} failed: {e}", e.retryable)


class DedupStage:
    """Drops the flush when the receiver already knows it (:func:`needs_update` against the
    log entry); records the firing and resolved hashes and the flush id on the context.

    With a ``holder`` (this replica's name) it is also the HA agreement: the flush it lets
    through is claimed for ``holder`` until the flush's deadline, in the same transaction
    as the read. Only the replica whose claim went in sends; another replica's unexpired
    claim stops the chain here with :class:`Deferred` (this replica does not know the
    notification went out, so its flush must not count as delivered). An expired claim (its
    holder died or gave up at the deadline) is taken over, so the notification is sent by
    whoever flushes next."""

    __slots__ = ("holder", "nflog", "receiver", "send_resolved")

    def __init__(self, nflog: AsyncNflog | NotificationLog, receiver: NflogReceiver, send_resolved: bool,
                 holder: str | None = None) -> None:
        self.nflog = _async(nflog)
        self.receiver = receiver
        self.send_resolved = send_resolved
        self.holder = holder

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        now = ctx.now_ms
        firing: set[int] = set()
        resolved: set[int] = set()
        for a in alerts:  # one pass: Alert.resolved_at and hash_alert, inline
            ends = a.ends_at
            (resolved if ends is not None and ends <= now else firing).add(_hash_labels(a.labels))
        f, r = tuple(sorted(firing)), tuple(sorted(resolved))
        send_resolved, repeat_ms = self.send_resolved, ctx.route.repeat_interval_ms

        def decide(entry: NflogEntry | None) -> str | None:
            """The flush to send (its id), or None; run where the log's transaction runs."""
            update = needs_update(entry, firing, resolved, send_resolved=send_resolved, repeat_ms=repeat_ms, now_ms=now)
            return flush_id(entry, f, r) if update else None

        if self.holder is None:
            try:
                entry = await self.nflog.query(self.receiver, ctx.group_key)
            except StateError as e:
                raise _unavailable(ctx, "reading the notification log", e) from e
            flush = decide(entry)
        else:
            expires = ctx.deadline_ms if ctx.deadline_ms is not None else now + MIN_TIMEOUT_MS
            try:
                found = await self.nflog.decide(self.receiver, ctx.group_key, self.holder, expires_at=expires,
                                                decide=decide)
            except StateError as e:
                raise _unavailable(ctx, "reading the notification log and claiming the flush", e) from e
            entry, flush = found.entry, found.flush_id
            if flush is not None and not found.won:
                raise Deferred(f"{ctx.integration}: another replica holds flush {flush} of group {ctx.group_key}")
        # The flush id ``decide`` made when there is something to send (not made twice).
        ctx = ctx.deduplicated(f, r, flush if flush is not None else flush_id(entry, f, r))
        return ctx, list(alerts) if flush is not None else []


class SetNotifiesStage:
    """Logs what was sent (``ctx.firing``, ``ctx.resolved``) at the clock's now. Runs only
    after the receiver accepted (a failed send stops the chain before it). The entry
    expires after the retention, or after twice the repeat interval when that is shorter
    (Alertmanager 0.25's ``Log``)."""

    __slots__ = ("clock", "nflog", "receiver", "retention_ms")

    def __init__(self, nflog: AsyncNflog | NotificationLog, receiver: NflogReceiver, clock: Clock,
                 retention_ms: int = DEFAULT_NFLOG_RETENTION_MS) -> None:
        self.nflog = _async(nflog)
        self.receiver = receiver
        self.clock = clock
        self.retention_ms = retention_ms

    def expiry_ms(self, repeat_ms: int) -> int:
        twice = 2 * repeat_ms
        return twice if 0 < twice < self.retention_ms else self.retention_ms

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        now = self.clock.now_ms()
        expires = now + self.expiry_ms(ctx.route.repeat_interval_ms)
        try:
            await self.nflog.log(self.receiver, ctx.group_key, ctx.firing, ctx.resolved,
                                 expires_at=expires, timestamp=now)
        except StateError as e:
            raise _unavailable(ctx, "logging the notification", e) from e
        return ctx, list(alerts)


def _async(nflog: AsyncNflog | NotificationLog) -> AsyncNflog:
    """A store's log as the stages call it (each call inline), or an async one as given."""
    return InlineNflog(nflog) if isinstance(nflog, NotificationLog) else nflog
