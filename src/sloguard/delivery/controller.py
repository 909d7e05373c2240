"""The rollout controller: ``reconcile(plan, state, now_ms, inputs) -> Decision``, pure.

Each call walks the plan's steps from ``state.step_index`` (STYLE item 7): a step that
changes traffic (``SetWeight``, ``SetHeaderRoute``, ``SetMirrorRoute``) ends the call, so
each traffic change is committed and applied on its own; a pause, a wait or a running
analysis ends it too. The runner commits the returned state *before* it performs the
returned traffic actions, so a crash never leaves traffic half-moved.

* An analysis (step or background) ending Failed or Error aborts the rollout; ending
  Inconclusive holds it (Paused) for a person, who resumes (accepting it) or aborts.
* An abort (analysis, a firing page alert of the service from ``Inputs``, or a person)
  yields ``SetWeight(0)`` first, then the removal of the managed routes, and the phase
  Degraded; running analyses are terminated.
* The last step done, the canary takes 100% and the phase is Healthy (promoted).
* Blue-green is the same walk over ``Plan.effective_steps()``: pre-promotion analysis,
  a pause until promoted (or ``auto_promotion_ms``), the switch ``SetWeight(100)``,
  post-promotion analysis (a failure aborts, which switches traffic back), a wait for
  ``scale_down_delay_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sloguard.delivery._controller_actions import (
    Action,
    Decision,
    EmitEvent,
    RemoveManagedRoutesAction,
    SetHeaderRouteAction,
    SetMirrorRouteAction,
    SetWeightAction,
    Severity,
    StartAnalysis,
    TrafficAction,
)
from sloguard.delivery._controller_state import (
    ControllerError,
    Promotion,
    RolloutPhase,
    RolloutState,
    abort,
    new_state,
    pause,
    promote,
    resume,
    retry,
    state_from_dict,
    state_to_dict,
)
from sloguard.delivery._steps import (
    BACKGROUND,
    AnalysisStep,
    Pause,
    Plan,
    SetHeaderRoute,
    SetMirrorRoute,
    SetWeight,
    Step,
    Wait,
    analysis_key,
    analysis_metrics,
)
from sloguard.delivery.analysis import run_from_state, run_to_state, start_run, terminate

__all__ = [
    "Action", "ControllerError", "Decision", "EmitEvent", "Inputs", "Promotion", "RemoveManagedRoutesAction",
    "RolloutPhase", "RolloutState", "SetHeaderRouteAction", "SetMirrorRouteAction", "SetWeightAction",
    "Severity", "StartAnalysis", "TrafficAction", "abort", "new_state", "pause", "promote", "reconcile",
    "resume", "retry", "state_from_dict", "state_to_dict",
]

P = RolloutPhase


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the world says at this reconcile: ``page_alert`` names a firing page-severity
    SLO alert of the rollout's service (empty: none), which aborts the rollout."""

    page_alert: str = ""


_Walk = tuple[RolloutState, list[Action], bool]  # the state, actions so far, whether to go on


def reconcile(plan: Plan, state: RolloutState, now_ms: int, inputs: Inputs = Inputs()) -> Decision:
    """The rollout's next state and the ordered actions that bring the world to it."""
    if state.phase.finished:
        return Decision(state)
    s = replace(state, updated_ms=now_ms)
    if s.abort_requested:
        return _abort(plan, s, now_ms, s.abort_reason, "AbortedByPerson")
    if inputs.page_alert:
        why = f"The page-severity alert {inputs.page_alert} of the service {plan.service!r} is firing."
        return _abort(plan, s, now_ms, why, "PageAlertFiring")
    actions: list[Action] = []
    if s.phase is P.PENDING:
        s, actions = _start(plan, s, now_ms)
    verdict = _background(plan, s, now_ms)
    if verdict is not None:
        return _merge(actions, verdict)
    if s.hold and s.promotion is Promotion.STEP:
        s = replace(resume(s), promotion=None)
    if s.hold:
        return Decision(replace(s, phase=P.PAUSED), tuple(actions))
    return _walk(plan, s, now_ms, actions)


