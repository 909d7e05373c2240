"""One alert and its state machine (inactive -> pending -> firing -> inactive/resolved).

Each transition is a small method returning a new :class:`Alert`; the rule decides when
to call which (see ``AlertingRule.eval``). Times are milliseconds; ``None`` is Go's zero time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from sloguard.labels import Labels

#: Annotations: (name, value) pairs sorted by name; unlike labels, empty values are kept.
Annotations = tuple[tuple[str, str], ...]

#: Resolved alerts are kept (and re-sent) this long, as in Prometheus.
RESOLVED_RETENTION_MS = 15 * 60_000


class AlertState(enum.IntEnum):
    """Ordered so that a rule's state is the max of its alerts' states."""

    INACTIVE = 0
    PENDING = 1
    FIRING = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert of one alerting rule for one label set.

    ``labels`` include ``alertname`` and the rule's (expanded) labels; ``value`` is the
    expression's value at the last evaluation that returned this label set.
    """

    labels: Labels
    annotations: Annotations
    state: AlertState
    value: float
    active_at: int
    fired_at: int | None = None
    resolved_at: int | None = None
    last_sent_at: int | None = None
    valid_until: int | None = None
    keep_firing_since: int | None = None

    @classmethod
    def new_pending(cls, labels: Labels, annotations: Annotations, value: float, ts: int) -> Alert:
        return cls(labels, annotations, AlertState.PENDING, value, ts)

    def refresh(self, value: float, annotations: Annotations) -> Alert:
        """Still returned by the expression: keep state, update value and annotations."""
        return replace(self, value=value, annotations=annotations, keep_firing_since=None)

    def fire(self, ts: int) -> Alert:
        return replace(self, state=AlertState.FIRING, fired_at=ts)

    def resolve(self, ts: int) -> Alert:
        return replace(self, state=AlertState.INACTIVE, resolved_at=ts)

    def start_keep_firing(self, ts: int) -> Alert:
        return self if self.keep_firing_since is not None else replace(self, keep_firing_since=ts)

    def restore_active_at(self, active_at: int) -> Alert:
        return replace(self, active_at=active_at)

    def mark_sent(self, ts: int, valid_until: int) -> Alert:
        return replace(self, last_sent_at=ts, valid_until=valid_until)

    def is_expired(self, ts: int) -> bool:
        """Resolved long enough ago to be forgotten."""
        return self.resolved_at is not None and ts - self.resolved_at > RESOLVED_RETENTION_MS

    def needs_sending(self, ts: int, resend_delay: int) -> bool:
        """Prometheus' ``needsSending``: never pending; resolved since last send; or resend due."""
        if self.state == AlertState.PENDING:
            return False
        if self.resolved_at is not None and (self.last_sent_at is None or self.resolved_at > self.last_sent_at):
            return True
        return (self.last_sent_at if self.last_sent_at is not None else _ZERO) + resend_delay < ts


#: Go's zero time in ms (year 1): "never sent" is always long ago.
_ZERO = -62135596800000
