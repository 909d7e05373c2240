"""PromQL for an SLI: per-second error and total event rates over a window.

Every SLI kind reduces to two expressions of the window, aggregated by the SLO's grouping
labels. Rates (not ratios) are what gets recorded, so long windows can sum events exactly.
"""

from __future__ import annotations

import math
from typing import Any

import promql_parser

from sloguard.durations import format_duration_ms
from sloguard.parselimits import ParseLimitError, check_expression
from sloguard.slo.model import (
    SLI,
    SLO,
    WINDOW_PLACEHOLDERS,
    AvailabilitySLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    RawSLI,
)


class SLIError(ValueError):
    """An SLI that cannot be turned into PromQL; the message names the field."""


def parse_promql(query: str, field: str) -> Any:
    """promql-parser's tree for ``query``, held to the parse limits first; ``SLIError``
    naming ``field`` when it does not parse (a query beyond a limit is not echoed whole)."""
    try:
        check_expression(query)
    except ParseLimitError as e:
        raise SLIError(f"{field}: invalid PromQL {_excerpt(query)}: {e}") from None
    try:
        return promql_parser.parse(query)
    except ValueError as e:
        raise SLIError(f"{field}: invalid PromQL {query!r}: {e}") from None


def _excerpt(query: str) -> str:
    return repr(query) if len(query) <= 80 else f"{query[:60]!r}... ({len(query)} characters)"


def _by(slo: SLO) -> str:
    return f"sum by ({', '.join(slo.grouping)})" if slo.grouping else "sum"


def has_window_placeholder(query: str) -> bool:
    return any(p in query for p in WINDOW_PLACEHOLDERS)


def fill_window(query: str, window_ms: int) -> str:
    w = format_duration_ms(window_ms)
    for p in WINDOW_PLACEHOLDERS:
        query = query.replace(p, w)
    return query


def _counter_rate(slo: SLO, field: str, query: str, window_ms: int) -> str:
    """``query`` is a counter selector (wrapped in ``rate``) or an expression with ``{{.window}}``."""
    if has_window_placeholder(query):
        return f"({fill_window(query, window_ms)})"
    node = parse_promql(query, field)
    if not isinstance(node, promql_parser.VectorSelector):
        raise SLIError(
            f"{field}: {query!r} must be a counter selector such as "
            "'http_requests_total{code!~\"5..\"}' or an expression containing {{.window}}"
        )
    return f"{_by(slo)} (rate({query}[{format_duration_ms(window_ms)}]))"


def le_matcher(threshold: float) -> str:
    """Match the ``le`` label of a bucket whichever way the client spelled the number."""
    if math.isinf(threshold):
        return 'le="+Inf"'
    text = repr(float(threshold))
    spellings = {text, text.removesuffix(".0"), f"{threshold:g}"}
    if len(spellings) == 1:
        return f'le="{text}"'
    return 'le=~"' + "|".join(sorted(s.replace(".", "\\\\.") for s in spellings)) + '"'


def check_latency_threshold(sli: LatencySLI) -> tuple[float, float] | None:
    """Refuse a threshold between bucket boundaries unless ``estimate`` is set.

    Returns the (lower, upper) boundaries to interpolate between, or None when the
    threshold is itself a boundary (or no boundaries are known).
    """
    b = sorted(sli.buckets)
    if not b or sli.threshold in b:
        return None
    lower = max((x for x in b if x < sli.threshold), default=0.0)
    upper = min((x for x in b if x > sli.threshold), default=math.inf)
    if not sli.estimate:
        raise SLIError(
            f"latency threshold {sli.threshold:g}s is not a bucket boundary of "
            f"{sli.metric}; the nearest boundaries are {lower:g} and {upper:g}. Use one of "
            "them, or set estimate: true to interpolate (the SLO is then labelled an estimate)"
        )
    if math.isinf(upper):
        raise SLIError(
            f"latency threshold {sli.threshold:g}s is above the last finite bucket {lower:g} "
            f"of {sli.metric}; it cannot be estimated"
        )
    return lower, upper


