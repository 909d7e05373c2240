"""``sloguard slo rules --compat pyrra``: the rules Pyrra generates, under Pyrra's names.

Pyrra (pyrra-dev/pyrra, ``slo/rules.go``) writes per SLO two groups and optionally a third:

* ``<slo>-increase``: the window's event counts, ``<metric>:increase<window>`` (ratio and
  latency; the latency success series carries its ``le`` label) or ``<metric>:count<window>``
  and ``<metric>:sum<window>`` (bool gauge), plus ``SLOMetricAbsent`` alerts;
* ``<slo>`` every 30s: ``<metric>:burnrate<w>`` for each alert window (the error *ratio*
  over ``w``, despite the name) and one ``ErrorBudgetBurn`` alert per window pair, labelled
  ``short``, ``long``, ``severity`` and ``exhaustion``;
* with ``generic_rules``, ``<slo>-generic``: ``pyrra_objective``, ``pyrra_window``,
  ``pyrra_availability``, ``pyrra_requests:rate5m``, ``pyrra_errors:rate5m`` (not for
  grouped SLOs, as in Pyrra).

Pyrra's alert policy is four windows scaled from 28 days (``pyrra_tiers``), each alert
``burnrate_short > factor * (1 - target) and burnrate_long > factor * (1 - target)``.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from sloguard.durations import format_duration_ms, format_go_duration
from sloguard.slo._errors import SLOError
from sloguard.slo._pyrra_selector import Matcher, MatchType, Selector, parse_selector
from sloguard.slo._sli import SLIError
from sloguard.slo.model import SLO, AlertTier, AvailabilitySLI, BurnWindow, LatencySLI, RatioSLI

MINUTE_NS = 60_000_000_000
#: Pyrra's names for the four windows (its ``alerting.severities`` keys) and their defaults.
SEVERITY_KEYS = ("fastBurn", "mediumBurn", "slowBurn", "longTermBurn")
_DEFAULT_SEVERITY = ("critical", "critical", "warning", "warning")
#: (for, long, short) as divisors of the SLO window, and the factor; 28d gives
#: 2m 1h/5m 14x, 15m 6h/30m 7x, 1h 1d/2h 2x, 3h 4d/6h 1x.
_WINDOWS = ((28 * 24 * 30, 28 * 24, 28 * 24 * 12, 14.0), (28 * 24 * 4, 28 * 4, 28 * 24 * 2, 7.0),
            (28 * 24, 28, 28 * 12, 2.0), (28 * 8, 7, 28 * 4, 1.0))


class CompatError(SLOError):
    """An SLO that Pyrra's rules cannot express; the message names the SLO and why."""


def _round_minute(ns: int) -> int:
    """Go's ``Duration.Round(time.Minute)``: halves away from zero."""
    q, rem = divmod(ns, MINUTE_NS)
    return (q + (1 if 2 * rem >= MINUTE_NS else 0)) * MINUTE_NS


