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
from zoneinfo import ZoneInfo

from sloguard.durations import format_duration_ms
from sloguard.promql import Engine, PromQLError, Sample, Scalar, String
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
    for key, tot in sorted(total.items()):
        out.append(_budget(slo, base, key, tot, bad.get(key, 0.0), {win: _finite(b.get(key)) for win, b in burns.items()}, length))
    return out


def _budget(slo: SLO, base: dict, key: tuple, total: float, bad: float, burns: dict[int, float | None], length_ms: int) -> Budget:  # type: ignore[type-arg]
    labels = dict(key)
    if total <= 0:
        return Budget(labels=labels, status=BudgetStatus.NO_DATA, message="no events in this period", **base)
    err = bad / total
    allowed = slo.error_budget
    remaining = 1 - err / allowed
    burn_list = [WindowBurn(format_duration_ms(win), r, None if r is None else r / allowed) for win, r in burns.items()]
    current = next((b.burn_rate for b in burn_list if b.window == "1h"), None)
    tte = None
    if current and current > 0 and remaining > 0:
        tte = remaining * (length_ms / 1000) / current
    return Budget(
        labels=labels, status=BudgetStatus.OK if remaining > 0 else BudgetStatus.EXHAUSTED,
        sli=1 - err, total_events=total, bad_events=bad, budget_remaining_ratio=remaining,
        budget_remaining_minutes=remaining * allowed * length_ms / 60_000,
        budget_remaining_events=total * allowed - bad, burn_rates=burn_list, time_to_exhaustion_s=tte, **base,
    )


def _timeslices(engine: Engine, slo: SLO, at_ms: int, w: int) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Bad and total slice counts: a slice is good when its good ratio meets the target."""
    s = slo.timeslice_ms or 60_000
    target = slo.timeslice_target if slo.timeslice_target is not None else slo.objective
    ratio = f"(({error_rate(slo, s)}) / ({total_rate(slo, s)}))"
    rng = f"[{format_duration_ms(w)}:{format_duration_ms(s)}]"
    total = _vector(engine, f"count_over_time(({ratio} >= 0){rng})", at_ms)
    bad = _vector(engine, f"sum_over_time(({ratio} > bool {1 - target:.12g}){rng})", at_ms)
    return bad, total
