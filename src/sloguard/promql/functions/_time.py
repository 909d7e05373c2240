"""time(), timestamp() and the date functions (UTC): day_of_month, day_of_week,
day_of_year, days_in_month, hour, minute, month, year. Without an argument the date
functions read ``vector(time())``.

The calendar follows Go's ``time`` package step by step (seconds truncated like Go's
``int64(v)``, which gives the minimum int64 for NaN, Inf and out-of-range values on
amd64; the "absolute" unsigned seconds; the 400/100/4/1-year cycles), vectorised with
unsigned 64-bit numpy arithmetic, so even odd inputs answer what Prometheus answers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._steps import F64, StepScalar, StepVector
from sloguard.promql.functions._common import drop_names, finish_vector, vector_arg
from sloguard.promql.functions._registry import FuncCall, register

U64 = np.uint64
_DAY = U64(86_400)
_UNIX_TO_ABSOLUTE = U64(62_135_596_800 + 9_223_371_966_579_724_800)
_ABSOLUTE_ZERO_YEAR = -292_277_022_399
_DAYS_400, _DAYS_100, _DAYS_4 = U64(146_097), U64(36_524), U64(1_461)
_DAYS_BEFORE = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365], np.int64)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def go_int64(values: F64) -> np.ndarray:
    """Go's ``int64(v)`` on amd64: truncation, or the minimum int64 when out of range."""
    ok = np.isfinite(values) & (np.abs(values) < 2.0**63)
    out = np.full(values.shape, np.iinfo(np.int64).min, np.int64)
    out[ok] = np.trunc(values[ok]).astype(np.int64)
    return out


def _abs_date(abs_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Go's ``absDate``: (year, 0-based day of year)."""
    d = abs_s // _DAY
    n = d // _DAYS_400
    y = U64(400) * n
    d = d - _DAYS_400 * n
    n = d // _DAYS_100
    n = n - (n >> U64(2))
    y = y + U64(100) * n
    d = d - _DAYS_100 * n
    n = d // _DAYS_4
    y = y + U64(4) * n
    d = d - _DAYS_4 * n
    n = d // U64(365)
    n = n - (n >> U64(2))
    y = y + n
    d = d - U64(365) * n
    return y.astype(np.int64) + _ABSOLUTE_ZERO_YEAR, d.astype(np.int64)


def _is_leap(year: np.ndarray) -> np.ndarray:
    return np.asarray((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)), np.bool_)


def _month_day(year: np.ndarray, yday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Go's month/day from a 0-based day of year."""
    leap = _is_leap(year)
    leap_day = leap & (yday == 59)
    day = np.where(leap & (yday > 59), yday - 1, yday)
    month = day // 31
    end = _DAYS_BEFORE[month + 1]
    after = day >= end
    begin = np.where(after, end, _DAYS_BEFORE[month])
    month = month + after + 1
    day = day - begin + 1
    return np.where(leap_day, 2, month), np.where(leap_day, 29, day)


def _field_of(field: str, values: F64) -> F64:
    """The calendar field of unix-second values, as Go's ``time.Unix(int64(v), 0).UTC()``."""
    abs_s = go_int64(values).view(U64) + _UNIX_TO_ABSOLUTE  # wraps like Go's uint64 cast
    if field == "hour":
        return ((abs_s % _DAY) // U64(3600)).astype(np.float64)
    if field == "minute":
        return ((abs_s % U64(3600)) // U64(60)).astype(np.float64)
    if field == "day_of_week":
        return (((abs_s + _DAY) % (U64(7) * _DAY)) // _DAY).astype(np.float64)
    year, yday = _abs_date(abs_s)
    if field == "year":
        return year.astype(np.float64)
    if field == "day_of_year":
        return (yday + 1).astype(np.float64)
    month, day = _month_day(year, yday)
    if field == "month":
        return month.astype(np.float64)
    if field == "day_of_month":
        return day.astype(np.float64)
    days = _MONTH_DAYS[month - 1] + (_is_leap(year) & (month == 2))
    return np.asarray(days, np.float64)


def _date_func(field: str) -> Callable[[FuncCall], StepVector]:
    def impl(call: FuncCall) -> StepVector:
        if call.args:
            v = vector_arg(call, 0)
            labels, values, present = drop_names(v.labels), v.values, v.present
        else:
            labels = [Labels()]
            values = (call.steps.astype(np.float64) / 1000)[None, :]
            present = np.ones((1, call.k), np.bool_)
        out = _field_of(field, values)
        return finish_vector(labels, out, present)

    return impl


for _field in ("year", "month", "day_of_month", "day_of_week", "day_of_year",
               "days_in_month", "hour", "minute"):
    register(_field, 0, 1, time_dependent=True)(_date_func(_field))


@register("time", 0, time_dependent=True)
def time(call: FuncCall) -> StepScalar:
    return StepScalar(call.steps.astype(np.float64) / 1000)


@register("timestamp", 1, time_dependent=True)
def timestamp(call: FuncCall) -> StepVector:
    """The sample's own timestamp for selector arguments, else the evaluation time."""
    v = vector_arg(call, 0)
    if v.sample_ts is not None:
        ts = v.sample_ts.astype(np.float64) / 1000
    else:
        ts = np.broadcast_to(call.steps.astype(np.float64) / 1000, v.values.shape).copy()
    return finish_vector(drop_names(v.labels), ts, v.present)