def pyrra_tiers(period_ms: int) -> tuple[AlertTier, ...]:
    """Pyrra's alert policy for an SLO window: four tiers of one long/short pair each,
    named for Pyrra's severity keys, with Pyrra's ``for`` and ``severity`` labels."""
    window_ns = period_ms * 1_000_000
    tiers = []
    for key, sev, (f, long, short, factor) in zip(SEVERITY_KEYS, _DEFAULT_SEVERITY, _WINDOWS, strict=True):
        ms = [_round_minute(window_ns // d) // 1_000_000 for d in (f, long, short)]
        tiers.append(AlertTier(key, (BurnWindow(ms[1], ms[2], factor),), for_ms=ms[0], labels=(("severity", sev),)))
    return tuple(tiers)


def absent_duration_ms(period_ms: int, target: float) -> int:
    """Pyrra's ``for`` of the absent alert: the time a total outage needs to lift the fastest
    long window over its threshold, plus that alert's ``for``, rounded to the minute."""
    fast = pyrra_tiers(period_ms)[0]
    threshold = fast.windows[0].factor * (1 - target)
    ns = int(threshold * fast.windows[0].long_ms / 1000) * 1_000_000_000 + fast.for_ms * 1_000_000
    return _round_minute(ns) // 1_000_000


@dataclass(frozen=True, slots=True)
class PyrraObjective:
    """An SLO as Pyrra's generator sees it. ``kind`` is ``ratio`` (``bad`` = errors),
    ``latency`` (``bad`` = the success bucket) or ``bool_gauge`` (only ``total``)."""

    name: str
    target: float
    window_ms: int
    kind: str
    total: Selector
    bad: Selector | None
    grouping: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    burnrates: bool
    alert_name: str
    severities: tuple[str, ...]
    absent_for_ms: int | None
    absent_name: str
    absent_severity: str
    external_url: str = ""

    def sum(self, inner: str, grouping: tuple[str, ...] | None = None) -> str:
        """``sum by (grouping) (inner)`` as Prometheus prints it (``sum(inner)`` ungrouped)."""
        g = sorted(set(self.grouping if grouping is None else grouping))
        return f"sum by ({', '.join(g)}) ({inner})" if g else f"sum({inner})"

    def common_labels(self) -> dict[str, str]:
        return {"slo": self.name, **dict(self.labels)}


def _sli_selectors(slo: SLO) -> tuple[str, Selector, Selector | None]:
    sli = slo.sli
    try:
        match sli:
            case RatioSLI(total=total, bad=str(bad)):
                return "ratio", parse_selector(total, "total"), parse_selector(bad, "bad")
            case RatioSLI(total=total, good=str(good)):
                return "latency", parse_selector(total, "total"), parse_selector(good, "good")
            case LatencySLI(estimate=False) if not sli.buckets or sli.threshold in sli.buckets:
                sel = f"{{{sli.selector}}}" if sli.selector else ""
                bucket = parse_selector(f"{sli.metric}_bucket{sel}", "latency")
                le = Matcher("le", MatchType.EQUAL, f"{sli.threshold:g}")
                return "latency", parse_selector(f"{sli.metric}_count{sel}", "latency"), bucket.renamed(bucket.name, le)
            case AvailabilitySLI(probe=probe):
                return "bool_gauge", parse_selector(probe, "probe"), None
    except SLIError as e:
        raise CompatError(f"SLO {slo.name!r}: Pyrra needs plain metric selectors: {e}") from None
    raise CompatError(f"SLO {slo.name!r}: its {sli.kind.value} SLI cannot be written as Pyrra rules "
                      "(Pyrra reads counter selectors, a histogram's bucket and count, or a 0/1 gauge)")


def _target(slo: SLO) -> float:
    """Pyrra's float target: its spec's percent text divided by 100, as Go computes it."""
    text = slo.extension("pyrra.target") or f"{slo.objective * 100:.12g}"
    return float(text) / 100


def objective_of(slo: SLO, external_url: str = "") -> PyrraObjective:
    """``slo`` (read from any format) as Pyrra's generator input; ``CompatError`` when
    Pyrra cannot express it. With ``external_url`` alerts link to Pyrra's UI (``pyrra_url``)."""
    if not slo.period.is_rolling:
        raise CompatError(f"SLO {slo.name!r}: Pyrra has only rolling windows, not a {slo.period}")
    kind, total, bad = _sli_selectors(slo)
    tiers = {t.name: t for t in slo.alerting.tiers}
    sev = tuple(dict(tiers[k].labels).get("severity", d) if k in tiers else d
                for k, d in zip(SEVERITY_KEYS, _DEFAULT_SEVERITY, strict=True))
    a = slo.alerting
    return PyrraObjective(
        name=slo.name, target=_target(slo), window_ms=slo.period.nominal_ms, kind=kind, total=total, bad=bad,
        grouping=slo.grouping, labels=slo.labels, annotations=a.annotations,
        burnrates=any(t.enabled for t in a.tiers), alert_name=a.name or "ErrorBudgetBurn", severities=sev,
        absent_for_ms=a.no_data_for_ms, absent_name=slo.extension("pyrra.absentName", "SLOMetricAbsent"),
        absent_severity=slo.extension("pyrra.absentSeverity", "critical"), external_url=external_url,
    )


def metric_base(name: str) -> str:
    for suffix in ("_total", "_count", "_bucket"):
        name = name.removesuffix(suffix)
    return name


def burnrate_name(o: PyrraObjective, window_ms: int) -> str:
    base = o.total.name.removesuffix("_total").removesuffix("_count")
    return f"{base}:burnrate{format_duration_ms(window_ms)}"


def burnrate_expr(o: PyrraObjective, window_ms: int) -> str:
    w, s, t = format_duration_ms(window_ms), o.sum, o.total
    if o.kind == "ratio":
        return f"{s(f'rate({o.bad}[{w}])')} / {s(f'rate({t}[{w}])')}"
    if o.kind == "latency":
        return f"({s(f'rate({t}[{w}])')} - {s(f'rate({o.bad}[{w}])')}) / {s(f'rate({t}[{w}])')}"
    count = s(f"count_over_time({t}[{w}])")
    return f"({count} - {s(f'sum_over_time({t}[{w}])')}) / {count}"


def pyrra_url(o: PyrraObjective) -> str:
    """Pyrra's link from an alert to the SLO's page: ``<external url>/objectives?expr=...``,
    with the alert's grouping labels templated in."""
    u = urllib.parse.urlsplit(o.external_url)
    query = urllib.parse.urlencode({"expr": f'{{__name__="{o.name}"}}', "from": "now-1h", "to": "now"})
    url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/objectives", query, ""))
    if o.grouping:
        groups = urllib.parse.quote_plus("{" + ",".join(f'{g}="__TPL_{g}__"' for g in o.grouping) + "}", safe="")
        for g in o.grouping:
            groups = groups.replace(f"__TPL_{g}__", f"{{{{$labels.{g}}}}}")
        url += f"&grouping={groups}"
    return url


def generate(slos: list[SLO], generic_rules: bool = False, external_url: str = "") -> dict[str, Any]:
    """A Prometheus rule file with Pyrra's groups for every SLO (``pyrra generate``)."""
    from sloguard.slo._compat_pyrra_rules import groups

    return {"groups": [g for slo in slos for g in groups(objective_of(slo, external_url), generic_rules)]}


def prometheus_rule(slo: SLO, generic_rules: bool = False, external_url: str = "") -> dict[str, Any]:
    """The ``PrometheusRule`` Pyrra's Kubernetes controller writes for one SLO (named after
    it, in its namespace, with all of its Kubernetes labels)."""
    from sloguard.slo._compat_pyrra_rules import groups

    gs = groups(objective_of(slo, external_url), generic_rules)
    strategy = slo.extension("pyrra.partialResponseStrategy")
    if strategy:
        gs = [{**g, "partial_response_strategy": strategy} for g in gs]
    meta: dict[str, Any] = {"name": slo.name}
    if slo.extension("pyrra.namespace"):
        meta["namespace"] = slo.extension("pyrra.namespace")
    meta["labels"] = json.loads(slo.extension("pyrra.labels", "{}")) or {f"pyrra.dev/{k}": v for k, v in slo.labels}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta, "spec": {"groups": gs}}


def for_text(ms: int, go_style: bool) -> str:
    """Pyrra prints a ratio alert's ``for`` as a Go duration (``2m0s``), others as ``2m``."""
    return format_go_duration(ms * 1_000_000) if go_style else format_duration_ms(ms)
