"""The normalised SLO model that every spec format (Sloth, OpenSLO, native) maps into.

An SLI is described by two per-second event rates over a window: ``error_rate(w)`` and
``total_rate(w)``, each a PromQL expression aggregated ``by`` the SLO's grouping labels.
Everything downstream (rule generation, budgets, reports) works from those two.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sloguard.durations import format_duration_ms

WINDOW_PLACEHOLDERS = ("{{.window}}", "{{ .window }}")


class BudgetingMethod(enum.Enum):
    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"


class CalendarUnit(enum.Enum):
    """A calendar period: a week from Monday, a month, or a quarter (Jan, Apr, Jul, Oct)."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


_NOMINAL_DAYS = {CalendarUnit.WEEK: 7, CalendarUnit.MONTH: 30, CalendarUnit.QUARTER: 90}


@dataclass(frozen=True, slots=True)
class Period:
    """A rolling window (``rolling_ms``) or a calendar period (``calendar`` in ``timezone``)."""

    rolling_ms: int | None = 30 * 86_400_000
    calendar: CalendarUnit | None = None
    timezone: str = "UTC"

    @property
    def is_rolling(self) -> bool:
        return self.calendar is None

    @property
    def nominal_ms(self) -> int:
        """The period's length for burn-rate scaling (a calendar month counts as 30d, a
        quarter as 90d); ``sloguard.slo.budget.period_length_ms`` gives the real length."""
        if self.calendar is None:
            return self.rolling_ms if self.rolling_ms is not None else 30 * 86_400_000
        return _NOMINAL_DAYS[self.calendar] * 86_400_000

    def __str__(self) -> str:
        if self.calendar is None:
            return f"rolling {format_duration_ms(self.nominal_ms)}"
        return f"calendar {self.calendar.value} ({self.timezone})"


class SLIKind(enum.Enum):
    RATIO = "ratio"
    EVENTS = "events"
    LATENCY = "latency"
    AVAILABILITY = "availability"


@dataclass(frozen=True, slots=True)
class RatioSLI:
    """Counter selectors or expressions: two of good/bad/total (``bad`` wins over ``good``)."""

    total: str
    good: str | None = None
    bad: str | None = None
    kind: SLIKind = SLIKind.RATIO


@dataclass(frozen=True, slots=True)
class EventsSLI:
    """Sloth-style rate queries templated with ``{{.window}}``."""

    error_query: str
    total_query: str
    kind: SLIKind = SLIKind.EVENTS


@dataclass(frozen=True, slots=True)
class RawSLI:
    """Sloth ``raw``: a ready error-ratio query templated with ``{{.window}}``."""

    error_ratio_query: str
    kind: SLIKind = SLIKind.EVENTS


@dataclass(frozen=True, slots=True)
class LatencySLI:
    """Good events are requests at or under ``threshold`` seconds of a classic histogram.

    ``metric`` is the histogram's base name (``http_request_duration_seconds``),
    ``selector`` extra matchers without braces (``service="checkout"``). With ``estimate``
    a threshold between bucket boundaries is interpolated (and the SLO is labelled an
    estimate); without it such a threshold is refused.
    """

    metric: str
    threshold: float
    selector: str = ""
    estimate: bool = False
    buckets: tuple[float, ...] = ()
    kind: SLIKind = SLIKind.LATENCY


@dataclass(frozen=True, slots=True)
class AvailabilitySLI:
    """A 0/1 probe series (``up{job="x"}``): the SLI is the fraction of samples that are 1."""

    probe: str
    kind: SLIKind = SLIKind.AVAILABILITY


SLI = RatioSLI | EventsSLI | RawSLI | LatencySLI | AvailabilitySLI


@dataclass(frozen=True, slots=True)
class BurnWindow:
    """One multiwindow condition: the error ratio over both windows exceeds ``factor`` x budget."""

    long_ms: int
    short_ms: int
    factor: float


@dataclass(frozen=True, slots=True)
class AlertTier:
    """``page`` or ``ticket``: windows combined with ``or``, each a long/short pair."""

    name: str
    windows: tuple[BurnWindow, ...]
    enabled: bool = True
    for_ms: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


def workbook_tiers(period_ms: int) -> tuple[AlertTier, AlertTier]:
    """The SRE workbook's tiers (14.4x 1h/5m, 6x 6h/30m; 3x 1d/2h, 1x 3d/6h) at 30d,
    scaled so each tier still means the same fraction of the budget for ``period_ms``."""
    scale = period_ms / (30 * 86_400_000)
    h, m = 3_600_000, 60_000
    page = AlertTier(
        "page",
        (BurnWindow(1 * h, 5 * m, 14.4 * scale), BurnWindow(6 * h, 30 * m, 6 * scale)),
        labels=(("severity", "page"),),
    )
    ticket = AlertTier(
        "ticket",
        (BurnWindow(24 * h, 2 * h, 3 * scale), BurnWindow(72 * h, 6 * h, 1 * scale)),
        labels=(("severity", "ticket"),),
    )
    return page, ticket


@dataclass(frozen=True, slots=True)
class Alerting:
    name: str = ""
    tiers: tuple[AlertTier, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    runbook: str = ""
    #: Burn-rate alerts stay silent while a window saw fewer events than this.
    min_events: int = 0
    #: ``for:`` of the no-data alert (every input format gets one); None disables it.
    no_data_for_ms: int | None = 600_000


@dataclass(frozen=True, slots=True)
class SLO:
    """One SLO, whatever format it came from. ``objective`` is a ratio in (0, 1)."""

    name: str
    service: str
    objective: float
    sli: SLI
    period: Period = field(default_factory=Period)
    budgeting: BudgetingMethod = BudgetingMethod.OCCURRENCES
    timeslice_target: float | None = None
    timeslice_ms: int | None = None
    description: str = ""
    grouping: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    alerting: Alerting = field(default_factory=Alerting)
    source: str = ""
    #: The server's ``query_backends`` entry this SLO reads (its SLI queries, budget and
    #: history); empty: the server's own store or ``query_backend``.
    query_backend: str = ""
    #: Settings of the source format that the model has no field for, kept so a
    #: compatibility mode can reproduce that tool's rules (``("pyrra.absentName", "X")``).
    extensions: tuple[tuple[str, str], ...] = ()

    def extension(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.extensions if k == key), default)

    @property
    def error_budget(self) -> float:
        """``1 - objective`` without binary noise (0.995 gives 0.005, not 0.0050000000000000044)."""
        return clean_ratio(1.0 - self.objective)


def clean_ratio(x: float) -> float:
    """``x`` rounded to 15 significant digits: drops the noise of decimal arithmetic in binary
    floats (``99.9 / 100`` is 0.9990000000000001), keeps every digit a spec can write."""
    return float(f"{x:.15g}")


def ratio_from_percent(pct: float) -> float:
    return clean_ratio(pct / 100)
