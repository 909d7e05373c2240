"""The PromQL behind the SLO panels, on the series sloguard's generated rules record.

Names come from the rule generator itself (``rulegen``, ``_budget_rules``), so a renamed
record changes the dashboards with it. Every query returns a value while the SLO has data
(an alert state is 0, not absent, while nothing fires), so a panel never sits on "No data"
for a healthy SLO.
"""

from __future__ import annotations

from collections.abc import Iterable

from sloguard.slo import rulegen
from sloguard.slo._budget_rules import period_ratio_name
from sloguard.slo.model import SLO, AlertTier, BurnWindow

REMAINING = "slo:error_budget_remaining:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
OBJECTIVE = "slo:objective:ratio"
ERROR_5M = "slo:sli_error:ratio_rate5m"
#: Alert state values: the worst tier wins (page over ticket, firing over pending).
OK, PENDING, TICKET, PAGE = 0, 1, 2, 3
OVERVIEW_BY = "service, slo"


def sel(name: str, slo: SLO) -> str:
    """``name{slo="<name>"}``, as the rules select their own records."""
    return f'{name}{{slo="{_escape(slo.name)}"}}'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def legend(slo: SLO, default: str) -> str:
    """A legend naming the grouping labels' values (``{{route}}``), else ``default``."""
    return " ".join("{{" + g + "}}" for g in slo.grouping) or default


def sli_now(slo: SLO) -> str:
    """The SLI over the last 5 minutes (``1 - error ratio``)."""
    return f"1 - {sel(ERROR_5M, slo)}"


def sli_period(slo: SLO) -> str:
    """The SLI over the SLO's period (events, or good slices for timeslices)."""
    return f"1 - {sel(period_ratio_name(slo), slo)}"


def burn_rate(slo: SLO, window_ms: int) -> str:
    """The burn rate over one alert window: its error ratio over the error budget."""
    return f"{sel(rulegen.ratio_name(window_ms), slo)} / {slo.error_budget:.10g}"


def pairs(slo: SLO) -> list[tuple[AlertTier, BurnWindow]]:
    """Every (tier, window pair) that has an alert rule, in rule order."""
    return [(t, w) for t in slo.alerting.tiers if t.enabled for w in t.windows]


def _tiers(slo: SLO) -> list[str]:
    return list(dict.fromkeys(t.name for t, _ in pairs(slo)))


def _alerts(state: str, extra: str, by: str) -> str:
    return f'max by ({by}) (ALERTS{{alertstate="{state}"{extra}}})'


def tier_state(slo: SLO) -> str:
    """Per tier (``sloguard_tier``): 2 firing, 1 pending, 0 inactive, from ``ALERTS``."""
    name = f'alertname="{_escape(rulegen.alert_name(slo))}", slo="{_escape(slo.name)}"'
    by = rulegen.TIER_LABEL
    parts = [f"({_alerts('firing', ', ' + name, by)} * 2)", _alerts("pending", ", " + name, by)]
    parts += [f'label_replace(vector(0), "{by}", "{t}", "", "")' for t in _tiers(slo)] or ["vector(0)"]
    return " or ".join(parts)


def overview_state(slos: Iterable[SLO]) -> str:
    """Per SLO: 3 page firing, 2 ticket firing, 1 pending, 0 none (the worst alert wins)."""
    names = "|".join(_regex_escape(rulegen.alert_name(s)) for s in slos) or "^$"
    extra = f', alertname=~"{_escape(names)}", slo!=""'
    page = f', {rulegen.TIER_LABEL}="page"'
    firing = f"({_alerts('firing', extra + page, OVERVIEW_BY)} * {PAGE})"
    ticket = f"({_alerts('firing', extra, OVERVIEW_BY)} * {TICKET})"
    pending = f"({_alerts('pending', extra, OVERVIEW_BY)} * {PENDING})"
    none = f"(max by ({OVERVIEW_BY}) ({OBJECTIVE}) * {OK})"
    return f"{firing} or {ticket} or {pending} or {none}"


def firing(slo: SLO) -> str:
    """The SLO's burn-rate alerts while they fire (one series per tier and window pair)."""
    return f'ALERTS{{alertname="{_escape(rulegen.alert_name(slo))}", slo="{_escape(slo.name)}", alertstate="firing"}}'


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\\" else c for c in text)


def overview_sli(slos: Iterable[SLO]) -> str:
    """The worst group's SLI over its period, per SLO (periods may differ between SLOs)."""
    names = sorted({period_ratio_name(s) for s in slos}) or [ERROR_5M]
    ratios = " or ".join(f"{n}" for n in names)
    return f"min by ({OVERVIEW_BY}) (1 - ({ratios}))"


def overview_worst(name: str, agg: str) -> str:
    """``agg by (service, slo) (name)``: the worst group of each SLO."""
    return f"{agg} by ({OVERVIEW_BY}) ({name})"
