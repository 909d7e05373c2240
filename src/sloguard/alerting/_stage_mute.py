"""Muting: the stage that drops muted alerts, and the two muters it runs with (inhibition
and silences), each recording on the :class:`Marker` why an alert is or is not muted.

Silences live in the shared state store; :class:`SilenceMuter` reads them again at most
every ``refresh_ms``, so a silence created on another replica mutes here within that time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sloguard.alerting._matchers import LabelSet, matches_all
from sloguard.alerting._nflog_async import Blocking
from sloguard.alerting._routecfg import InhibitRule
from sloguard.alerting._silence_index import SilenceIndex
from sloguard.alerting.inhibit import Inhibitor, equal_key
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert, fingerprint
from sloguard.alerting.silence_match import Silence, SilenceState
from sloguard.alerting.stages import FlushContext, Instant
from sloguard.clock import Clock
from sloguard.labels import Labels
from sloguard.state import SilenceRepository, StateError

__all__ = ["DEFAULT_SILENCE_REFRESH_MS", "InhibitMuter", "MuteStage", "Muter", "SilenceMuter"]

log = logging.getLogger("sloguard.alerting")

DEFAULT_SILENCE_REFRESH_MS = 1000
"""How stale the silence cache may be: a silence set on another replica mutes here this soon."""


class Muter(Protocol):
    """Alertmanager's ``types.Muter``: whether an alert with these labels is muted now, and
    the same judgement for a flush's alerts at once (marking each)."""

    def mutes(self, labels: Labels) -> bool: ...

    def unmuted(self, alerts: Sequence[Alert]) -> list[Alert]:
        """The alerts not muted now, in order: ``[a for a in alerts if not mutes(a.labels)]``."""
        ...


