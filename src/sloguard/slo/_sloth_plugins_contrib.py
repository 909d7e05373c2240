"""Sloth's contrib SLO plugins (``sloth.dev/contrib/*/v1``), written anew in Python: labels on
the info metric, labels removed, group intervals, an error-budget-exhausted alert and
denominator-corrected SLI rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.gofmt import go_float
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._sloth_plugin_config import (
    BuiltinSpec,
    PluginConfigError,
    get_bool,
    get_duration_ms,
    get_float,
    get_labels,
    get_mapping,
    get_str,
    get_strs,
)
from sloguard.slo._sloth_rules import (
    SlothRequest,
    label_filter,
    optimized_period_expr,
    ratio_metric,
    render_window,
    sli_labels,
)
from sloguard.slo.model import EventsSLI
from sloguard.slo.sloth_plugins import SlothRules

INFO_METRIC = "sloth_slo_info"


@dataclass(frozen=True, slots=True)
class InfoLabels:
    """``sloth.dev/contrib/info_labels/v1``: merges ``labels`` into the first metadata
    recording named ``metricName`` (``sloth_slo_info``)."""

    labels: Mapping[str, str]
    metric: str = INFO_METRIC

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        meta = list(rules.meta)
        for i, r in enumerate(meta):
            if r.get("record") == self.metric:
                meta[i] = {**r, "labels": {**(r.get("labels") or {}), **self.labels}}
                break
        return replace(rules, meta=tuple(meta))


def _info_labels(cfg: Mapping[str, Any]) -> InfoLabels:
    labels = get_labels(cfg, "labels")
    if not labels:
        raise PluginConfigError("labels", "at least one label is required")
    return InfoLabels(labels, get_str(cfg, "metricName") or INFO_METRIC)


@dataclass(frozen=True, slots=True)
class RemoveLabels:
    """``sloth.dev/contrib/remove_labels/v1``: keeps only the SLO id labels (and ``sloth_window``
    on SLI recordings) plus ``preserveLabels`` on SLI and metadata recordings, except on
    ``sloth_slo_info`` and the ``skipMetrics``."""

    preserve: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()

    def _strip(self, rs: tuple[dict[str, Any], ...], keep: set[str]) -> tuple[dict[str, Any], ...]:
        return tuple(r if r.get("record") in self.skip or r.get("record") == INFO_METRIC else
                     {**r, "labels": {k: v for k, v in (r.get("labels") or {}).items() if k in keep}}
                     for r in rs)

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        keep = set(req.ids) | self.preserve
        return replace(rules, sli=self._strip(rules.sli, keep | {"sloth_window"}), meta=self._strip(rules.meta, keep))


@dataclass(frozen=True, slots=True)
class RuleIntervals:
    """``sloth.dev/contrib/rule_intervals/v1``: the evaluation interval of the SLI, metadata
    and alert groups (``interval.default``, or ``sliError``/``metadata``/``alert``)."""

    default_ms: int
    sli_ms: int = 0
    meta_ms: int = 0
    alert_ms: int = 0

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        return replace(rules, sli_interval_ms=self.sli_ms or self.default_ms,
                       meta_interval_ms=self.meta_ms or self.default_ms, alert_interval_ms=self.alert_ms or self.default_ms)


def _rule_intervals(cfg: Mapping[str, Any]) -> RuleIntervals:
    iv = get_mapping(cfg, "interval")
    for k in iv:
        if k not in ("default", "sliError", "metadata", "alert"):
            raise PluginConfigError(f"interval.{k}", "is not one of default, sliError, metadata, alert")
    default = get_duration_ms(iv, "default", "interval")
    if default <= 0:
        raise PluginConfigError("interval.default", "is required (a duration such as \"1m\"): at least the default "
                                "interval must be set")
    return RuleIntervals(default, *(get_duration_ms(iv, k, "interval") for k in ("sliError", "metadata", "alert")))


@dataclass(frozen=True, slots=True)
class ErrorBudgetExhaustedAlert:
    """``sloth.dev/contrib/error_budget_exhausted_alert/v1``: adds an alert firing when
    ``slo:period_error_budget_remaining:ratio`` is at or below ``threshold`` for ``for``."""

    threshold: float = 0.0
    for_ms: int = 300_000
    name: str = "ErrorBudgetExhausted"
    alert_labels: Mapping[str, str] | None = None
    selector: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        selector = {**req.ids, **req.labels, **(self.selector or {})}
        alert = {"alert": self.name,
                 "expr": f"slo:period_error_budget_remaining:ratio{label_filter(selector)} <= {go_float(self.threshold)}",
                 "for": format_duration_ms(self.for_ms), "labels": dict(self.alert_labels or {}),
                 "annotations": dict(self.annotations or {})}
        return replace(rules, alerts=(*rules.alerts, alert))


def _budget_alert(cfg: Mapping[str, Any]) -> ErrorBudgetExhaustedAlert:
    return ErrorBudgetExhaustedAlert(get_float(cfg, "threshold"), get_duration_ms(cfg, "for") or 300_000,
                                     get_str(cfg, "alert_name") or "ErrorBudgetExhausted", get_labels(cfg, "alert_labels"),
                                     get_labels(cfg, "selector_labels"), get_labels(cfg, "annotations"))


NUMERATOR_CORRECTION = "slo:numerator_correction:ratio"


@dataclass(frozen=True, slots=True)
class DenominatorCorrectedRules:
    """``sloth.dev/contrib/denominator_corrected_rules/v1``: replaces the SLI recordings by ones
    whose errors are weighted by the window's share of the period's traffic
    (``slo:numerator_correction:ratio<W>``, added to the metadata recordings); events SLIs only."""

    optimized: bool = True

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        sli = req.slo.sli
        if not isinstance(sli, EventsSLI):
            raise SpecError([Problem(req.slo.source, f"SLO {req.slo.name!r}", "Sloth SLO plugin "
                                     f"{DENOMINATOR_CORRECTED!r} needs an events SLI (error_query and total_query)")])
        period = req.windows.period_ms
        slo = req.slo
        out, corrections = [], []
        for w in [*req.windows.durations(), period]:
            err, total = render_window(sli.error_query, w, slo), render_window(sli.total_query, w, slo)
            if w == period:
                expr = optimized_period_expr(req) if self.optimized else f"({err})\n/\n({total})\n"
            else:
                expr = f"(\n{NUMERATOR_CORRECTION}{format_duration_ms(w)}{req.filter}\n* on()\n{err}\n)\n/\n({total})\n"
                corrections.append({"record": f"{NUMERATOR_CORRECTION}{format_duration_ms(w)}",
                                    "expr": f"({total})/({render_window(sli.total_query, period, slo)})",
                                    "labels": {**req.ids, **req.labels}})
            out.append({"record": ratio_metric(w), "expr": expr, "labels": sli_labels(req, w)})
        return replace(rules, sli=tuple(out), meta=(*rules.meta, *corrections))


DENOMINATOR_CORRECTED = "sloth.dev/contrib/denominator_corrected_rules/v1"

SPECS = (
    BuiltinSpec("sloth.dev/contrib/info_labels/v1", frozenset({"labels", "metricName"}), _info_labels,
                frozenset({"labels"})),
    BuiltinSpec("sloth.dev/contrib/remove_labels/v1", frozenset({"preserveLabels", "skipMetrics"}),
                lambda cfg: RemoveLabels(frozenset(get_strs(cfg, "preserveLabels")), frozenset(get_strs(cfg, "skipMetrics")))),
    BuiltinSpec("sloth.dev/contrib/rule_intervals/v1", frozenset({"interval"}), _rule_intervals),
    BuiltinSpec("sloth.dev/contrib/error_budget_exhausted_alert/v1",
                frozenset({"threshold", "for", "annotations", "alert_name", "alert_labels", "selector_labels"}), _budget_alert,
                frozenset({"alert_labels", "selector_labels"})),
    BuiltinSpec(DENOMINATOR_CORRECTED, frozenset({"disableOptimized"}),
                lambda cfg: DenominatorCorrectedRules(not get_bool(cfg, "disableOptimized"))),
)
