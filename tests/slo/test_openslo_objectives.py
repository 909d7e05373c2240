"""OpenSLO SLOs with several objectives (the same ratioMetric SLI held to several targets,
as OpenSLO's own timeslices example does): one SLO per objective, named as Sloth names
them; what OpenSLO forbids or sloguard cannot do is refused by key path."""

from __future__ import annotations

import pytest

from sloguard.slo.loader import load_text
from sloguard.slo.model import BudgetingMethod, RatioSLI

DOC = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: web-availability
spec:
  service: web
  indicator:
    metadata: {name: web-requests}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))'}}
        total:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_requests_total[{{.window}}]))'}}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: %(method)s
  objectives:
%(objectives)s
"""
TWO = """\
    - displayName: Internal objective
      target: 0.995
      timeSliceTarget: 0.99
      timeSliceWindow: 1m
    - displayName: SLA
      targetPercent: 99
      timeSliceTarget: 0.95
      timeSliceWindow: 5m
"""


def _load(objectives: str, method: str = "Occurrences", indicator: str | None = None) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    text = DOC % {"objectives": objectives, "method": method}
    if indicator is not None:
        text = text.replace(text[text.index("  indicator:"):text.index("  timeWindow:")], indicator)
    slos, problems = load_text(text, "slo.yml")
    return slos, [str(p) for p in problems]


def test_each_objective_is_an_slo_over_the_same_sli() -> None:
    slos, problems = _load(TWO)
    assert problems == []
    internal, sla = slos
    assert (internal.name, sla.name) == ("web-availability-0", "web-availability-1")
    assert (internal.objective, sla.objective) == (pytest.approx(0.995), pytest.approx(0.99))
    assert internal.sli == sla.sli and isinstance(internal.sli, RatioSLI)
    assert internal.service == sla.service == "web"
    assert internal.period == sla.period and internal.period.nominal_ms == 28 * 86_400_000
    assert internal.budgeting is BudgetingMethod.OCCURRENCES


def test_timeslice_settings_are_per_objective() -> None:
    slos, problems = _load(TWO, method="Timeslices")
    assert problems == []
    internal, sla = slos
    assert (internal.timeslice_target, internal.timeslice_ms) == (0.99, 60_000)
    assert (sla.timeslice_target, sla.timeslice_ms) == (0.95, 300_000)


def test_one_objective_keeps_the_slo_name() -> None:
    slos, problems = _load("    - target: 0.999\n")
    assert problems == [] and [s.name for s in slos] == ["web-availability"]


def test_a_bad_objective_is_named_and_the_good_one_survives() -> None:
    slos, problems = _load("    - target: 0.999\n    - target: 1.5\n")
    assert [s.name for s in slos] == ["web-availability-0"]
    assert len(problems) == 1 and "spec.objectives[1].target" in problems[0]


def test_no_objective_is_refused() -> None:
    slos, problems = _load("    []\n")
    assert slos == [] and any("spec.objectives" in p and "at least one objective" in p for p in problems)


def test_a_threshold_metric_has_one_objective() -> None:
    threshold = """\
  indicator:
    metadata: {name: latency}
    spec:
      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: 'histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))'}}
"""
    two = "    - {op: lte, value: 0.3, target: 0.9}\n    - {op: lte, value: 1, target: 0.99}\n"
    slos, problems = _load(two, indicator=threshold)
    assert slos == [] and any("a thresholdMetric SLI has exactly one objective" in p for p in problems)
    slos, problems = _load("    - {op: lte, value: 0.3, target: 0.9}\n", indicator=threshold)
    assert problems == [] and len(slos) == 1


def test_composite_objectives_are_refused_by_path() -> None:
    slos, problems = _load("    - target: 0.99\n      indicatorRef: other\n")
    assert slos == []
    assert any("spec.objectives[0].indicatorRef" in p and "composite SLOs" in p for p in problems)


def test_a_shared_problem_is_reported_once() -> None:
    slos, problems = _load(TWO, method="RatioTimeslices")
    assert slos == []
    assert sum("unsupported budgeting method 'RatioTimeslices'" in p for p in problems) == 1
