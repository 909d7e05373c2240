"""Prometheus rules for SLOs: exact-window recordings, burn-rate alerts, metadata.

Per SLO (``grouping`` labels split it into one SLO per label value, all with the same
rules) the generator writes two groups:

* ``sloguard-slo-<name>`` at the evaluation interval (default 1m), 14 rules with the
  workbook tiers: two base recordings, the per-second error and total event rates over 5m
  (``slo:sli_error:rate5m``, ``slo:sli_total:rate5m``), each touching the SLI's source
  series (a missing error series is 0 errors while there is traffic); one error-ratio
  recording per window (``slo:sli_error:ratio_rate<W>``: 5m, 1h and every window of an
  enabled tier, 7 with the workbook tiers); one alert rule per window pair of each tier,
  labelled ``sloguard_tier``/``sloguard_long``/``sloguard_short``; and a no-data alert.
  Windows up to 6h divide raw rates (exact, and prompt for pages). Longer windows sum
  the base recordings (``sum_over_time(errors) / sum_over_time(total)``), which weighs
  every event equally, unlike an average of short-window ratios, and touches one series
  per SLO instead of every source series.
* ``sloguard-slo-<name>-budget`` every 5m: the period's budget, defined once for the
  rules and the report (``_budget_rules``, ``_period_expr``), and the metadata series
  dashboards chart.

User labels are never overwritten: sloguard's own alert labels carry the ``sloguard_``
prefix (refused in user labels by validation), ``severity`` is only a default.
"""

from __future__ import annotations

import re
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._budget_rules import budget_group
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.model import SLO, AlertTier, BurnWindow

BASE_WINDOW_MS = 300_000
RAW_WINDOW_LIMIT_MS = 6 * 3_600_000
#: ``slo:current_burn_rate:ratio`` reads this window's ratio, recorded whatever the tiers are.
CURRENT_BURN_WINDOW_MS = 3_600_000
#: sloguard's own alert labels; user labels with this prefix are refused at validation.
RESERVED_LABEL_PREFIX = "sloguard_"
TIER_LABEL = "sloguard_tier"
LONG_LABEL = "sloguard_long"
SHORT_LABEL = "sloguard_short"
#: Labels every record carries; a user label may repeat them only with the same value.
IDENTITY_LABELS = ("slo", "service")


def _sel(name: str, slo: SLO) -> str:
    return f'{name}{{slo="{slo.name}"}}'


def ratio_name(window_ms: int) -> str:
    return f"slo:sli_error:ratio_rate{format_duration_ms(window_ms)}"


def _ratio_expr(slo: SLO, window_ms: int) -> str:
    if window_ms == BASE_WINDOW_MS:
        return f"{_sel('slo:sli_error:rate5m', slo)} / {_sel('slo:sli_total:rate5m', slo)}"
    if window_ms <= RAW_WINDOW_LIMIT_MS:
        return f"{error_rate(slo, window_ms)} / {total_rate(slo, window_ms)}"
    w = format_duration_ms(window_ms)
    return (
        f"sum_over_time({_sel('slo:sli_error:rate5m', slo)}[{w}]) / "
        f"sum_over_time({_sel('slo:sli_total:rate5m', slo)}[{w}])"
    )


def _events_expr(slo: SLO, window_ms: int, interval_ms: int) -> str:
    """Events seen in the window (for the low-traffic guard)."""
    if window_ms <= RAW_WINDOW_LIMIT_MS:
        return f"({total_rate(slo, window_ms)}) * {window_ms / 1000:g}"
    w = format_duration_ms(window_ms)
    return f"sum_over_time({_sel('slo:sli_total:rate5m', slo)}[{w}]) * {interval_ms / 1000:g}"


def alert_name(slo: SLO) -> str:
    """The spec's alert name, else the SLO name in CamelCase (``checkout-api`` -> ``CheckoutApiBudgetBurn``)."""
    if slo.alerting.name and slo.alerting.name != slo.name:
        return slo.alerting.name
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^a-zA-Z0-9]+", slo.name) if p) + "BudgetBurn"


