"""How much of a budget period the SLI's data covers.

A budget is only as long as the data under it: a service scraped for an hour has an
hour of events, whatever its period says. Coverage starts at the first sample of the
SLI's total series in the period (per grouping label set), found through the engine:

1. an instant query of ``count by (grouping) (count_over_time(TOTAL[lookback]))`` at
   ``period start + lookback`` finds the label sets with a sample within one lookback
   delta of the start: those cover the whole period (the cheap, common case);
2. for the others, ``TOTAL[at - start]`` at ``at`` returns the raw samples, and the
   earliest timestamp is the first sample.

``TOTAL`` is each series selector of the SLI's total-rate expression (the total
selector of a ratio, the histogram's ``_count``, the probe, every selector of a Sloth
``total_query``).
"""

from __future__ import annotations

from typing import Any

import promql_parser

from sloguard.durations import format_duration_ms
from sloguard.promql import Engine, PromQLError, Sample, Series
from sloguard.slo._sli import parse_promql, total_rate
from sloguard.slo.model import SLO

Key = tuple[tuple[str, str], ...]

#: A sample this close to the period start counts as data from the start (Prometheus'
#: default lookback delta: a query at the start would still see it).
LOOKBACK_MS = 300_000


def total_selectors(slo: SLO) -> list[str]:
    """The series selectors the SLI's total events are read from, as PromQL text."""
    node = parse_promql(total_rate(slo, LOOKBACK_MS), "sli")
    found: list[str] = []
    _walk(node, found)
    return sorted(set(found))


def _walk(node: Any, found: list[str]) -> None:
    if isinstance(node, promql_parser.VectorSelector):
        found.append(str(node))
        return
    if isinstance(node, promql_parser.MatrixSelector):
        found.append(str(node.vector_selector))
        return
    for attr in ("lhs", "rhs", "expr", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            _walk(child, found)
    for arg in getattr(node, "args", None) or ():
        _walk(arg, found)


def _key(labels: Any, grouping: tuple[str, ...]) -> Key:
    return tuple(sorted((g, v) for g in grouping if (v := labels.get(g))))


def _full_groups(engine: Engine, slo: SLO, selector: str, start_ms: int, at_ms: int) -> set[Key]:
    t = min(start_ms + LOOKBACK_MS, at_ms)
    by = f"count by ({', '.join(slo.grouping)})" if slo.grouping else "count"
    res = engine.instant_query(f"{by} (count_over_time({selector}[{format_duration_ms(t - start_ms or 1)}]))", t)
    found = res.value if isinstance(res.value, list) else []
    return {_key(s.labels, slo.grouping) for s in found if isinstance(s, Sample)}


def _first_samples(engine: Engine, slo: SLO, selector: str, start_ms: int, at_ms: int) -> dict[Key, int]:
    rng = format_duration_ms(max(at_ms - start_ms, 1000))
    res = engine.instant_query(f"{selector}[{rng}]", at_ms)
    out: dict[Key, int] = {}
    for s in res.value if isinstance(res.value, list) else []:
        if isinstance(s, Series) and len(s.timestamps):
            k = _key(s.labels, slo.grouping)
            out[k] = min(out.get(k, int(s.timestamps[0])), int(s.timestamps[0]))
    return out


def observed_from(engine: Engine, slo: SLO, start_ms: int, at_ms: int, keys: list[Key]) -> dict[Key, int | None]:
    """Per label set of ``keys``: ``start_ms`` when its data covers the whole period, else
    the time of its first sample after the start (None: no sample found). A label set the
    selectors' series do not carry (a Sloth query aggregating them away) takes the
    earliest first sample of all series. Empty when the engine refuses the queries (raw
    samples over its limits, a selector with ``offset``): coverage is then unknown."""
    try:
        return _observed_from(engine, slo, start_ms, at_ms, keys)
    except PromQLError:
        return {}


def _observed_from(engine: Engine, slo: SLO, start_ms: int, at_ms: int, keys: list[Key]) -> dict[Key, int | None]:
    full: set[Key] = set()
    selectors = total_selectors(slo)
    for sel in selectors:
        full |= _full_groups(engine, slo, sel, start_ms, at_ms)
    out: dict[Key, int | None] = {k: start_ms for k in keys if k in full}
    missing = [k for k in keys if k not in full]
    if not missing:
        return out
    if () in full:  # the series do not carry the grouping labels: they cover the period
        return {**out, **{k: start_ms for k in missing}}
    firsts: dict[Key, int] = {}
    for sel in selectors:
        for k, t in _first_samples(engine, slo, sel, start_ms, at_ms).items():
            firsts[k] = min(firsts.get(k, t), t)
    anywhere = min(firsts.values(), default=None)
    for k in missing:
        out[k] = firsts.get(k, anywhere)
    return out
