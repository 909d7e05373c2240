"""Settings shared by the rule manager and its groups (Prometheus' ``ManagerOptions``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sloguard.rules._rule import QueryFunc
from sloguard.tsdb import Storage


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """Prometheus' ``--rules.alert.resend-delay``, ``--rules.alert.for-outage-tolerance`` and
    ``--rules.alert.for-grace-period`` (milliseconds): how often firing alerts are re-sent,
    how old an ``ALERTS_FOR_STATE`` sample may be and still restore an alert's ``activeAt``,
    and the least time a restored alert waits before firing (rules whose ``for`` is shorter
    are not restored)."""

    resend_delay_ms: int = 60_000
    outage_tolerance_ms: int = 3_600_000
    for_grace_period_ms: int = 600_000


@dataclass(frozen=True, slots=True)
class ManagerOptions:
    """``query`` reads, ``storage`` receives recorded samples and ALERTS series.

    Defaults are Prometheus': resend every 1m, restore ``for`` state within an outage of
    up to 1h, and give restored alerts at least 10m (``for_grace_period``) before firing.
    """

    query: QueryFunc
    storage: Storage
    default_interval_ms: int = 60_000
    resend_delay_ms: int = 60_000
    outage_tolerance_ms: int = 3_600_000
    for_grace_period_ms: int = 600_000
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