def slo_labels(slo: SLO) -> dict[str, str]:
    """The identity labels (``slo``, ``service``) and the user's SLO labels; validation
    refuses a user label that would give ``slo`` or ``service`` another value."""
    user = {k: v for k, v in slo.labels if k not in IDENTITY_LABELS}
    return {"slo": slo.name, "service": slo.service, **user}


def windows_of(slo: SLO) -> list[int]:
    """Every window with a ratio record: 5m, the current-burn window, each enabled pair."""
    ws = {BASE_WINDOW_MS, CURRENT_BURN_WINDOW_MS}
    for tier in slo.alerting.tiers:
        if tier.enabled:
            for w in tier.windows:
                ws.update((w.long_ms, w.short_ms))
    return sorted(ws)


def _condition(slo: SLO, w: BurnWindow, interval_ms: int) -> str:
    thr = f"({w.factor:g} * {slo.error_budget:.10g})"
    cond = (
        f"({_sel(ratio_name(w.long_ms), slo)} > {thr})"
        f" and ({_sel(ratio_name(w.short_ms), slo)} > {thr})"
    )
    n = slo.alerting.min_events
    if n:
        on = ", ".join(slo.grouping)
        cond += f" and on({on}) ({_events_expr(slo, w.long_ms, interval_ms)} >= {n})"
    return f"({cond})"


def tier_expr(slo: SLO, tier: AlertTier, interval_ms: int) -> str:
    """The tier's condition: any of its window pairs holds (without page supersession)."""
    return " or ".join(_condition(slo, w, interval_ms) for w in tier.windows)


def _pair_text(w: BurnWindow) -> str:
    return f"{format_duration_ms(w.long_ms)}/{format_duration_ms(w.short_ms)} at {w.factor:g}x"


def _matchers_template(slo: SLO) -> tuple[str, str]:
    """A printf format for this alert's own ``{slo=..., <grouping>=...}`` matchers and its arguments."""
    fmt = ",".join(["slo=%q"] + [f"{g}=%q" for g in slo.grouping])
    args = " ".join([_go_string(slo.name)] + [f"$labels.{g}" for g in slo.grouping])
    return fmt, args


def _go_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def budget_left_query(slo: SLO, matchers: str) -> str:
    """Budget remaining over the period, from the SLI group's own base records, so it
    needs no other group to have run (the budget group records the same figure)."""
    w = format_duration_ms(slo.period.nominal_ms)
    ratio = (f"sum_over_time(slo:sli_error:rate5m{{{matchers}}}[{w}]) / "
             f"sum_over_time(slo:sli_total:rate5m{{{matchers}}}[{w}])")
    return f"1 - ({ratio}) / {slo.error_budget:.10g}"


def _budget_left_template(slo: SLO) -> str:
    fmt, args = _matchers_template(slo)
    q = f"(printf {_go_string(budget_left_query(slo, fmt))} {args} {args})"
    return f"{{{{ with query {q} }}}}{{{{ . | first | value | humanizePercentage }}}}{{{{ end }}}}"


def _alert_labels(slo: SLO, tier_name: str, tier_labels: tuple[tuple[str, str], ...], own: dict[str, str]) -> dict[str, str]:
    """Defaults (``severity``) yield to every user label; sloguard's own labels
    (``sloguard_*``) cannot collide: validation refuses that prefix in user labels."""
    user_tier = dict(tier_labels)
    defaults = {"severity": user_tier.pop("severity")} if user_tier.get("severity") == tier_name else {}
    return {**defaults, **slo_labels(slo), **dict(slo.alerting.labels), **user_tier, TIER_LABEL: tier_name, **own}


