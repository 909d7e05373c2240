"""Prometheus rules in Sloth's form, so Sloth's dashboards and alert routes work unchanged.

Per SLO (id ``<service>-<name>``) Sloth writes three groups, and so does this module:

* ``sloth-slo-sli-recordings-<id>``: ``slo:sli_error:ratio_rate<W>`` for every alert window
  (the error query over the total query, or the raw ratio, each wrapped in parentheses),
  plus the SLO period's ratio as the average of the 5m ratios
  (``sum_over_time / ignoring (sloth_window) count_over_time``, Sloth's "optimized" rule);
* ``sloth-slo-meta-recordings-<id>``: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:time_period:days``, ``slo:current_burn_rate:ratio`` (on the page-quick short window,
  5m), ``slo:period_burn_rate:ratio``, ``slo:period_error_budget_remaining:ratio`` and
  ``sloth_slo_info`` (``sloth_version``, ``sloth_mode``, ``sloth_spec``, ``sloth_objective``);
* ``sloth-slo-alerts-<id>``: one page and one ticket alert, each two multiwindow conditions
  ``max(ratio > (factor * budget)) without (sloth_window)``, labelled ``sloth_severity``.

Numbers are printed the way Sloth's Go code prints them (``0.9990000000000001`` for a
99.9% objective) so the rules are the same series as Sloth's, not merely close.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.gofmt import go_float, go_quote, shortest_digits
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo._sloth_chain import NO_CHAIN, Chain
from sloguard.slo._sloth_chain import run as run_chain
from sloguard.slo._sloth_output import sorted_labels as _sorted
from sloguard.slo._sloth_windows import DEFAULT_CATALOG, AlertWindows, Window, go_hours, windows_for
from sloguard.slo.model import SLO, EventsSLI, RawSLI, clean_ratio
from sloguard.slo.rulegen import alert_name
from sloguard.slo.sloth_plugins import SlothRules

_WINDOW_TPL = re.compile(r"{{ *\.window *}}")
_ALERT_TPL = """(
    max({qs}{f} > ({qsf} * {b})) without (sloth_window)
    and
    max({ql}{f} > ({qlf} * {b})) without (sloth_window)
)
or
(
    max({ss}{f} > ({ssf} * {b})) without (sloth_window)
    and
    max({sl}{f} > ({slf} * {b})) without (sloth_window)
)
"""


@dataclass(frozen=True, slots=True)
class SlothInfo:
    """What ``sloth_slo_info`` says about the generator: version, mode (``cli-gen-prom``,
    ``cli-gen-k8s``) and the spec the SLOs came from (``prometheus/v1``, ``sloth.slok.dev/v1``)."""

    version: str
    mode: str = "cli-gen-prom"
    spec: str = "prometheus/v1"


@dataclass(frozen=True, slots=True)
class SlothOptions:
    """Sloth's generate flags. ``period_ms`` None keeps each SLO's own period."""

    catalog: Mapping[int, AlertWindows] = field(default_factory=lambda: dict(DEFAULT_CATALOG))
    period_ms: int | None = None
    extra_labels: tuple[tuple[str, str], ...] = ()
    disable_alerts: bool = False
    disable_recordings: bool = False


def go_float_f(x: float) -> str:
    """``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    neg, digits, dp = shortest_digits(x)
    if dp <= 0:
        out = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        out = digits + "0" * (dp - len(digits))
    else:
        out = digits[:dp] + "." + digits[dp:]
    return ("-" if neg and x != 0 else "") + out


def ratio_metric(window_ms: int) -> str:
    return f"slo:sli_error:ratio_rate{format_duration_ms(window_ms)}"


