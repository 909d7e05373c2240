"""The one definition of an SLO period's budget, as PromQL shared by the rules and the report.

**Period counts.** The events of a period are 5m increments summed by a subquery whose
steps are aligned to multiples of 5m (``[<range>:5m]``); a step counts when its time is
after the period start, which is read at the outer evaluation time (``@ end()``):

    sum_over_time((R and (timestamp(R) > <start>))[<range>:5m]) * 300 + R * (time() % 300)

with ``R`` the 5m error rate (the last term is the slot in progress). (``timestamp(R)`` rather than ``vector(time())``: a vector
present at every step would load a sample per step even where ``R`` has none, which
``promtool test rules``' 10,000-sample limit refuses for 30 days of 5m steps.)

Timeslice budgets count slices the same way with the slice as the step: a slice is bad
when its error ratio exceeds ``1 - timeslice target`` and counts (as good or bad) when it
saw traffic. The generated rules read the recorded ``slo:sli_error:rate5m`` (one series
per SLO) and ``slo:period_start:timestamp @ end()``; ``budget.compute`` evaluates the same
shape over the SLI's source series with the start it computes in Python, so the two agree
whenever the rule group ran at multiples of its interval (promtool, the simulator).

**Calendar periods in a time zone.** PromQL's date functions are UTC-only, so the rules
record the local wall-clock time (``time()`` plus a piecewise-constant UTC offset written
from zoneinfo's transitions over the horizon of ``_calendar``), take the local midnight of
the period's first day from it with ``day_of_month``/``month``, and subtract the offset in
force at that boundary (another piecewise-constant function of ``time()``, also from
zoneinfo). The result equals ``_calendar.period_start_ms`` for every instant in the horizon.
"""

from __future__ import annotations

from sloguard.durations import format_duration_ms
from sloguard.slo._calendar import boundaries, offset_steps
from sloguard.slo.model import CalendarUnit, Period

STEP_MS = 300_000
DAY_S = 86_400
_RANGE_MS = {  # the longest period of each unit, plus two DST hours of slack
    CalendarUnit.WEEK: 7 * 86_400_000 + 7_200_000,
    CalendarUnit.MONTH: 31 * 86_400_000 + 7_200_000,
    CalendarUnit.QUARTER: 92 * 86_400_000 + 7_200_000,
}


def _num(x: float) -> str:
    return f"{x:.15g}"


def range_ms(period: Period) -> int:
    """How far back a period count must look: the longest period of its kind."""
    return period.nominal_ms if period.calendar is None else _RANGE_MS[period.calendar]


def steps_of_time(base: float, changes: list[tuple[int, float]]) -> str:
    """A piecewise-constant scalar of ``time()``: ``base``, changing to each value at each
    instant (ms) of ``changes``."""
    terms = [_num(base)]
    prev = base
    for t_ms, value in changes:
        d = value - prev
        if d:
            terms.append(f"{'-' if d < 0 else '+'} {_num(abs(d))} * (time() >= bool {_num(t_ms / 1000)})")
        prev = value
    return terms[0] if len(terms) == 1 else f"({' '.join(terms)})"


def local_time_expr(period: Period) -> str:
    """``vector(time() + UTC offset of the zone)``: the local wall clock as if it were UTC."""
    base, changes = offset_steps(period.timezone)
    off = steps_of_time(base, [(t, float(o)) for t, o in changes])
    return "vector(time())" if off == "0" else f"vector(time() + {off})"


def _month_start(x: str) -> str:
    """Local midnight of the first day of the month of the local time ``x`` (a vector)."""
    return f"({x} - {x} % {DAY_S} - (day_of_month({x}) - 1) * {DAY_S})"


def _local_start(unit: CalendarUnit, local: str) -> str:
    if unit is CalendarUnit.WEEK:  # day 0 (1970-01-01) was a Thursday, 3 days after a Monday
        midnight = f"({local} - {local} % {DAY_S})"
        return f"({midnight} - ({midnight} / {DAY_S} + 3) % 7 * {DAY_S})"
    if unit is CalendarUnit.MONTH:
        return _month_start(local)
    # 20 days before the 1st of a month is inside the previous month
    back = f"({_month_start(local)} - (month({local}) - 1) % 3 * {20 * DAY_S})"
    return _month_start(back)


def _local_end(unit: CalendarUnit, local: str) -> str:
    start = _local_start(unit, local)
    if unit is CalendarUnit.WEEK:
        return f"({start} + {7 * DAY_S})"
    ahead = 32 if unit is CalendarUnit.MONTH else 100  # lands inside the next period's first month
    return _month_start(f"({start} + {ahead * DAY_S})")


def _boundary_offsets(period: Period, at_end: bool) -> str:
    """The UTC offset (s) at the start (or end) of the period containing ``time()``."""
    bs = boundaries(period)
    offs = [(wall - utc) / 1000 for utc, wall in bs]
    if at_end:
        return steps_of_time(offs[1], [(bs[j][0], offs[j + 1]) for j in range(1, len(bs) - 1)])
    return steps_of_time(offs[0], [(bs[j][0], offs[j]) for j in range(1, len(bs))])


def _unit(period: Period) -> CalendarUnit:
    if period.calendar is None:
        raise ValueError(f"a rolling period ({period}) has no calendar boundaries")
    return period.calendar


def start_expr(period: Period, local: str) -> str:
    """Period start (unix seconds) from the local-time vector ``local`` (a calendar period)."""
    return f"{_local_start(_unit(period), local)} - {_boundary_offsets(period, False)}"


def end_expr(period: Period, local: str) -> str:
    """Period end (exclusive, unix seconds) from the local-time vector ``local``."""
    return f"{_local_end(_unit(period), local)} - {_boundary_offsets(period, True)}"


def _rng(period: Period, step_ms: int) -> str:
    return f"[{format_duration_ms(range_ms(period))}:{format_duration_ms(step_ms)}]"


def after_start(inner: str, start: str) -> str:
    """The times (unix seconds) of ``inner``'s samples after ``start``: a number, or a
    scalar such as ``scalar(slo:period_start:timestamp{...} @ end())``. ``timestamp`` of
    a computed expression is the step time; of a recorded series, its sample's time."""
    return f"(timestamp({inner}) > {start})"


def events(rate5m: str, start: str, period: Period) -> str:
    """Events of the period so far from a per-second 5m rate (occurrences budgeting): the
    whole 5m slots, plus the slot in progress at the same rate (``R * (time() % 300)``), so a
    budget exists from the second scrape on instead of after the first whole slot."""
    inner = f"({rate5m})"
    step_s = STEP_MS // 1000
    slots = f"(sum_over_time(({inner} and {after_start(inner, start)}){_rng(period, STEP_MS)}) * {step_s})"
    tail = f"({inner} * (time() % {step_s}))"
    return f"(({slots} + {tail}) or {slots} or {tail})"


def bad_slices(error_rate: str, total_rate: str, threshold: float, start: str, period: Period, slice_ms: int) -> str:
    """Slices of the period so far whose error ratio exceeds ``threshold`` (1 - slice target)."""
    bad = f"(({error_rate}) / ({total_rate}) > {_num(threshold)})"
    return f"count_over_time({after_start(bad, start)}{_rng(period, slice_ms)})"


def slices(total_rate: str, start: str, period: Period, slice_ms: int) -> str:
    """Slices of the period so far that saw traffic (good or bad)."""
    return f"count_over_time({after_start(f'(({total_rate}) > 0)', start)}{_rng(period, slice_ms)})"