def _merge(before: list[Action], d: Decision) -> Decision:
    return Decision(d.state, (*before, *d.actions))


def _start(plan: Plan, s: RolloutState, now: int) -> tuple[RolloutState, list[Action]]:
    s = replace(s, phase=P.PROGRESSING, message="Started.")
    actions: list[Action] = [EmitEvent("RolloutStarted", "Started", f"The rollout {plan.name!r} of {plan.service!r} started.")]
    return _start_background(plan, s, now, actions)


def _start_background(plan: Plan, s: RolloutState, now: int, actions: list[Action]) -> tuple[RolloutState, list[Action]]:
    """The background analysis started once the walk reaches ``plan.background_start``."""
    if plan.background is None or BACKGROUND in s.analyses or s.step_index < plan.background_start:
        return s, actions
    run = start_run(BACKGROUND, plan.background.metrics, now)
    s = replace(s, analyses={**s.analyses, BACKGROUND: run_to_state(run)})
    return s, [*actions, StartAnalysis(BACKGROUND)]


def _background(plan: Plan, s: RolloutState, now: int) -> Decision | None:
    run = s.analyses.get(BACKGROUND)
    if run is None:
        return None
    phase, msg = str(run["phase"]), str(run.get("message", ""))
    if phase in ("Failed", "Error"):
        return _abort(plan, s, now, f"The background analysis ended {phase}: {msg}", f"Analysis{phase}")
    if phase == "Inconclusive" and BACKGROUND not in s.accepted and not s.hold:
        return _hold(s, f"The background analysis was inconclusive: {msg}")
    return None


def _walk(plan: Plan, s: RolloutState, now: int, actions: list[Action]) -> Decision:
    steps = plan.effective_steps()
    if s.promotion is Promotion.FULL:
        s = replace(s, step_index=len(steps), promotion=None, pause_started_ms=None)
    while True:
        if s.step_index >= len(steps):
            return _merge(actions, _complete(plan, s, now))
        if s.step_index < 0:
            raise ControllerError(f"The rollout {s.name!r} is at step {s.step_index}, outside its {len(steps)} steps.")
        s, actions = _start_background(plan, s, now, actions)
        s, more, go_on = _step(plan, s, steps[s.step_index], now)
        actions += more
        if not go_on:
            return Decision(s, tuple(actions))


def _step(plan: Plan, s: RolloutState, step: Step, now: int) -> _Walk:
    match step:
        case SetWeight(weight=w):
            return _done(replace(s, canary_weight=w), f"The canary takes {w}% of the traffic.", SetWeightAction(w))
        case SetHeaderRoute(route=r):
            names = _names(s.header_routes, r.name, bool(r.matches))
            return _done(replace(s, header_routes=names), f"Header route {r.name!r} set.", SetHeaderRouteAction(r))
        case SetMirrorRoute(route=r):
            names = _names(s.mirror_routes, r.name, r.percentage > 0)
            return _done(replace(s, mirror_routes=names), f"Mirror route {r.name!r} set.", SetMirrorRouteAction(r))
        case Pause(duration_ms=d):
            return _pause(s, d, now, P.PAUSED)
        case Wait(duration_ms=d):
            return _pause(s, d, now, P.PROGRESSING)
        case AnalysisStep():
            return _analysis(plan, s, step, now)
    raise ControllerError(f"The rollout {s.name!r} has a step of unknown kind {type(step).__name__}.")


def _names(names: tuple[str, ...], name: str, keep: bool) -> tuple[str, ...]:
    rest = tuple(n for n in names if n != name)
    return rest + (name,) if keep else rest


def _done(s: RolloutState, what: str, traffic: TrafficAction | None = None) -> _Walk:
    """The current step done: ``traffic`` (if any) ends this reconcile, else the walk goes on."""
    n = s.step_index + 1
    s = replace(s, step_index=n, phase=P.PROGRESSING, pause_started_ms=None, message=f"Step {n}: {what}")
    event = EmitEvent("RolloutStepCompleted", "StepCompleted", f"Step {n} done: {what}")
    acts: list[Action] = [traffic, event] if traffic is not None else [event]
    return s, acts, traffic is None


