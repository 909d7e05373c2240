"""Why an alert is or is not being notified: Alertmanager's ``types.Marker``.

The mute stages write here as they run (silenced by which silences, inhibited by which
alerts); the API's ``status`` of an alert (``state``, ``silencedBy``, ``inhibitedBy``) and
the UI read it. An alert the pipeline has not looked at yet is ``unprocessed``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["AlertMark", "AlertState", "Marker"]


class AlertState(enum.Enum):
    """Alertmanager's ``AlertState`` words, as ``GET /api/v2/alerts`` shows them."""

    UNPROCESSED = "unprocessed"
    ACTIVE = "active"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class AlertMark:
    """An alert's status: ``suppressed`` exactly when some silence or alert mutes it.

    ``silenced_by`` holds silence ids, ``inhibited_by`` the fingerprints (16 hex digits) of
    the alerts that inhibit it, each sorted.
    """

    state: AlertState = AlertState.UNPROCESSED
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()


_UNPROCESSED = AlertMark()


class Marker:
    """Alert marks by fingerprint; safe to share between the pipeline and API threads."""

    def __init__(self) -> None:
        self._marks: dict[int, AlertMark] = {}
        self._lock = threading.Lock()

    def status(self, fp: int) -> AlertMark:
        """The alert's mark (``unprocessed`` when it was never marked)."""
        with self._lock:
            return self._marks.get(fp, _UNPROCESSED)

    def set_silenced(self, fp: int, silence_ids: Iterable[str]) -> None:
        """Record the silences muting the alert now (none: it is no longer silenced)."""
        with self._lock:
            old = self._marks.get(fp, _UNPROCESSED)
            self._marks[fp] = _mark(tuple(sorted(set(silence_ids))), old.inhibited_by)

    def set_inhibited(self, fp: int, source_fps: Iterable[str]) -> None:
        """Record the alerts inhibiting this one now (none: it is no longer inhibited)."""
        with self._lock:
            old = self._marks.get(fp, _UNPROCESSED)
            self._marks[fp] = _mark(old.silenced_by, tuple(sorted(set(source_fps))))

    def set_silenced_all(self, marks: Iterable[tuple[int, tuple[str, ...]]]) -> None:
        """:meth:`set_silenced` for each (fingerprint, silence ids), under one lock."""
        with self._lock:
            get = self._marks.get
            for fp, ids in marks:
                self._marks[fp] = _mark(_ids(ids), get(fp, _UNPROCESSED).inhibited_by)

    def set_inhibited_all(self, marks: Iterable[tuple[int, tuple[str, ...]]]) -> None:
        """:meth:`set_inhibited` for each (fingerprint, source fingerprints), under one lock."""
        with self._lock:
            get = self._marks.get
            for fp, fps in marks:
                self._marks[fp] = _mark(get(fp, _UNPROCESSED).silenced_by, _ids(fps))

    def set_active(self, fp: int) -> None:
        """Neither silenced nor inhibited."""
        with self._lock:
            self._marks[fp] = AlertMark(AlertState.ACTIVE)

    def delete(self, fp: int) -> None:
        """Forget the alert (it left the alert store)."""
        with self._lock:
            self._marks.pop(fp, None)

    def count(self, state: AlertState) -> int:
        """How many marked alerts are in ``state`` (for ``alertmanager_alerts``-style metrics)."""
        with self._lock:
            return sum(1 for m in self._marks.values() if m.state is state)


_ACTIVE = AlertMark(AlertState.ACTIVE)


def _ids(ids: tuple[str, ...]) -> tuple[str, ...]:
    """Sorted and without repeats (none, or one, as most often: as given)."""
    return ids if len(ids) < 2 else tuple(sorted(set(ids)))


def _mark(silenced_by: tuple[str, ...], inhibited_by: tuple[str, ...]) -> AlertMark:
    if not silenced_by and not inhibited_by:
        return _ACTIVE  # the usual mark: one shared (marks are immutable)
    return AlertMark(AlertState.SUPPRESSED, silenced_by, inhibited_by)
