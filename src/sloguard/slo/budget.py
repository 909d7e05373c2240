"""Error budgets computed from the SLI's raw series at a point in time.

The period's budget has one definition, shared with the generated rules
(``_period_expr``): the events of the period so far are 5m increments summed by a
subquery at a 5m step, counted from the period start (``_calendar``: rolling, or a
calendar week, month or quarter in the SLO's time zone); timeslice budgets count slices
with a subquery whose step is the slice length, against the slices of the whole period.
The report evaluates that shape over the SLI's source series, so it needs no recording
rules, and agrees with ``slo:error_budget_remaining:ratio`` of the rules.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.promql import Engine, PromQLError, Sample, Scalar, String
from sloguard.slo import _period_expr as pe
from sloguard.slo._budget_rules import slice_threshold
from sloguard.slo._calendar import period_end_ms, period_length_ms, period_start_ms
from sloguard.slo._coverage import observed_from
from sloguard.slo._history_snapshot import SNAPSHOT_MARGIN_MS, snapshot_engine
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.model import SLO, BudgetingMethod

__all__ = ["Budget", "BudgetStatus", "WindowBurn", "compute", "period_end_ms", "period_length_ms", "period_start_ms"]


class BudgetStatus(enum.Enum):
    OK = "ok"
    EXHAUSTED = "exhausted"
    NO_DATA = "no data"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class WindowBurn:
    window: str
    error_ratio: float | None
    burn_rate: float | None


@dataclass(frozen=True, slots=True)
class Budget:
    """One SLO (one label set of its grouping) at ``at_ms``. Ratios are in [0, 1]; a
    remaining budget below 0 means it is overspent. ``None`` fields mean "no data"."""

    slo: str
    service: str
    labels: dict[str, str]
    at_ms: int
    period: str
    period_start_ms: int
    objective: float
    status: BudgetStatus
    sli: float | None = None
    total_events: float | None = None
    bad_events: float | None = None
    budget_remaining_ratio: float | None = None
    budget_remaining_minutes: float | None = None
    budget_remaining_events: float | None = None
    burn_rates: list[WindowBurn] = field(default_factory=list)
    time_to_exhaustion_s: float | None = None
    message: str = ""
    #: Coverage (see ``_coverage``): the data under the budget starts at
    #: ``observed_from_ms`` (the period start when it covers the whole period so far);
    #: ``coverage`` is that share of the period so far. With less than the whole period
    #: the budget (ratio, minutes, time to exhaustion) is over the observed time only.
    observed_from_ms: int | None = None
    coverage: float | None = None
    #: Seconds before the period ends (a rolling period: its length); the time to
    #: exhaustion is only given when it falls within them (``exhausts_in_period``).
    period_left_s: float | None = None
    exhausts_in_period: bool | None = None


def _vector(engine: Engine, expr: str, at_ms: int) -> dict[tuple[tuple[str, str], ...], float]:
    res = engine.instant_query(expr, at_ms)
    if isinstance(res.value, Scalar):
        return {(): res.value.v}
    if isinstance(res.value, String):
        raise PromQLError(f"SLI query {expr!r} returned a string, not a vector")
    out = {}
    for s in res.value:
        if isinstance(s, Sample):
            out[tuple(s.labels.drop_metric_name())] = s.v
    return out


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else x


def compute(engine: Engine, slo: SLO, at_ms: int, burn_windows_ms: tuple[int, ...] = (300_000, 3_600_000, 21_600_000, 86_400_000)) -> list[Budget]:
    """Budgets for every label set of the SLO's grouping (one entry without grouping); its
    queries read the raw series once (``_history_snapshot``)."""
    start = period_start_ms(slo.period, at_ms)
    first = min(start, at_ms - period_length_ms(slo.period, at_ms))  # a calendar's queries reach a whole length back
    engine = snapshot_engine(engine, first - max(burn_windows_ms, default=0) - SNAPSHOT_MARGIN_MS, at_ms)
    base = dict(slo=slo.name, service=slo.service, at_ms=at_ms, period=str(slo.period),
                period_start_ms=start, objective=slo.objective)
    try:
        bad, total = period_counts(engine, slo, at_ms)
        burns = {win: _vector(engine, f"({error_rate(slo, win)}) / ({total_rate(slo, win)})", at_ms) for win in burn_windows_ms}
    except PromQLError as e:
        return [Budget(labels={}, status=BudgetStatus.ERROR, message=str(e), **base)]  # type: ignore[arg-type]
    if not total:
        msg = f"the SLI has no data in this period: {total_rate(slo, pe.STEP_MS)} returned no series (is the metric scraped?)"
        return [Budget(labels={}, status=BudgetStatus.NO_DATA, message=msg, **base)]  # type: ignore[arg-type]
    out = []
    length = period_length_ms(slo.period, at_ms)
    seen = observed_from(engine, slo, start, at_ms, sorted(total))
    for key, tot in sorted(total.items()):
        burn = {win: _finite(b.get(key)) for win, b in burns.items()}
        out.append(_budget(slo, base, key, tot, bad.get(key, 0.0), burn, length, seen.get(key)))
    return out


Counts = dict[tuple[tuple[str, str], ...], float]


def period_counts(engine: Engine, slo: SLO, at_ms: int) -> tuple[Counts, Counts]:
    """Bad and counted events (occurrences) or slices (timeslices) of the period so far,
    per grouping label set, with the expressions the rules use (``_period_expr``)."""
    start = f"{period_start_ms(slo.period, at_ms) / 1000:.15g}"
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        s = slo.timeslice_ms or 60_000
        err, tot = error_rate(slo, s), total_rate(slo, s)
        total = _vector(engine, pe.slices(tot, start, slo.period, s), at_ms)
        bad = _vector(engine, pe.bad_slices(err, tot, slice_threshold(slo), start, slo.period, s), at_ms)
    else:
        total = _vector(engine, pe.events(total_rate(slo, pe.STEP_MS), start, slo.period), at_ms)
        bad = _vector(engine, pe.events(error_rate(slo, pe.STEP_MS), start, slo.period), at_ms)
    return bad, total


def _allowed_bad(slo: SLO, total: float, length_ms: int) -> float:
    """Bad events (or slices) the whole period allows: ``budget x total events`` so far
    for occurrences, ``budget x slices of the whole period`` for timeslices."""
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        return slo.error_budget * math.ceil(length_ms / (slo.timeslice_ms or 60_000))
    return total * slo.error_budget


def period_left_ms(slo: SLO, at_ms: int, start_ms: int, length_ms: int) -> int:
    """Time the period has left: a calendar period's end minus ``at``; a rolling period
    never ends, so its whole length (a verdict beyond it means "not in this window")."""
    return length_ms if slo.period.is_rolling else start_ms + length_ms - at_ms


def time_to_exhaustion_s(remaining: float, burn: float, observed_s: float, length_s: float) -> float | None:
    """Seconds until the budget is spent at a constant ``burn`` (None: never, or spent).

    The budget left is ``remaining * observed_s`` seconds at burn 1. While the data does
    not yet cover the whole period it grows as time is observed (by ``1 - burn`` a
    second, until ``length_s``); after that it shrinks by ``burn`` a second."""
    if burn <= 0 or remaining <= 0:
        return None
    left = remaining * observed_s
    grow = max(length_s - observed_s, 0.0)
    if burn > 1 and left / (burn - 1) <= grow:
        return left / (burn - 1)
    return grow + (left + (1 - burn) * grow) / burn


def _coverage_fields(slo: SLO, at: int, start: int, length_ms: int, observed_from_ms: int | None) -> dict[str, Any]:
    seen = None if observed_from_ms is None else max(start, observed_from_ms)
    return {
        "observed_from_ms": seen,
        "coverage": None if seen is None else min(1.0, (at - seen) / max(at - start, 1)),
        "period_left_s": period_left_ms(slo, at, start, length_ms) / 1000,
    }


def _budget(
    slo: SLO, base: dict, key: tuple, total: float, bad: float, burns: dict[int, float | None],  # type: ignore[type-arg]
    length_ms: int, observed_from_ms: int | None = None,
) -> Budget:
    labels = dict(key)
    at, start = base["at_ms"], base["period_start_ms"]
    cover = _coverage_fields(slo, at, start, length_ms, observed_from_ms)
    if total <= 0:
        return Budget(labels=labels, status=BudgetStatus.NO_DATA, message="no events in this period", **cover, **base)
    err = bad / total
    allowed = slo.error_budget
    allowed_bad = _allowed_bad(slo, total, length_ms)
    remaining = 1 - bad / allowed_bad if slo.budgeting is BudgetingMethod.TIMESLICES else 1 - err / allowed
    burn_list = [WindowBurn(format_duration_ms(win), r, None if r is None else r / allowed) for win, r in burns.items()]
    current = next((b.burn_rate for b in burn_list if b.window == "1h"), None)
    seen = start if cover["observed_from_ms"] is None else cover["observed_from_ms"]
    tte = None if current is None else time_to_exhaustion_s(remaining, current, (at - seen) / 1000, length_ms / 1000)
    in_period = None if tte is None else tte <= cover["period_left_s"]
    budget_ms = at - seen if seen > start else length_ms  # partial data: the observed time's budget
    return Budget(
        labels=labels, status=BudgetStatus.OK if remaining > 0 else BudgetStatus.EXHAUSTED,
        sli=1 - err, total_events=total, bad_events=bad, budget_remaining_ratio=remaining,
        budget_remaining_minutes=remaining * allowed * budget_ms / 60_000,
        budget_remaining_events=allowed_bad - bad, burn_rates=burn_list,
        time_to_exhaustion_s=tte if in_period else None, exhausts_in_period=in_period, **cover, **base,
    )

