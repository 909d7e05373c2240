"""The backtest's data: policies, per-step history, alerts, events and results (see ``backtest``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.slo.model import AlertTier

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
LabelSet = tuple[tuple[str, str], ...]


class BacktestError(ValueError):
    """A backtest that cannot run; the message names the value and where it came from."""


@dataclass(frozen=True, slots=True)
class Significance:
    """Events of ``tier``: the budget spent over a trailing ``window_ms`` reaches ``share``
    (0.02 = 2%) of the period's error budget."""

    tier: str
    window_ms: int
    share: float


H, D = 3_600_000, 86_400_000
DEFAULT_SIGNIFICANCE = (Significance("page", 1 * H, 0.02), Significance("ticket", 3 * D, 0.10))


@dataclass(frozen=True, slots=True)
class Policy:
    """Alert rules to replay: each ``AlertTier`` is one rule; rules sharing a tier name
    (Pyrra's one rule per window) fire as that tier when any of them fires."""

    name: str
    tiers: tuple[AlertTier, ...]


@dataclass(frozen=True, slots=True)
class History:
    """Per-step SLI event counts: step ``j`` covers ``(t[j] - step_ms, t[j]]``. Rows are
    the SLO's label sets (one row without grouping); ``errors`` and ``totals`` are
    (rows x steps). Steps before ``start_index`` only warm the windows up."""

    t: I64
    step_ms: int
    labels: tuple[LabelSet, ...]
    errors: F64
    totals: F64
    start_index: int = 0


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing span of a tier: from ``start_ms`` until ``end_ms`` (the first step it no
    longer fired; None while still firing at the end). ``matched``: it overlapped an event."""

    labels: LabelSet
    start_ms: int
    end_ms: int | None
    matched: bool


@dataclass(frozen=True, slots=True)
class Event:
    """A significant event; ``detected_ms`` None when no alert fired during it."""

    labels: LabelSet
    onset_ms: int
    end_ms: int
    until_ms: int
    detected_ms: int | None = None
    reset_ms: int | None = None
    budget_before_detection: float | None = None

    @property
    def detection_ms(self) -> int | None:
        return None if self.detected_ms is None else self.detected_ms - self.onset_ms

    @property
    def reset_time_ms(self) -> int | None:
        return None if self.reset_ms is None else self.reset_ms - self.end_ms


@dataclass(frozen=True, slots=True)
class TierResult:
    """One tier of one policy: its alerts and the events of its significance class."""

    policy: str
    tier: str
    alerts: tuple[Alert, ...]
    events: tuple[Event, ...]

    @property
    def precision(self) -> float | None:
        return sum(a.matched for a in self.alerts) / len(self.alerts) if self.alerts else None

    @property
    def recall(self) -> float | None:
        return sum(e.detected_ms is not None for e in self.events) / len(self.events) if self.events else None


@dataclass(frozen=True, slots=True)
class Backtest:
    slo: str
    from_ms: int
    to_ms: int
    step_ms: int
    significance: tuple[Significance, ...]
    results: tuple[TierResult, ...]
