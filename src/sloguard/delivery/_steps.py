"""The typed plan a controller follows: canary steps, background analysis, blue-green fields.

This is the controller's own small model; the rollout spec reader (``delivery.spec``) is
mapped onto it. The traffic steps (``SetWeight``, ``SetHeaderRoute``, ``SetMirrorRoute``)
are the spec's own; pauses here carry milliseconds and analyses their resolved metrics. Steps are Argo Rollouts' ``spec.strategy.canary.steps`` (``setWeight``,
``pause``, ``analysis``, ``setHeaderRoute``, ``setMirrorRoute``); a blue-green strategy is
expanded into the same kind of steps by :meth:`Plan.effective_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sloguard.delivery._spec_model import SetHeaderRoute as SetHeaderRoute
from sloguard.delivery._spec_model import SetMirrorRoute as SetMirrorRoute
from sloguard.delivery._spec_model import SetWeight as SetWeight
from sloguard.delivery.analysis import Metric
from sloguard.delivery.routers import HeaderRoute, MirrorRoute


class PlanError(Exception):
    """A plan the controller cannot follow (a step out of range, an unknown analysis key)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``duration_ms``, or until a person promotes the rollout when None."""

    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait ``duration_ms`` while staying Progressing (blue-green's scale-down delay)."""

    duration_ms: int


@dataclass(frozen=True, slots=True)
class AnalysisStep:
    """Run an analysis of ``metrics`` (from a template and its args, opaque to the
    controller); the step ends when the run does. ``name`` appears in events and state."""

    name: str
    metrics: tuple[Metric, ...]


Step = SetWeight | Pause | Wait | AnalysisStep | SetHeaderRoute | SetMirrorRoute


@dataclass(frozen=True, slots=True)
class BlueGreen:
    """Argo's blue-green fields: the preview (new version, no live traffic) is analysed by
    ``pre_promotion``, then promoted after ``auto_promotion_ms`` (0: at once; None: when a
    person promotes), traffic switched to it, ``post_promotion`` analysed (a failure
    switches back) and the old version kept for ``scale_down_delay_ms``."""

    pre_promotion: AnalysisStep | None = None
    post_promotion: AnalysisStep | None = None
    auto_promotion_ms: int | None = 0
    scale_down_delay_ms: int = 30_000


@dataclass(frozen=True, slots=True)
class Plan:
    """What a rollout of ``service`` does: ordered canary ``steps`` with an optional
    ``background`` analysis across them from step index ``background_start`` on (Argo's
    ``startingStep``: 0 starts it with the rollout), or (when ``blue_green`` is set) Argo's
    blue-green strategy, whose steps are derived and ``steps`` ignored."""

    name: str
    service: str
    steps: tuple[Step, ...] = ()
    background: AnalysisStep | None = None
    blue_green: BlueGreen | None = None
    background_start: int = 0

    def effective_steps(self) -> tuple[Step, ...]:
        """The steps to follow; a blue-green strategy as steps (the switch is SetWeight(100))."""
        bg = self.blue_green
        if bg is None:
            return self.steps
        out: list[Step] = []
        if bg.pre_promotion is not None:
            out.append(bg.pre_promotion)
        if bg.auto_promotion_ms is None or bg.auto_promotion_ms > 0:
            out.append(Pause(bg.auto_promotion_ms))
        out.append(SetWeight(100))
        if bg.post_promotion is not None:
            out.append(bg.post_promotion)
        if bg.scale_down_delay_ms > 0:
            out.append(Wait(bg.scale_down_delay_ms))
        return tuple(out)

    def routes(self) -> tuple[tuple[str, HeaderRoute | MirrorRoute], ...]:
        """Every route a step names, as (kind, route), kind ``header`` or ``mirror``."""
        found: list[tuple[str, HeaderRoute | MirrorRoute]] = []
        for s in self.effective_steps():
            if isinstance(s, SetHeaderRoute):
                found.append(("header", s.route))
            elif isinstance(s, SetMirrorRoute):
                found.append(("mirror", s.route))
        return tuple(found)


BACKGROUND = "background"
"""The analysis key of a plan's background analysis."""


def analysis_key(index: int, step: AnalysisStep) -> str:
    """The key under which the run of the analysis step at ``index`` is kept in state."""
    return f"step-{index}-{step.name}"


def analysis_metrics(plan: Plan, key: str) -> tuple[Metric, ...]:
    """The metrics of the analysis kept under ``key``; PlanError for a key the plan lacks."""
    if key == BACKGROUND and plan.background is not None:
        return plan.background.metrics
    steps = plan.effective_steps()
    for i, s in enumerate(steps):
        if isinstance(s, AnalysisStep) and analysis_key(i, s) == key:
            return s.metrics
    raise PlanError(f"The rollout {plan.name!r} has no analysis {key!r} in its plan (was the plan changed?).")
