"""A metric of an analysis: what to measure, how often, and how to judge it.

Field names and defaults are Argo Rollouts' (``Metric`` in its ``analysis_types.go``),
in milliseconds instead of duration strings; ``no_data_limit`` is sloguard's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from sloguard.delivery.analysis.condition import Condition

#: Argo's ``DefaultConsecutiveErrorLimit``.
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
#: Consecutive no-data measurements allowed by default before the metric is Inconclusive.
DEFAULT_NO_DATA_LIMIT = 4
#: Argo's ``DefaultErrorRetryInterval``: the next try after an Error (or no data, without
#: an interval).
ERROR_RETRY_INTERVAL_MS = 10_000


class ProviderConfig(Protocol):
    """A metric provider's configuration: a frozen dataclass naming its provider's ``TYPE``."""

    TYPE: ClassVar[str]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric. ``count`` None means unset (Argo's 0 or absent): with no ``interval``
    either, one measurement (``effective_count`` 1); with an ``interval``, measurements go
    on until the run is terminated. ``failure_limit`` -1 disables the failure limit.
    Limits are "more than N": ``failure_limit`` 0 fails the metric at the first failure.
    ``dry_run`` metrics are measured and judged, but never decide the run."""

    name: str
    provider: ProviderConfig
    success_condition: Condition | None = None
    failure_condition: Condition | None = None
    interval_ms: int | None = None
    count: int | None = None
    initial_delay_ms: int = 0
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    no_data_limit: int = DEFAULT_NO_DATA_LIMIT
    dry_run: bool = False

    @property
    def effective_count(self) -> int | None:
        """Argo's ``EffectiveCount``: ``count``; 1 without count and interval; else None (unbounded)."""
        if self.count:
            return self.count
        return 1 if self.interval_ms is None else None