def _alert(slo: SLO, tier: AlertTier, w: BurnWindow, expr: str) -> dict[str, Any]:
    """One rule per window pair, labelled with its windows, so the text says which pair fired."""
    a = slo.alerting
    long_w, short_w = format_duration_ms(w.long_ms), format_duration_ms(w.short_ms)
    annotations = {
        "summary": f"{slo.service} SLO {slo.name} is burning its error budget too fast ({tier.name}).",
        "description": (
            f"Error ratio {{{{ $value | humanizePercentage }}}} over {long_w} (and over {short_w}) is above "
            f"{w.factor:g}x the budget of {slo.error_budget * 100:.4g}% (objective {slo.objective * 100:.4g}%)."
        ),
        "windows": _pair_text(w),
        "burn_rate": f"{{{{ $value | printf \"%.4g\" }}}} / {slo.error_budget:.10g}",
        "budget_left": _budget_left_template(slo),
        **dict(a.annotations),
        **dict(tier.annotations),
    }
    if a.runbook:
        annotations["runbook_url"] = a.runbook
    rule: dict[str, Any] = {"alert": alert_name(slo), "expr": expr}
    if tier.for_ms:
        rule["for"] = format_duration_ms(tier.for_ms)
    rule["labels"] = _alert_labels(slo, tier.name, tier.labels, {LONG_LABEL: long_w, SHORT_LABEL: short_w})
    rule["annotations"] = annotations
    return rule


def _no_data_alert(slo: SLO) -> dict[str, Any]:
    return {
        "alert": f"{alert_name(slo)}NoData",
        "expr": f"absent({_sel('slo:sli_total:rate5m', slo)})",
        "for": format_duration_ms(slo.alerting.no_data_for_ms or 0),
        "labels": {"severity": "ticket", **_alert_labels(slo, "no-data", (), {})},
        "annotations": {"summary": f"SLO {slo.name} of {slo.service} has no SLI data: its budget cannot be computed."},
    }


def _alert_rules(slo: SLO, interval_ms: int) -> list[dict[str, Any]]:
    enabled = [t for t in slo.alerting.tiers if t.enabled and t.windows]
    rules = []
    page = next((t for t in enabled if t.name == "page"), None)
    for tier in enabled:
        for w in tier.windows:
            expr = _condition(slo, w, interval_ms)
            if page is not None and tier is not page:
                expr = f"{expr} unless on({', '.join(slo.grouping)}) ({tier_expr(slo, page, interval_ms)})"
            rules.append(_alert(slo, tier, w, expr))
    if slo.alerting.no_data_for_ms is not None:
        rules.append(_no_data_alert(slo))
    return rules


def sli_group(slo: SLO, interval_ms: int = 60_000) -> dict[str, Any]:
    labels = slo_labels(slo)
    rules: list[dict[str, Any]] = [
        {"record": "slo:sli_error:rate5m", "expr": error_rate(slo, BASE_WINDOW_MS), "labels": labels},
        {"record": "slo:sli_total:rate5m", "expr": total_rate(slo, BASE_WINDOW_MS), "labels": labels},
    ]
    for w in windows_of(slo):
        rules.append({"record": ratio_name(w), "expr": _ratio_expr(slo, w), "labels": labels})
    rules.extend(_alert_rules(slo, interval_ms))
    return {"name": f"sloguard-slo-{slo.name}", "interval": format_duration_ms(interval_ms), "rules": rules}


def generate(slos: list[SLO], interval_ms: int = 60_000) -> dict[str, Any]:
    """A Prometheus rule file (``{"groups": [...]}``) for the SLOs."""
    groups = []
    for slo in slos:
        groups.append(sli_group(slo, interval_ms))
        groups.append(budget_group(slo, slo_labels(slo)))
    return {"groups": groups}


def prometheus_rule(slos: list[SLO], name: str, namespace: str = "", interval_ms: int = 60_000) -> dict[str, Any]:
    """The same rules as a prometheus-operator ``PrometheusRule`` manifest."""
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/managed-by": "sloguard"}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta,
            "spec": generate(slos, interval_ms)}
