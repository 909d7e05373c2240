"""Settings shared by the rule manager and its groups (Prometheus' ``ManagerOptions``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sloguard.rules._rule import QueryFunc
from sloguard.tsdb import Storage


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