def _filter(labels: Mapping[str, str]) -> str:
    """Prometheus' ``LabelSet.String()``: sorted, Go-quoted, ``", "``-separated."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(labels.items())) + "}"


@dataclass(frozen=True, slots=True)
class _Ctx:
    """One SLO as Sloth sees it: ids, percent objective, labels, windows."""

    slo: SLO
    pct: float
    labels: dict[str, str]
    windows: AlertWindows

    @property
    def ids(self) -> dict[str, str]:
        s = self.slo
        return {"sloth_id": f"{s.service}-{s.name}", "sloth_service": s.service, "sloth_slo": s.name}

    @property
    def filter(self) -> str:
        return _filter(self.ids)


def _context(slo: SLO, opts: SlothOptions) -> _Ctx:
    period = opts.period_ms if opts.period_ms is not None else slo.period.nominal_ms
    windows = windows_for(opts.catalog, period, slo.source or slo.name)
    labels = {**dict(slo.labels), **dict(opts.extra_labels)}
    return _Ctx(slo, clean_ratio(slo.objective * 100), labels, windows)


def _render(template: str, window_ms: int, slo: SLO) -> str:
    out = _WINDOW_TPL.sub(format_duration_ms(window_ms), template)
    if "{{" in out:
        raise SpecError([Problem(slo.source, f"SLO {slo.name!r}", f"the SLI query {template!r} uses a template "
                                 "action other than {{.window}}, which sloguard cannot render")])
    return out


def _sli_expr(c: _Ctx, window_ms: int) -> str:
    sli = c.slo.sli
    if isinstance(sli, EventsSLI):
        return _render(f"({sli.error_query})\n/\n({sli.total_query})\n", window_ms, c.slo)
    if isinstance(sli, RawSLI):
        return _render(f"({sli.error_ratio_query})", window_ms, c.slo)
    return f"({error_rate(c.slo, window_ms)})\n/\n({total_rate(c.slo, window_ms)})\n"


def _sli_rules(c: _Ctx) -> list[dict[str, Any]]:
    period = c.windows.period_ms
    rules = []
    for w in [*c.windows.durations(), period]:
        w_text = format_duration_ms(w)
        if w == period:
            short = ratio_metric(c.windows.page_quick.short_ms)
            expr = (f"sum_over_time({short}{c.filter}[{w_text}])\n/ ignoring (sloth_window)\n"
                    f"count_over_time({short}{c.filter}[{w_text}])\n")
        else:
            expr = _sli_expr(c, w)
        labels = _sorted({**c.ids, "sloth_window": w_text, **c.labels})
        rules.append({"record": ratio_metric(w), "expr": expr, "labels": labels})
    return rules


def _burn_expr(metric: str, f: str) -> str:
    return f"{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{f}\n"


def _meta_rules(c: _Ctx, info: SlothInfo) -> list[dict[str, Any]]:
    labels = _sorted({**c.ids, **c.labels})
    ratio = go_float(c.pct / 100)
    f = c.filter
    info_labels = _sorted({**labels, "sloth_version": info.version, "sloth_mode": info.mode,
                           "sloth_spec": info.spec, "sloth_objective": go_float_f(c.pct)})
    exprs = [
        ("slo:objective:ratio", f"vector({ratio})"),
        ("slo:error_budget:ratio", f"vector(1-{ratio})"),
        ("slo:time_period:days", f"vector({go_float(go_hours(c.windows.period_ms) / 24)})"),
        ("slo:current_burn_rate:ratio", _burn_expr(ratio_metric(c.windows.page_quick.short_ms), f)),
        ("slo:period_burn_rate:ratio", _burn_expr(ratio_metric(c.windows.period_ms), f)),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{f}"),
    ]
    rules = [{"record": name, "expr": expr, "labels": labels} for name, expr in exprs]
    rules.append({"record": "sloth_slo_info", "expr": "vector(1)", "labels": info_labels})
    return rules


def _tier_meta(slo: SLO, name: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The alert labels and annotations of tier ``name``, None when it is disabled. sloguard's
    own ``severity`` label (put first on each tier) is not the user's and is left out."""
    tier = next((t for t in slo.alerting.tiers if t.name == name), None)
    if tier is None or not tier.enabled:
        return None
    base = (("severity", name),)
    own = tier.labels[len(base):] if tier.labels[:len(base)] == base else tier.labels
    a = slo.alerting
    return {**dict(a.labels), **dict(own)}, {**dict(a.annotations), **dict(tier.annotations)}