def _pause(s: RolloutState, duration: int | None, now: int, phase: RolloutPhase) -> _Walk:
    if s.promotion is Promotion.STEP:
        return _done(replace(s, promotion=None), "promoted past the pause.")
    if s.pause_started_ms is None:
        until = "until promoted" if duration is None else f"for {duration / 1000:g} s"
        s = replace(s, pause_started_ms=now, phase=phase, message=f"Step {s.step_index + 1}: waiting {until}.")
        if phase is P.PAUSED:
            return s, [EmitEvent("RolloutPaused", "PauseStep", s.message)], False
        return s, [], False
    if duration is not None and now >= s.pause_started_ms + duration:
        return _done(s, f"waited {duration / 1000:g} s.")
    return replace(s, phase=phase), [], False


def _analysis(plan: Plan, s: RolloutState, step: AnalysisStep, now: int) -> _Walk:
    key = analysis_key(s.step_index, step)
    run = s.analyses.get(key)
    if run is None:
        started = run_to_state(start_run(key, step.metrics, now))
        msg = f"Step {s.step_index + 1}: analysis {step.name!r} running."
        return replace(s, analyses={**s.analyses, key: started}, message=msg), [StartAnalysis(key)], False
    phase, why = str(run["phase"]), str(run.get("message", ""))
    if phase == "Successful" or (phase == "Inconclusive" and key in s.accepted):
        return _done(s, f"analysis {step.name!r} ended {phase}.")
    if phase in ("Failed", "Error"):
        d = _abort(plan, s, now, f"The analysis {step.name!r} ended {phase}: {why}", f"Analysis{phase}")
        return d.state, list(d.actions), False
    if phase == "Inconclusive":
        d = _hold(s, f"The analysis {step.name!r} was inconclusive: {why}")
        return d.state, list(d.actions), False
    return s, [], False


def _hold(s: RolloutState, why: str) -> Decision:
    s = replace(s, phase=P.PAUSED, hold=why, message=f"{why} A person must resume or abort the rollout.")
    return Decision(s, (EmitEvent("RolloutPaused", "AnalysisInconclusive", s.message, Severity.WARNING),))


def _terminate_all(plan: Plan, s: RolloutState, now: int) -> dict[str, dict[str, object]]:
    out = {}
    for key, data in s.analyses.items():
        if data.get("phase") in ("Pending", "Running"):
            data = run_to_state(terminate(run_from_state(data, analysis_metrics(plan, key)), now))
        out[key] = data
    return out


def _abort(plan: Plan, s: RolloutState, now: int, why: str, reason: str) -> Decision:
    back = " Traffic switched back to the previous version." if plan.blue_green and s.canary_weight else ""
    s = replace(
        s, phase=P.DEGRADED, canary_weight=0, header_routes=(), mirror_routes=(), analyses=_terminate_all(plan, s, now),
        pause_started_ms=None, hold="", promotion=None, abort_requested=False, abort_reason=why,
        message=f"Aborted: {why}{back}",
    )
    event = EmitEvent("RolloutAborted", reason, s.message, Severity.CRITICAL)
    return Decision(s, (SetWeightAction(0), RemoveManagedRoutesAction(), event))


def _complete(plan: Plan, s: RolloutState, now: int) -> Decision:
    s = replace(s, phase=P.HEALTHY, canary_weight=100, header_routes=(), mirror_routes=(),
                analyses=_terminate_all(plan, s, now), pause_started_ms=None, message="Promoted: the new version takes all traffic.")
    event = EmitEvent("RolloutPromoted", "Completed", f"The rollout {plan.name!r} of {plan.service!r} is complete.")
    return Decision(s, (SetWeightAction(100), RemoveManagedRoutesAction(), event))
