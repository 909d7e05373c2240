"""Period boundaries in Python: the authority the generated PromQL is checked against.

A rolling period ends at the evaluation time and looks back its length. A calendar
period (week from Monday, month, quarter) starts at local midnight in its IANA time zone;
a local midnight that does not exist or occurs twice (a DST change at midnight) resolves
as Python's ``fold=0`` does (the offset in force before the change).

The rules cannot call zoneinfo, so ``offset_steps`` turns a zone into piecewise-constant
UTC offsets between ``HORIZON_START_MS`` and ``HORIZON_END_MS``; outside that horizon the
generated rules keep the offset of its first or last interval (see docs/slo.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sloguard.slo.model import CalendarUnit, Period

DAY_MS = 86_400_000
#: Time-zone transitions are written into the rules for instants in [start, end).
HORIZON_START_MS = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
HORIZON_END_MS = int(dt.datetime(2040, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` naming it when the tz database lacks it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Berlin' or 'UTC'") from None


def _local_start(unit: CalendarUnit, now: dt.datetime) -> dt.datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    if unit is CalendarUnit.WEEK:
        return midnight - dt.timedelta(days=now.weekday())
    first_month = now.month if unit is CalendarUnit.MONTH else now.month - (now.month - 1) % 3
    return midnight.replace(month=first_month, day=1)


def _next_local_start(unit: CalendarUnit, start: dt.datetime) -> dt.datetime:
    if unit is CalendarUnit.WEEK:
        return start + dt.timedelta(days=7)
    months = 1 if unit is CalendarUnit.MONTH else 3
    year, month = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + year, month=month + 1)


def _ms(local: dt.datetime) -> int:
    """UTC milliseconds of a naive-wall-clock local datetime (``fold=0`` for gaps and repeats)."""
    return int(local.replace(fold=0).timestamp() * 1000)


def period_start_ms(period: Period, at_ms: int) -> int:
    """Start of the period containing ``at_ms``: rolling = at - length; calendar = boundary in tz."""
    if period.calendar is None:
        return at_ms - period.nominal_ms
    now = dt.datetime.fromtimestamp(at_ms / 1000, zone(period.timezone))
    return _ms(_local_start(period.calendar, now))


def period_end_ms(period: Period, at_ms: int) -> int:
    """End (exclusive) of the period containing ``at_ms``; a rolling period ends at ``at_ms``."""
    if period.calendar is None:
        return at_ms
    now = dt.datetime.fromtimestamp(at_ms / 1000, zone(period.timezone))
    return _ms(_next_local_start(period.calendar, _local_start(period.calendar, now)))


def period_length_ms(period: Period, at_ms: int) -> int:
    """The whole period's length (a calendar month has its real number of days and DST hours)."""
    if period.calendar is None:
        return period.nominal_ms
    return period_end_ms(period, at_ms) - period_start_ms(period, at_ms)


def utc_offset_s(tz: str, at_ms: int) -> int:
    """The zone's UTC offset in seconds at the instant ``at_ms``."""
    off = dt.datetime.fromtimestamp(at_ms / 1000, zone(tz)).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


@functools.lru_cache(maxsize=64)
def offset_steps(tz: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """``(offset at HORIZON_START_MS, ((transition_ms, new offset), ...))`` over the horizon.

    Found by scanning the horizon in 6-hour steps and bisecting each change to the
    millisecond (zones change their offset at most once in six hours)."""
    step = 6 * 3_600_000
    base = utc_offset_s(tz, HORIZON_START_MS)
    out: list[tuple[int, int]] = []
    prev_t, prev_off = HORIZON_START_MS, base
    for t in range(HORIZON_START_MS + step, HORIZON_END_MS + step, step):
        off = utc_offset_s(tz, t)
        if off != prev_off:
            lo, hi = prev_t, t
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if utc_offset_s(tz, mid) == prev_off else (lo, mid)
            out.append((hi, off))
        prev_t, prev_off = t, off
    return base, tuple(out)


@functools.lru_cache(maxsize=64)
def boundaries(period: Period) -> tuple[tuple[int, int], ...]:
    """Every calendar boundary from the start of the period containing ``HORIZON_START_MS``
    to the first one at or after ``HORIZON_END_MS``, as ``(utc_ms, wall_ms)``: the instant,
    and its local wall-clock time read as if it were UTC (always a local midnight)."""
    if period.calendar is None:
        raise ValueError(f"a rolling period ({period}) has no calendar boundaries")
    local = _local_start(period.calendar, dt.datetime.fromtimestamp(HORIZON_START_MS / 1000, zone(period.timezone)))
    out = [(_ms(local), int(local.replace(tzinfo=dt.UTC).timestamp() * 1000))]
    while out[-1][0] < HORIZON_END_MS:
        local = _next_local_start(period.calendar, local)
        out.append((_ms(local), int(local.replace(tzinfo=dt.UTC).timestamp() * 1000)))
    return tuple(out)
