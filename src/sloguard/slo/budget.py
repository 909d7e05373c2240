"""Error budgets computed from the SLI's raw series at a point in time.

The report asks the engine directly for the period's events (``rate`` over the whole
window times its length), so it is exact whether or not the generated rules have been
running for a whole period. Calendar periods start at the calendar boundary in the
SLO's time zone; timeslice budgeting counts good slices with a subquery whose step is
the slice length.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sloguard.durations import format_duration_ms
from sloguard.promql import Engine, PromQLError, Sample, Scalar, String
from sloguard.slo._coverage import observed_from
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.model import SLO, BudgetingMethod, CalendarUnit, Period


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


def period_start_ms(period: Period, at_ms: int) -> int:
    """Start of the period containing ``at_ms``: rolling = at - length; calendar = boundary in tz."""
    if period.calendar is None:
        return at_ms - period.nominal_ms
    tz = ZoneInfo(period.timezone)
    now = dt.datetime.fromtimestamp(at_ms / 1000, tz)
    if period.calendar is CalendarUnit.MONTH:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        start = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def period_length_ms(period: Period, at_ms: int) -> int:
    """The whole period's length (a calendar month has its real number of days)."""
    if period.calendar is None:
        return period.nominal_ms
    start = period_start_ms(period, at_ms)
    tz = ZoneInfo(period.timezone)
    s = dt.datetime.fromtimestamp(start / 1000, tz)
    if period.calendar is CalendarUnit.MONTH:
        nxt = (s.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        nxt = s + dt.timedelta(days=7)
    return int(nxt.timestamp() * 1000) - start


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
    """Budgets for every label set of the SLO's grouping (one entry without grouping)."""
    start = period_start_ms(slo.period, at_ms)
    elapsed = max(at_ms - start, 60_000)
    w = elapsed // 1000 * 1000
    base = dict(slo=slo.name, service=slo.service, at_ms=at_ms, period=str(slo.period),
                period_start_ms=start, objective=slo.objective)
    try:
        if slo.budgeting is BudgetingMethod.TIMESLICES:
            bad, total = _timeslices(engine, slo, at_ms, w)
        else:
            secs = w / 1000
            bad = {k: v * secs for k, v in _vector(engine, error_rate(slo, w), at_ms).items()}
            total = {k: v * secs for k, v in _vector(engine, total_rate(slo, w), at_ms).items()}
        burns = {win: _vector(engine, f"({error_rate(slo, win)}) / ({total_rate(slo, win)})", at_ms) for win in burn_windows_ms}
    except PromQLError as e:
        return [Budget(labels={}, status=BudgetStatus.ERROR, message=str(e), **base)]  # type: ignore[arg-type]
    if not total:
        msg = f"the SLI has no data in this period: {total_rate(slo, w)} returned no series (is the metric scraped?)"
        return [Budget(labels={}, status=BudgetStatus.NO_DATA, message=msg, **base)]  # type: ignore[arg-type]
    out = []
    length = period_length_ms(slo.period, at_ms)
    seen = observed_from(engine, slo, start, at_ms, sorted(total))
    for key, tot in sorted(total.items()):
        burn = {win: _finite(b.get(key)) for win, b in burns.items()}
        out.append(_budget(slo, base, key, tot, bad.get(key, 0.0), burn, length, seen.get(key)))
    return out


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
    remaining = 1 - err / allowed
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
        budget_remaining_events=total * allowed - bad, burn_rates=burn_list,
        time_to_exhaustion_s=tte if in_period else None, exhausts_in_period=in_period, **cover, **base,
    )


def _timeslices(engine: Engine, slo: SLO, at_ms: int, w: int) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Bad and total slice counts: a slice is good when its good ratio meets the target."""
    bad_q, total_q = timeslice_queries(slo, w)
    return _vector(engine, bad_q, at_ms), _vector(engine, total_q, at_ms)


def timeslice_queries(slo: SLO, w: int) -> tuple[str, str]:
    """PromQL for the bad and total slices in the window ``w`` (ms) ending at the query time."""
    s = slo.timeslice_ms or 60_000
    target = slo.timeslice_target if slo.timeslice_target is not None else slo.objective
    ratio = f"(({error_rate(slo, s)}) / ({total_rate(slo, s)}))"
    rng = f"[{format_duration_ms(w)}:{format_duration_ms(s)}]"
    return f"sum_over_time(({ratio} > bool {1 - target:.12g}){rng})", f"count_over_time(({ratio} >= 0){rng})"
