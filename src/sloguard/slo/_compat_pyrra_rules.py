"""The rule groups of Pyrra's generator for one ``PyrraObjective`` (see ``_compat_pyrra``)."""

from __future__ import annotations

from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._compat_pyrra import (
    PyrraObjective,
    burnrate_expr,
    burnrate_name,
    for_text,
    metric_base,
    pyrra_tiers,
    pyrra_url,
)
from sloguard.slo._pyrra_selector import Matcher, MatchType, Selector

Rule = dict[str, Any]
_DAY_MS = 86_400_000


def _increase_interval(window_ms: int) -> str:
    """Pyrra's interval of the increase group: 30s below 7d, 30s more per started week, at most 4m."""
    weeks = min(window_ms // (7 * _DAY_MS), 7)
    return format_duration_ms((weeks + 1) * 30_000)


def _record_labels(o: PyrraObjective, grouping: tuple[str, ...]) -> dict[str, str]:
    """The SLO's labels and the total selector's ``=`` matchers, minus grouped labels."""
    labels = {**o.common_labels(), **o.total.equal_labels()}
    return {k: v for k, v in labels.items() if k not in grouping}


def _with_annotations(rule: Rule, o: PyrraObjective, url: bool = False) -> Rule:
    """Pyrra's alert annotations: the propagated ones, and the link to its UI on burn alerts."""
    annotations = dict(o.annotations)
    if url and o.external_url:
        annotations["pyrra_url"] = pyrra_url(o)
    if annotations:
        rule["annotations"] = annotations
    return rule


def _absent(o: PyrraObjective, sel: Selector, labels: dict[str, str]) -> list[Rule]:
    """Pyrra's ``SLOMetricAbsent`` for one selector (none when ``alerting.absent`` is off)."""
    if o.absent_for_ms is None:
        return []
    rule = {"alert": o.absent_name, "expr": f"absent({sel}) == 1", "for": format_duration_ms(o.absent_for_ms),
            "labels": {**labels, "severity": o.absent_severity}}
    return [_with_annotations(rule, o)]


def _increase_grouping(o: PyrraObjective) -> tuple[str, ...]:
    """Pyrra keeps the labels that tell errors from totals (``code``), the regex-matched
    labels of the total selector and (bool gauge) every matched label, besides ``grouping``."""
    g = set(o.grouping) | {m.name for m in o.total.matchers if m.is_regex}
    if o.bad is not None:
        g |= {m.name for m in o.bad.matchers} - {m.name for m in o.total.matchers} - {"le"}
    else:
        g |= {m.name for m in o.total.matchers}
    return tuple(sorted(g))


def _increase(o: PyrraObjective, sel: Selector, grouping: tuple[str, ...], labels: dict[str, str]) -> Rule:
    w = format_duration_ms(o.window_ms)
    expr = o.sum(f"increase({sel}[{w}])", grouping)
    return {"record": f"{metric_base(sel.name)}:increase{w}", "expr": expr, "labels": labels}


def _ratio_increases(o: PyrraObjective, bad: Selector, grouping: tuple[str, ...], labels: dict[str, str]) -> list[Rule]:
    """Totals, then errors when they are another metric, each followed by its absent alert."""
    sels = (o.total, bad) if bad.name != o.total.name else (o.total,)
    return [r for sel in sels for r in (_increase(o, sel, grouping, labels), *_absent(o, sel, labels))]


def _latency_increases(o: PyrraObjective, success: Selector, grouping: tuple[str, ...], labels: dict[str, str]) -> list[Rule]:
    """Both series under one name; the success series carries the bucket's ``le``."""
    le = success.get("le")
    le_labels = {"le": le.value if le else "", **labels}
    return [_increase(o, o.total, grouping, labels), _increase(o, success, grouping, le_labels),
            *_absent(o, o.total, labels), *_absent(o, success, le_labels)]


def _bool_gauge_counts(o: PyrraObjective, grouping: tuple[str, ...], labels: dict[str, str]) -> list[Rule]:
    w = format_duration_ms(o.window_ms)
    rules = [{"record": f"{o.total.name}:{short}{w}", "expr": o.sum(f"{fn}({o.total}[{w}])", grouping), "labels": labels}
             for fn, short in (("count_over_time", "count"), ("sum_over_time", "sum"))]
    return rules + _absent(o, o.total, labels)


def increase_group(o: PyrraObjective) -> dict[str, Any]:
    grouping = _increase_grouping(o)
    labels = _record_labels(o, grouping)
    if o.bad is None:
        rules = _bool_gauge_counts(o, grouping, labels)
    elif o.kind == "latency":
        rules = _latency_increases(o, o.bad, grouping, labels)
    else:
        rules = _ratio_increases(o, o.bad, grouping, labels)
    return {"name": f"{o.name}-increase", "interval": _increase_interval(o.window_ms), "rules": rules}


def _alert_matchers(o: PyrraObjective) -> str:
    keep = [str(m) for m in o.total.matchers if m.name in o.grouping or not m.is_regex]
    return ",".join(sorted([*keep, f'slo="{o.name}"']))


def _burn_alert(o: PyrraObjective, i: int, matchers: str) -> Rule:
    tier = pyrra_tiers(o.window_ms)[i]
    w = tier.windows[0]
    threshold = f"({w.factor:.0f} * (1-{o.target!r}))"
    expr = (f"{burnrate_name(o, w.short_ms)}{{{matchers}}} > {threshold} and "
            f"{burnrate_name(o, w.long_ms)}{{{matchers}}} > {threshold}")
    labels = {**_record_labels(o, o.grouping), "short": format_duration_ms(w.short_ms),
              "long": format_duration_ms(w.long_ms), "severity": o.severities[i],
              "exhaustion": format_duration_ms(int(o.window_ms / 1000 / w.factor) * 1000)}
    rule = {"alert": o.alert_name, "expr": expr, "for": for_text(tier.for_ms, o.kind == "ratio"), "labels": labels}
    return _with_annotations(rule, o, url=True)


def burnrate_group(o: PyrraObjective) -> dict[str, Any]:
    tiers = pyrra_tiers(o.window_ms)
    windows = sorted({ms for t in tiers for w in t.windows for ms in (w.short_ms, w.long_ms)})
    labels = _record_labels(o, o.grouping)
    rules: list[Rule] = [{"record": burnrate_name(o, ms), "expr": burnrate_expr(o, ms), "labels": labels} for ms in windows]
    if o.burnrates:
        matchers = _alert_matchers(o)
        rules += [_burn_alert(o, i, matchers) for i in range(len(tiers))]
    return {"name": o.name, "interval": "30s", "rules": rules}


def _windowed(o: PyrraObjective, sel: Selector, short: str, *extra: Matcher) -> Selector:
    """``sel`` renamed to the recording of the whole window, restricted to this SLO."""
    name = f"{sel.name}:{short}" if short != "increase" else f"{metric_base(sel.name)}:increase"
    return sel.renamed(name + format_duration_ms(o.window_ms), *extra, Matcher("slo", MatchType.EQUAL, o.name))


def _generic_exprs(o: PyrraObjective) -> tuple[str, str, str]:
    """``pyrra_availability``, ``pyrra_requests:rate5m`` and ``pyrra_errors:rate5m``."""
    t, b = o.total, o.bad
    if b is None:
        total, good = _windowed(o, t, "count"), _windowed(o, t, "sum")
        return f"sum({good}) / sum({total})", f"sum({total})", f"sum({total}) - sum({good})"
    requests = f"sum(rate({t}[5m]))"
    if o.kind == "ratio":
        avail = f"1 - sum({_windowed(o, b, 'increase')} or vector(0)) / sum({_windowed(o, t, 'increase')})"
        return avail, requests, f"sum(rate({b}[5m])) or vector(0)"
    no_le = Matcher("le", MatchType.EQUAL, "")
    avail = f"sum({_windowed(o, b, 'increase')} or vector(0)) / sum({_windowed(o, t, 'increase', no_le)})"
    return avail, requests, f"{requests} - sum(rate({b}[5m]))"


def generic_group(o: PyrraObjective) -> dict[str, Any]:
    labels = o.common_labels()
    avail, requests, errors = _generic_exprs(o)
    exprs = (("pyrra_objective", repr(o.target)), ("pyrra_window", str(o.window_ms // 1000)),
             ("pyrra_availability", avail), ("pyrra_requests:rate5m", requests), ("pyrra_errors:rate5m", errors))
    return {"name": f"{o.name}-generic", "interval": "30s",
            "rules": [{"record": r, "expr": e, "labels": labels} for r, e in exprs]}


def groups(o: PyrraObjective, generic_rules: bool = False) -> list[dict[str, Any]]:
    """Pyrra's groups in its order; the generic group is skipped for grouped SLOs, as Pyrra does."""
    out = [increase_group(o), burnrate_group(o)]
    if generic_rules and not o.grouping:
        out.append(generic_group(o))
    return out
