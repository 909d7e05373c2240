"""The alert as the notification pipeline sees it, and Alertmanager's label-set fingerprint.

Times are Unix milliseconds (sloguard's clock unit); ``ends_at`` is ``None`` when the
sender gave no end. An alert is resolved at ``now`` when its end is at or before ``now``
(Alertmanager's ``Alert.ResolvedAt``), so one alert is firing or resolved only relative
to a time: :meth:`Alert.status_at`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sloguard._slots import fast_init
from sloguard.alerting._fingerprint import fingerprint, fingerprints
from sloguard.gofmt import go_quote
from sloguard.labels import Labels

__all__ = [
    "Alert",
    "AlertStatus",
    "Annotations",
    "fingerprint",
    "fingerprints",
    "go_time_rfc3339",
    "label_set_string",
    "sort_alerts",
]

#: Annotations: (name, value) pairs sorted by name; unlike labels, empty values are kept.
Annotations = tuple[tuple[str, str], ...]


class AlertStatus(enum.Enum):
    """Alertmanager's ``model.AlertStatus`` words."""

    FIRING = "firing"
    RESOLVED = "resolved"


def label_set_string(labels: Iterable[tuple[str, str]]) -> str:
    """``model.LabelSet.String``: ``{a="1", b="2"}``, entries sorted as text, values ``%q``."""
    return "{" + ", ".join(sorted(f"{n}={go_quote(v)}" for n, v in labels)) + "}"


@functools.lru_cache(maxsize=4096)
def go_time_rfc3339(ms: int | None) -> str:
    """Go's JSON form of a ``time.Time`` in UTC (RFC 3339, fraction without trailing zeros);
    ``None`` is Go's zero time ``0001-01-01T00:00:00Z``. Remembered: the alerts of one batch
    share their times, and ``strftime`` is slow."""
    if ms is None:
        return "0001-01-01T00:00:00Z"
    secs, frac = divmod(ms, 1000)
    s = datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + f"{frac:03d}".rstrip("0")
    return s + "Z"


@fast_init
@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: its identity is ``labels`` (``fingerprint`` is their Alertmanager hash).

    ``updated_at`` is when the pipeline last received it; ``timeout`` says ``ends_at`` was
    not given by the sender but set from ``resolve_timeout`` (Alertmanager's ``Timeout``).
    """

    labels: Labels
    annotations: Annotations = ()
    starts_at: int = 0
    ends_at: int | None = None
    generator_url: str = ""
    updated_at: int = 0
    timeout: bool = False
    #: Computed from ``labels`` when not given; only copies of an alert (and batch
    #: constructors that computed it with :func:`fingerprint`) pass it in.
    fingerprint: int = field(default=-1, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.fingerprint < 0:
            object.__setattr__(self, "fingerprint", fingerprint(self.labels))

    @classmethod
    def of(cls, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None,
           starts_at: int = 0, ends_at: int | None = None, generator_url: str = "") -> Alert:
        """An alert from plain dicts (labels with empty values are dropped, as Alertmanager does)."""
        return cls(Labels.from_dict(labels), tuple(sorted((annotations or {}).items())),
                   starts_at, ends_at, generator_url)

    def with_times(self, starts_at: int, ends_at: int | None, updated_at: int, timeout: bool) -> Alert:
        """This alert with other times (every alert is copied on its way: stamped when
        received, its end cleared when sent firing). The constructor is :func:`fast_init`'s,
        and ``dataclasses.replace`` costs several times more."""
        return Alert(self.labels, self.annotations, starts_at, ends_at, self.generator_url, updated_at, timeout,
                     self.fingerprint)

    @property
    def fingerprint_hex(self) -> str:
        """``Fingerprint.String()``: 16 lower-case hex digits."""
        return f"{self.fingerprint:016x}"

    def resolved_at(self, now_ms: int) -> bool:
        """Resolved when an end is set and is not after ``now_ms``."""
        return self.ends_at is not None and self.ends_at <= now_ms

    def status_at(self, now_ms: int) -> AlertStatus:
        return AlertStatus.RESOLVED if self.resolved_at(now_ms) else AlertStatus.FIRING


LabelsKey = tuple[int, tuple[tuple[tuple[int, ...], str], ...]]


@functools.lru_cache(maxsize=4096)
def _name_key(name: str) -> tuple[int, ...]:
    """A key that orders names backwards (a prefix after its extensions): at the first name
    two label sets differ in, the set lacking the smaller name sorts first."""
    return (*(-ord(c) for c in name), 1)


def labels_key(labels: Labels) -> LabelsKey:
    """The sort key of ``model.LabelSet.Before``: fewer labels first, then by value over the
    sorted union of names, a set lacking a name sorting first. A key, not a comparison, so
    150,000 groups sort in C, not in millions of Python calls."""
    return len(labels), tuple((_name_key(n), v) for n, v in labels)


def labels_before(a: Labels, b: Labels) -> bool:
    """``model.LabelSet.Before``."""
    return labels_key(a) < labels_key(b)


def _alert_key(alert: Alert) -> tuple[tuple[int, str], tuple[int, str], LabelsKey]:
    """``AlertSlice.Less`` as a key: by ``job``, then ``instance`` (an alert having one
    before those lacking it), then label sets."""
    ls = alert.labels
    job = (0, ls.get("job")) if ls.has("job") else (1, "")
    instance = (0, ls.get("instance")) if ls.has("instance") else (1, "")
    return job, instance, labels_key(ls)


def sort_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Alertmanager's notification order (``AlertSlice.Less``, a stable sort): by ``job``,
    then ``instance`` (an alert lacking one sorts after those having it), then label sets."""
    if len(alerts) < 2:  # the usual batch of a group by instance: nothing to compare
        return list(alerts)
    return sorted(alerts, key=_alert_key)