def _alert(c: _Ctx, severity: str, quick: Window, slow: Window) -> dict[str, Any] | None:
    meta = _tier_meta(c.slo, severity)
    if meta is None:
        return None
    w = c.windows
    expr = _ALERT_TPL.format(
        f=c.filter, b=go_float((100 - c.pct) / 100),
        qs=ratio_metric(quick.short_ms), ql=ratio_metric(quick.long_ms), qsf=go_float(w.burn_factor(quick)),
        qlf=go_float(w.burn_factor(quick)), ss=ratio_metric(slow.short_ms), sl=ratio_metric(slow.long_ms),
        ssf=go_float(w.burn_factor(slow)), slf=go_float(w.burn_factor(slow)),
    )
    annotations = {
        "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.",
        "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
    }
    labels, own_annotations = meta
    return {"alert": c.slo.alerting.name or alert_name(c.slo), "expr": expr,
            "labels": _sorted({"sloth_severity": severity, **labels}),
            "annotations": _sorted({**annotations, **own_annotations})}


def _default_rules(c: _Ctx, info: SlothInfo) -> SlothRules:
    """Sloth's default plugins: SLI recordings, metadata recordings, page and ticket alerts."""
    w = c.windows
    alerts = [_alert(c, "page", w.page_quick, w.page_slow), _alert(c, "ticket", w.ticket_quick, w.ticket_slow)]
    return SlothRules(tuple(_sli_rules(c)), tuple(_meta_rules(c, info)), tuple(a for a in alerts if a is not None))


_KEY_ORDER = ("record", "alert", "expr", "for", "labels", "annotations")


def _tidy(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as Sloth's YAML writes it: fields in rulefmt's order, label maps sorted."""
    keys = [k for k in _KEY_ORDER if k in rule] + [k for k in rule if k not in _KEY_ORDER]
    return {k: _sorted(rule[k]) if k in ("labels", "annotations") else rule[k] for k in keys}


def slo_groups(slo: SLO, info: SlothInfo, opts: SlothOptions, chain: Chain = NO_CHAIN) -> list[dict[str, Any]]:
    """The rule groups Sloth writes for one SLO after its plugin chain (empty groups left out,
    as Sloth does; ``--disable-*`` apply after the plugins, as in Sloth's CLI)."""
    c = _context(slo, opts)
    rules = run_chain(chain, slo, lambda: _default_rules(c, info))
    sid = c.ids["sloth_id"]
    groups: list[tuple[str, tuple[dict[str, Any], ...]]] = []
    if not opts.disable_recordings:
        groups += [(f"sloth-slo-sli-recordings-{sid}", rules.sli), (f"sloth-slo-meta-recordings-{sid}", rules.meta)]
    if not opts.disable_alerts:
        groups.append((f"sloth-slo-alerts-{sid}", rules.alerts))
    out = [{"name": name, "rules": [_tidy(r) for r in rs]} for name, rs in groups if rs]
    for i, g in enumerate(rules.extra):
        if g.get("rules"):
            out.append({**g, "name": g.get("name") or f"sloth-slo-extra-rules-{i:03d}-{sid}",
                        "rules": [_tidy(r) for r in g["rules"]]})
    return out


def rule_groups(slos: list[SLO], info: SlothInfo, opts: SlothOptions,
                chains: Mapping[str, Chain] | None = None) -> list[dict[str, Any]]:
    """Every SLO's groups, in order; SLO ids (service-name) must be unique, as Sloth checks."""
    seen: set[str] = set()
    groups = []
    for slo in slos:
        sid = f"{slo.service}-{slo.name}"
        if sid in seen:
            raise SpecError([Problem(slo.source, f"SLO {slo.name!r}", f"SLO ID {sid!r} is repeated")])
        seen.add(sid)
        groups.extend(slo_groups(slo, info, opts, (chains or {}).get(slo.name, NO_CHAIN)))
    return groups
