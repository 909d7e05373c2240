"""The rules of Sloth's core generator plugins for one SLO, as rule mappings: SLI error-ratio
recordings (``sloth.dev/core/sli_rules/v1``), metadata recordings (``.../metadata_rules/v1``)
and multiwindow burn-rate alerts (``.../alert_rules/v1``).

Numbers are printed the way Sloth's Go code prints them (``0.9990000000000001`` for a
99.9% objective) so the rules are the same series as Sloth's, not merely close.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.gofmt import go_float, go_quote, shortest_digits
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo._sloth_output import sorted_labels as _sorted
from sloguard.slo._sloth_windows import AlertWindows, Window, go_hours
from sloguard.slo.model import SLO, EventsSLI, RawSLI
from sloguard.slo.rulegen import alert_name

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
class SlothRequest:
    """One SLO as Sloth's plugins see it: the SLO, its objective in percent, its labels (the
    spec's, then ``--extra-labels``), its alert windows and the generator's info."""

    slo: SLO
    pct: float
    labels: dict[str, str]
    windows: AlertWindows
    info: SlothInfo

    @property
    def ids(self) -> dict[str, str]:
        s = self.slo
        return {"sloth_id": f"{s.service}-{s.name}", "sloth_service": s.service, "sloth_slo": s.name}

    @property
    def filter(self) -> str:
        return label_filter(self.ids)


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


def label_filter(labels: Mapping[str, str]) -> str:
    """Prometheus' ``LabelSet.String()``: sorted, Go-quoted, ``", "``-separated."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(labels.items())) + "}"


def render_window(template: str, window_ms: int, slo: SLO) -> str:
    """``template`` with ``{{.window}}`` replaced by ``window_ms`` (the only action Sloth allows)."""
    out = _WINDOW_TPL.sub(format_duration_ms(window_ms), template)
    if "{{" in out:
        raise SpecError([Problem(slo.source, f"SLO {slo.name!r}", f"the SLI query {template!r} uses a template "
                                 "action other than {{.window}}, which sloguard cannot render")])
    return out


def _sli_expr(req: SlothRequest, window_ms: int) -> str:
    sli = req.slo.sli
    if isinstance(sli, EventsSLI):
        return render_window(f"({sli.error_query})\n/\n({sli.total_query})\n", window_ms, req.slo)
    if isinstance(sli, RawSLI):
        return render_window(f"({sli.error_ratio_query})", window_ms, req.slo)
    return f"({error_rate(req.slo, window_ms)})\n/\n({total_rate(req.slo, window_ms)})\n"


def sli_labels(req: SlothRequest, window_ms: int) -> dict[str, str]:
    return _sorted({**req.ids, "sloth_window": format_duration_ms(window_ms), **req.labels})


def optimized_period_expr(req: SlothRequest) -> str:
    """The period's ratio as the average of the page-quick short window's ratios."""
    short, w = ratio_metric(req.windows.page_quick.short_ms), format_duration_ms(req.windows.period_ms)
    return (f"sum_over_time({short}{req.filter}[{w}])\n/ ignoring (sloth_window)\n"
            f"count_over_time({short}{req.filter}[{w}])\n")


def sli_rules(req: SlothRequest, optimized: bool = True) -> list[dict[str, Any]]:
    """One ``slo:sli_error:ratio_rate<W>`` per alert window and the period; the period's is
    Sloth's "optimized" average of the short-window ratios unless ``optimized`` is False."""
    period = req.windows.period_ms
    rules = []
    for w in [*req.windows.durations(), period]:
        expr = optimized_period_expr(req) if w == period and optimized else _sli_expr(req, w)
        rules.append({"record": ratio_metric(w), "expr": expr, "labels": sli_labels(req, w)})
    return rules


def _burn_expr(metric: str, f: str) -> str:
    return f"{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{f}\n"


def meta_rules(req: SlothRequest) -> list[dict[str, Any]]:
    labels = _sorted({**req.ids, **req.labels})
    ratio = go_float(req.pct / 100)
    f = req.filter
    info = req.info
    info_labels = _sorted({**labels, "sloth_version": info.version, "sloth_mode": info.mode,
                           "sloth_spec": info.spec, "sloth_objective": go_float_f(req.pct)})
    exprs = [
        ("slo:objective:ratio", f"vector({ratio})"),
        ("slo:error_budget:ratio", f"vector(1-{ratio})"),
        ("slo:time_period:days", f"vector({go_float(go_hours(req.windows.period_ms) / 24)})"),
        ("slo:current_burn_rate:ratio", _burn_expr(ratio_metric(req.windows.page_quick.short_ms), f)),
        ("slo:period_burn_rate:ratio", _burn_expr(ratio_metric(req.windows.period_ms), f)),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{f}"),
    ]
    rules = [{"record": name, "expr": expr, "labels": dict(labels)} for name, expr in exprs]
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


def _alert(req: SlothRequest, severity: str, quick: Window, slow: Window) -> dict[str, Any] | None:
    meta = _tier_meta(req.slo, severity)
    if meta is None:
        return None
    w = req.windows
    expr = _ALERT_TPL.format(
        f=req.filter, b=go_float((100 - req.pct) / 100),
        qs=ratio_metric(quick.short_ms), ql=ratio_metric(quick.long_ms), qsf=go_float(w.burn_factor(quick)),
        qlf=go_float(w.burn_factor(quick)), ss=ratio_metric(slow.short_ms), sl=ratio_metric(slow.long_ms),
        ssf=go_float(w.burn_factor(slow)), slf=go_float(w.burn_factor(slow)),
    )
    annotations = {
        "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.",
        "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
    }
    labels, own_annotations = meta
    return {"alert": req.slo.alerting.name or alert_name(req.slo), "expr": expr,
            "labels": _sorted({"sloth_severity": severity, **labels}),
            "annotations": _sorted({**annotations, **own_annotations})}


def alert_rules(req: SlothRequest) -> list[dict[str, Any]]:
    """The page and the ticket alert (each left out when disabled)."""
    w = req.windows
    alerts = [_alert(req, "page", w.page_quick, w.page_slow), _alert(req, "ticket", w.ticket_quick, w.ticket_slow)]
    return [a for a in alerts if a is not None]