def _latency_good(slo: SLO, sli: LatencySLI, w: str) -> str:
    sel = f"{sli.selector}, " if sli.selector else ""
    bounds = check_latency_threshold(sli)

    def bucket(le: float) -> str:
        return f"{_by(slo)} (rate({sli.metric}_bucket{{{sel}{le_matcher(le)}}}[{w}]))"

    if bounds is None:
        return bucket(sli.threshold)
    lo, hi = bounds
    frac = (sli.threshold - lo) / (hi - lo)
    lo_expr = bucket(lo) if lo > 0 else f"({bucket(hi)} * 0)"
    return f"({lo_expr} + ({bucket(hi)} - {lo_expr}) * {frac!r})"


def _range(probe: str, w: str) -> str:
    """``probe[w]`` for a selector, a subquery ``(probe)[w:]`` for any other expression."""
    plain = isinstance(parse_promql(probe, "sli.probe"), promql_parser.VectorSelector)
    return f"{probe}[{w}]" if plain else f"({probe})[{w}:]"


def availability_ratio(slo: SLO, probe: str, window: str) -> str:
    """Error ratio of a 0/1 probe over a (possibly templated) window."""
    rng = _range(probe, window)
    return f"(1 - {_by(slo)} (sum_over_time({rng})) / {_by(slo)} (count_over_time({rng})))"


def _or_zero(events: str, total: str) -> str:
    """``events``, or 0 for every label set that has traffic but no such series yet (a
    service that never failed has no ``code="500"`` series); no traffic stays no data."""
    return f"({events} or {total} * 0)"


def error_rate(slo: SLO, window_ms: int) -> str:
    """Per-second rate of bad events over the window: 0, not absent, while the total has
    traffic and the error series does not exist (yet)."""
    bad, sli = bad_rate(slo, window_ms), slo.sli
    if isinstance(sli, EventsSLI | LatencySLI) or (isinstance(sli, RatioSLI) and sli.bad):
        return _or_zero(bad, total_rate(slo, window_ms))
    return bad


def bad_rate(slo: SLO, window_ms: int) -> str:
    """The SLI's bad events per second as the spec states them, without the zero fill
    (what a spec converter writes; rules use ``error_rate``). A missing good series
    counts as no good events."""
    sli: SLI = slo.sli
    w = format_duration_ms(window_ms)
    match sli:
        case RatioSLI(total=total, good=good, bad=bad):
            if bad:
                return _counter_rate(slo, "sli.bad", bad, window_ms)
            assert good is not None  # the spec loaders require good or bad
            t = _counter_rate(slo, "sli.total", total, window_ms)
            return f"({t} - {_or_zero(_counter_rate(slo, 'sli.good', good, window_ms), t)})"
        case EventsSLI(error_query=q):
            return f"({fill_window(q, window_ms)})"
        case RawSLI(error_ratio_query=q):
            return f"(({fill_window(q, window_ms)}) >= 0)"
        case LatencySLI():
            sel = f"{{{sli.selector}}}" if sli.selector else ""
            total = f"{_by(slo)} (rate({sli.metric}_count{sel}[{w}]))"
            return f"({total} - {_latency_good(slo, sli, w)})"
        case AvailabilitySLI(probe=probe):
            rng = _range(probe, w)
            return (
                f"(({_by(slo)} (count_over_time({rng})) - "
                f"{_by(slo)} (sum_over_time({rng}))) / {window_ms / 1000:g})"
            )
    raise SLIError(f"unsupported SLI {sli!r}")


def total_rate(slo: SLO, window_ms: int) -> str:
    """Per-second rate of all events over the window."""
    sli: SLI = slo.sli
    w = format_duration_ms(window_ms)
    match sli:
        case RatioSLI(total=total):
            return _counter_rate(slo, "sli.total", total, window_ms)
        case EventsSLI(total_query=q):
            return f"({fill_window(q, window_ms)})"
        case RawSLI(error_ratio_query=q):
            # Only a ratio is known: every window counts as one event (Sloth's averaging).
            return f"((({fill_window(q, window_ms)}) >= 0) * 0 + 1)"
        case LatencySLI():
            sel = f"{{{sli.selector}}}" if sli.selector else ""
            return f"{_by(slo)} (rate({sli.metric}_count{sel}[{w}]))"
        case AvailabilitySLI(probe=probe):
            return f"({_by(slo)} (count_over_time({_range(probe, w)})) / {window_ms / 1000:g})"
    raise SLIError(f"unsupported SLI {sli!r}")