class MuteStage(Instant):
    """Passes on the alerts its muter does not mute."""

    __slots__ = ("muter",)

    def __init__(self, muter: Muter) -> None:
        self.muter = muter

    def run(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        return ctx, self.muter.unmuted(alerts)


class InhibitMuter:
    """Inhibition over the alerts firing now (``firing`` gives every alert the pipeline holds;
    resolved ones are left out, as Alertmanager's source cache does). Marks each alert it
    judges inhibited by the source's fingerprint, or not inhibited.

    The possible sources are indexed per rule by their ``equal`` values, so a target is
    compared with the sources of its own key only. With ``version`` (a number that changes
    whenever the alerts held change) the index is kept until the alerts change: judging
    every alert, as ``GET /api/v2/alerts`` does, reads the alerts once instead of once per
    alert (10,000 alerts with 1,000 SLO tickets: 11 s of event loop before)."""

    __slots__ = ("_clock", "_firing", "_index", "_marker", "_version", "inhibitor")

    def __init__(self, inhibitor: Inhibitor, marker: Marker,
                 firing: Callable[[], Sequence[Alert]], clock: Clock,
                 version: Callable[[], int] | None = None) -> None:
        self.inhibitor = inhibitor
        self._marker = marker
        self._firing = firing
        self._clock = clock
        self._version = version
        self._index: tuple[int, list[dict[tuple[str, ...], list[Alert]]]] | None = None

    def mutes(self, labels: Labels) -> bool:
        return not self._judge([(fingerprint(labels), labels)])[0]

    def unmuted(self, alerts: Sequence[Alert]) -> list[Alert]:
        if not self.inhibitor.rules:  # no inhibit_rules (the usual case): nothing to judge
            self._marker.set_inhibited_all([(a.fingerprint, ()) for a in alerts])
            return list(alerts)
        kept = self._judge([(a.fingerprint, a.labels) for a in alerts])
        return [a for a, keep in zip(alerts, kept, strict=True) if keep]

    def _judge(self, alerts: list[tuple[int, Labels]]) -> list[bool]:
        """Mark each (fingerprint, labels) inhibited or not; whether each is kept. The
        firing sources are read once, and only when some rule's target side matches."""
        rules = self.inhibitor.rules
        index: list[dict[tuple[str, ...], list[Alert]]] | None = None
        now = self._clock.now_ms()
        marks: list[tuple[int, tuple[str, ...]]] = []
        kept: list[bool] = []
        for fp, labels in alerts:
            found = None
            if any(matches_all(r.target_matchers, labels) for r in rules):
                if index is None:
                    index = self._sources()
                found = self.inhibitor.inhibited_among(labels, functools.partial(_candidates, index, labels, now))
            marks.append((fp, () if found is None else (_fingerprint_hex(found.source),)))
            kept.append(found is None)
        self._marker.set_inhibited_all(marks)
        return kept

    def _sources(self) -> list[dict[tuple[str, ...], list[Alert]]]:
        """Per rule, the firing alerts matching its source side by their ``equal`` values, in
        the order ``firing`` gave them; kept while ``version`` stays the same (an alert that
        resolved since is left out when the index is read)."""
        version = self._version() if self._version is not None else None
        if version is not None and self._index is not None and self._index[0] == version:
            return self._index[1]
        firing = self._firing()
        index: list[dict[tuple[str, ...], list[Alert]]] = []
        for rule in self.inhibitor.rules:
            by_key: dict[tuple[str, ...], list[Alert]] = {}
            for a in firing:
                if matches_all(rule.source_matchers, a.labels):
                    by_key.setdefault(equal_key(rule, a.labels), []).append(a)
            index.append(by_key)
        if version is not None:
            self._index = (version, index)
        return index


def _candidates(index: list[dict[tuple[str, ...], list[Alert]]], labels: LabelSet, now: int,
                i: int, rule: InhibitRule) -> list[Labels]:
    """Rule ``i``'s possible sources for ``labels``: those of its ``equal`` values, still firing."""
    return [a.labels for a in index[i].get(equal_key(rule, labels), ()) if not a.resolved_at(now)]


def _fingerprint_hex(labels: LabelSet) -> str:
    pairs = labels if isinstance(labels, Labels) else Labels.from_dict(labels)
    return f"{fingerprint(pairs):016x}"


class SilenceMuter:
    """Silences from the state store, cached for at most ``refresh_ms`` of the injected clock.

    When the store cannot be read, the silences read last stay in force (a database outage
    does not unmute everything); the failure is logged and counted in ``refresh_failures``.
    Marks each alert with the ids of the silences muting it (none: not silenced).

    With a ``reader`` (a server passes ``asyncio.to_thread``) the read that is due because
    ``refresh_ms`` passed runs off the event loop, in the background: flushes go on with
    the silences read last until it lands, instead of the loop waiting for the database (a
    SQLite read on the loop took 27 ms under load, a remote database a round trip). The
    first read, and the read after a silence was written through this store (its
    ``generation`` moved), stay immediate, so such a silence mutes the very next flush.
    """

    __slots__ = ("_clock", "_generation", "_index", "_loaded_at", "_marker", "_reader", "_reading", "_reads", "_repo",
                 "refresh_failures", "refresh_ms")

    def __init__(self, repo: SilenceRepository, marker: Marker, clock: Clock,
                 refresh_ms: int = DEFAULT_SILENCE_REFRESH_MS, reader: Blocking | None = None) -> None:
        if refresh_ms < 0:
            raise ValueError(f"The silence refresh interval must not be negative; got {refresh_ms} ms.")
        self._repo = repo
        self._marker = marker
        self._clock = clock
        self.refresh_ms = refresh_ms
        self._reader = reader
        self._reading: asyncio.Future[None] | None = None
        self._reads = 0  #: reads started, so a background read never replaces a later one
        self._index = SilenceIndex()  #: the silences read last
        self._loaded_at: int | None = None
        self._generation = -1
        self.refresh_failures = 0

    def mutes(self, labels: Labels) -> bool:
        self._refresh(self._clock.now_ms())
        return not self._judge([(fingerprint(labels), labels)])[0]

    def unmuted(self, alerts: Sequence[Alert]) -> list[Alert]:
        self._refresh(self._clock.now_ms())
        if not len(self._index):  # nothing silenced: no time to convert, no matcher to run
            self._marker.set_silenced_all([(a.fingerprint, ()) for a in alerts])
            return list(alerts)
        kept = self._judge([(a.fingerprint, a.labels) for a in alerts])
        return [a for a, keep in zip(alerts, kept, strict=True) if keep]

    def _judge(self, alerts: list[tuple[int, Labels]]) -> list[bool]:
        """Mark each (fingerprint, labels) with the silences muting it (as read last);
        whether each is kept."""
        now, muting = datetime.fromtimestamp(self._clock.now_ms() / 1000, UTC), self._index.muting
        marks = [(fp, muting(labels, now)) for fp, labels in alerts]
        self._marker.set_silenced_all(marks)
        return [not ids for _, ids in marks]

    def _refresh(self, now_ms: int) -> None:
        generation = self._repo.generation  # a write in this process: read again at once
        if self._loaded_at is not None and generation == self._generation:
            if now_ms - self._loaded_at < self.refresh_ms or self._reading is not None:
                return
            if self._reader is not None and _running_loop():
                self._loaded_at = now_ms
                self._reading = asyncio.ensure_future(self._read_later(self._reader, self._reads + 1))
                self._reads += 1
                return
        self._loaded_at, self._generation = now_ms, generation
        self._reads += 1
        try:
            self._index.load(self._list())
        except StateError as e:
            self._failed(e)

    async def _read_later(self, reader: Blocking, read: int) -> None:
        try:
            silences = await reader(self._list)
        except StateError as e:
            self._failed(e)
        except Exception:  # a bug: reported, and the silences read last stay in force
            self.refresh_failures += 1
            log.exception("reading silences failed unexpectedly")
        else:
            if read == self._reads:  # no immediate read began meanwhile (it would be newer)
                self._index.load(silences)
        finally:
            self._reading = None

    def _list(self) -> list[Silence]:
        return self._repo.list((SilenceState.ACTIVE, SilenceState.PENDING))

    def _failed(self, e: StateError) -> None:
        self.refresh_failures += 1
        log.warning("reading silences failed; the ones read before stay in force",
                    extra={"err": str(e), "silences": len(self._index)})


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
