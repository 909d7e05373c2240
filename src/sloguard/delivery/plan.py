"""A rollout spec made into the controller's plan: ``plan_from_spec(spec, templates)``.

* canary steps map one to one: ``SetWeight``, ``SetHeaderRoute`` and ``SetMirrorRoute`` are
  the spec's own, ``Pause`` seconds become milliseconds, and an ``Analysis`` becomes an
  ``AnalysisStep`` whose metrics are those of each of its templates instantiated with the
  arguments given (several templates run together; their metric names must be distinct);
* ``strategy.analysis`` is the background analysis, started at its ``startingStep``; the
  statistical ``judges`` join it as judge metrics measured every ``judge_interval_ms``
  (first after one interval) until the rollout ends;
* blue-green: ``BlueGreen`` with its pre- and post-promotion analyses, automatic promotion
  (disabled: None, a person promotes; enabled: after ``autoPromotionSeconds``, at once
  when unset) and the scale-down delay.

A spec that cannot become a plan raises :class:`PlanBuildError`, a sentence naming the
rollout and the key path. ``load_bundle`` has already checked what it can; a plan is
built only from a valid spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sloguard.delivery._spec_check import analysis_paths
from sloguard.delivery._spec_model import (
    Analysis,
    AnalysisRef,
    BlueGreenStrategy,
    CanaryStrategy,
    JudgeMetric,
    JudgeQueries,
    RolloutSpec,
)
from sloguard.delivery._spec_model import Pause as SpecPause
from sloguard.delivery._spec_model import Step as SpecStep
from sloguard.delivery._steps import AnalysisStep, BlueGreen, Pause, Plan, Step
from sloguard.delivery.analysis import AnalysisError, Metric
from sloguard.delivery.analysis.judged import SEQUENTIAL, ArmQueries, Arms, JudgeConfig
from sloguard.delivery.analysis.template import AnalysisTemplate, TemplateError, instantiate
from sloguard.delivery.judges import InputKind, judge_by_name

__all__ = ["JUDGE_INTERVAL_MS", "PlanBuildError", "plan_from_spec"]

JUDGE_INTERVAL_MS = 30_000
"""How often the judges of ``strategy.canary.judges`` look (each look judges all the data
since the background analysis started)."""
_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_SEQUENTIAL_BASE = "exact"  # the counts judge named in a sequential judge metric's verdicts


class PlanBuildError(Exception):
    """A rollout spec that cannot become a plan; the message names the rollout and key path."""


def plan_from_spec(spec: RolloutSpec, templates: Mapping[str, AnalysisTemplate], *,
                   judge_interval_ms: int = JUDGE_INTERVAL_MS, embedded_prometheus: bool = False,
                   query_backends: frozenset[str] | None = None) -> Plan:
    """The controller's plan of ``spec``, its analyses instantiated from ``templates``
    (``query_backends``: the names a metric's ``sloguardQueryBackend`` may give)."""
    b = _Builder(spec, templates, embedded_prometheus, query_backends)
    s = spec.strategy
    if isinstance(s, BlueGreenStrategy):
        return Plan(spec.name, spec.service, blue_green=_blue_green(b, s))
    steps = tuple(_step(b, st, f"spec.strategy.canary.steps[{i}]") for i, st in enumerate(s.steps))
    interval_ms = s.judge_interval_s * 1000 if s.judge_interval_s else judge_interval_ms
    background = _background(b, s, interval_ms)
    start = s.analysis.starting_step if s.analysis is not None else 0
    if background is not None and not 0 <= start <= len(steps):
        raise PlanBuildError(f"The rollout {spec.name!r}: spec.strategy.canary.analysis.startingStep is {start}, "
                             f"outside its {len(steps)} steps.")
    return Plan(spec.name, spec.service, steps, background, background_start=start if background else 0)


class _Builder:
    """Instantiates a spec's analyses, naming the rollout and key path in every error."""

    def __init__(self, spec: RolloutSpec, templates: Mapping[str, AnalysisTemplate], embedded: bool,
                 backends: frozenset[str] | None = None) -> None:
        self.spec, self.templates, self.embedded, self.backends = spec, templates, embedded, backends
        self.paths = {id(ref): path for path, ref in analysis_paths(spec)}

    def fail(self, path: str, what: str) -> PlanBuildError:
        return PlanBuildError(f"The rollout {self.spec.name!r} ({self.spec.source}): {path}: {what}")

    def analysis(self, ref: AnalysisRef, extra: tuple[tuple[str, Metric], ...] = ()) -> AnalysisStep:
        """The analysis of ``ref``: every template's metrics (then ``extra``: (path, metric))."""
        path = self.paths.get(id(ref), "analysis")
        found: list[tuple[str, Metric]] = []
        for i, name in enumerate(ref.templates):
            where = f"{path}.templates[{i}]"
            found += [(f"{where} ({name})", m) for m in self._instantiate(name, ref, where)]
        found += list(extra)
        seen: dict[str, str] = {}
        for where, m in found:
            if m.name in seen:
                raise self.fail(path, f"two metrics are named {m.name!r} (from {seen[m.name]} and {where}); "
                                      "the metrics of an analysis need distinct names")
            seen[m.name] = where
        if not found:
            raise self.fail(path, "the analysis has no metric to measure")
        return AnalysisStep("+".join(ref.templates) or "judges", tuple(m for _, m in found))

    def _instantiate(self, name: str, ref: AnalysisRef, where: str) -> tuple[Metric, ...]:
        t = self.templates.get(name)
        if t is None:
            known = ", ".join(sorted(self.templates)) or "none"
            raise self.fail(f"{where}.templateName", f"no AnalysisTemplate named {name!r} was given (given: {known})")
        declared = {a.name for a in t.args}
        try:
            return instantiate(t, {k: v for k, v in ref.args if k in declared}, embedded_prometheus=self.embedded,
                               query_backends=self.backends)
        except TemplateError as e:
            said = "; ".join(f"{p.path}: {p.message}" for p in e.problems)
            raise self.fail(f"{where}.templateName", f"the template {name!r} ({t.source}) cannot be used: {said}") from None


def _step(b: _Builder, step: SpecStep, path: str) -> Step:
    if isinstance(step, SpecPause):
        return Pause(None if step.duration_s is None else step.duration_s * 1000)
    if isinstance(step, Analysis):
        return b.analysis(step.ref)
    return step


def _background(b: _Builder, s: CanaryStrategy, interval_ms: int) -> AnalysisStep | None:
    judges = tuple((f"spec.strategy.canary.judges[{i}] ({j.name})", judge_metric(b, j, i, interval_ms))
                   for i, j in enumerate(s.judges))
    if s.analysis is not None:
        return b.analysis(s.analysis, judges)
    if judges:
        return AnalysisStep("judges", tuple(m for _, m in judges))
    return None


def judge_metric(b: _Builder, j: JudgeMetric, index: int, interval_ms: int) -> Metric:
    """A judge of the spec as a judge metric of the background analysis: measured every
    ``interval_ms`` (first after one interval) until the rollout ends; one failed look
    fails it, an inconclusive one (insufficient data past the limit) holds the rollout."""
    path = f"spec.strategy.canary.judges[{index}]"
    if j.kind is InputKind.SAMPLES:
        raise b.fail(f"{path}.judge", f"the judge {j.judge!r} compares raw samples, which PromQL queries do not give; "
                                      "use a counts judge (proportions, exact, fisher, sequential) or tail")
    if interval_ms <= 0:
        raise b.fail(path, f"the judges' interval must be positive, not {interval_ms} ms")
    if j.judge == SEQUENTIAL:
        base, settings, method, method_settings = _SEQUENTIAL_BASE, judge_by_name(_SEQUENTIAL_BASE).settings(), SEQUENTIAL, j.settings
    else:
        base, settings, method, method_settings = j.judge, j.settings, None, None
    per_arm = (_arm(j.baseline, "baseline"), _arm(j.canary, "canary"))
    try:
        config = JudgeConfig(base, settings, method=method, method_settings=method_settings,
                             arms=Arms(fallback=None), per_arm=per_arm)
    except AnalysisError as e:
        raise b.fail(path, str(e)) from None
    return Metric(j.name, config, interval_ms=interval_ms, initial_delay_ms=interval_ms)


def _arm(q: JudgeQueries, side: str) -> ArmQueries:
    def fill(text: str | None) -> str:
        return _WINDOW.sub("$WINDOW", text or "")

    return ArmQueries(fill(q.errors), fill(q.total), fill(q.buckets), f"the {side}'s queries")


def _blue_green(b: _Builder, s: BlueGreenStrategy) -> BlueGreen:
    auto: int | None = None
    if s.auto_promotion_enabled:
        auto = (s.auto_promotion_seconds or 0) * 1000
    return BlueGreen(
        pre_promotion=b.analysis(s.pre_promotion) if s.pre_promotion is not None else None,
        post_promotion=b.analysis(s.post_promotion) if s.post_promotion is not None else None,
        auto_promotion_ms=auto, scale_down_delay_ms=s.scale_down_delay_seconds * 1000,
    )
