"""Parameters of ``/api/v1/query`` and ``/api/v1/query_range``, checked as Prometheus 2.42 does.

Durations (``step``, ``timeout``) are float seconds or Prometheus durations (``1m30s``).
Error texts are Prometheus' own, e.g. ``invalid parameter "step": cannot parse "x" to a
valid duration``, so clients that match on them keep working.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sloguard.api._http import ApiError, Params, go_quote, parse_time, parse_time_param
from sloguard.promql import ErrorType

#: Prometheus refuses range queries with more points than this per series.
MAX_POINTS_PER_SERIES = 11_000
_INT64_MAX = 2**63 - 1
_NS = {"y": 365 * 86400 * 10**9, "w": 7 * 86400 * 10**9, "d": 86400 * 10**9,
       "h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6}
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")


@dataclass(frozen=True, slots=True)
class InstantParams:
    """A checked instant query: ``time`` in ms, ``timeout`` in seconds (None: default)."""

    query: str
    time: int
    timeout: float | None


@dataclass(frozen=True, slots=True)
class RangeParams:
    """A checked range query: times and step in ms, ``timeout`` in seconds."""

    query: str
    start: int
    end: int
    step: int
    timeout: float | None


def _go_float(s: str) -> float | None:
    """Go's ``strconv.ParseFloat`` for the inputs clients send; None when it fails."""
    if s != s.strip() or not s:
        return None
    try:
        f = float(s)
    except ValueError:
        return None
    if math.isinf(f) and s.lstrip("+-").lower() not in ("inf", "infinity"):
        return None  # Go reports out-of-range literals such as 1e400 as errors
    return f


def parse_duration_ns(s: str) -> int:
    """Prometheus' API ``parseDuration``: nanoseconds, or ``ValueError`` with its text."""
    f = _go_float(s)
    if f is not None:
        ns = f * 1e9
        if ns > _INT64_MAX or ns < -_INT64_MAX - 1:
            raise ValueError(f"cannot parse {go_quote(s)} to a valid duration. It overflows int64")
        return -_INT64_MAX - 1 if math.isnan(ns) else int(ns)
    parsed = _model_duration_ns(s)
    if parsed is None:
        raise ValueError(f"cannot parse {go_quote(s)} to a valid duration")
    return parsed


def _model_duration_ns(s: str) -> int | None:
    if s == "0":
        return 0
    m = _DURATION.fullmatch(s)
    if not s or m is None:
        return None
    total = 0
    for unit, group in zip(("y", "w", "d", "h", "m", "s", "ms"), m.groups(), strict=True):
        if group is not None:
            total += int(group) * _NS[unit]
    return total if total <= _INT64_MAX else None


def _duration_param(params: Params, name: str) -> int:
    try:
        return parse_duration_ns(params.get(name))
    except ValueError as e:
        raise ApiError(f"invalid parameter {go_quote(name)}: {e}") from None


def _timeout(params: Params) -> float | None:
    if params.get("timeout") == "":
        return None
    return _duration_param(params, "timeout") / 1e9


def _range_time(params: Params, name: str) -> int:
    """``start``/``end``: required, and without the "Invalid time value" prefix."""
    try:
        return parse_time(params.get(name))
    except ValueError as e:
        raise ApiError(f"invalid parameter {go_quote(name)}: {e}") from None


def instant_params(params: Params, now_ms: int) -> InstantParams:
    t = parse_time_param(params, "time", now_ms)
    return InstantParams(params.get("query"), t, _timeout(params))


def range_params(params: Params) -> RangeParams:
    start = _range_time(params, "start")
    end = _range_time(params, "end")
    if end < start:
        raise ApiError('invalid parameter "end": end timestamp must not be before start time')
    step_ns = _duration_param(params, "step")
    if step_ns <= 0:
        raise ApiError(
            'invalid parameter "step": zero or negative query resolution step widths are '
            "not accepted. Try a positive integer"
        )
    if (end - start) * 1_000_000 // step_ns > MAX_POINTS_PER_SERIES:
        raise ApiError(
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    timeout = _timeout(params)
    step = step_ns // 1_000_000
    if step == 0:
        raise ApiError(
            f"The step {go_quote(params.get('step'))} is below one millisecond, "
            "the resolution of timestamps; use a step of at least 0.001.",
            ErrorType.EXECUTION,
        )
    return RangeParams(params.get("query"), start, end, step, timeout)
