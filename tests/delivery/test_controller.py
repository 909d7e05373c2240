"""The pure controller: canary steps over simulated time, analyses deciding, aborts that set
the canary's weight to 0 first, holds for a person, retry, blue-green."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sloguard.delivery._steps import (
    BACKGROUND,
    AnalysisStep,
    BlueGreen,
    Pause,
    Plan,
    SetHeaderRoute,
    SetWeight,
    analysis_key,
)
from sloguard.delivery.analysis import MeasurementPhase
from sloguard.delivery.controller import (
    ControllerError,
    Decision,
    EmitEvent,
    Inputs,
    RemoveManagedRoutesAction,
    RolloutPhase,
    RolloutState,
    SetHeaderRouteAction,
    SetWeightAction,
    StartAnalysis,
    abort,
    new_state,
    pause,
    promote,
    reconcile,
    resume,
    retry,
    state_from_dict,
    state_to_dict,
)
from sloguard.delivery.routers import HeaderRoute, RouteMatch
from tests.delivery._rollout import T0, M, S, metric, outcome

P = RolloutPhase
MP = MeasurementPhase
CHECK = AnalysisStep("check", (metric(),))


def _plan(*steps: object, background: AnalysisStep | None = None) -> Plan:
    return Plan("checkout-v2", "checkout", tuple(steps), background)  # type: ignore[arg-type]


def _weights(d: Decision) -> list[int]:
    return [a.weight for a in d.actions if isinstance(a, SetWeightAction)]


def _types(d: Decision) -> list[str]:
    return [a.type for a in d.actions if isinstance(a, EmitEvent)]


class Sim:
    """Reconciles a plan at successive times, keeping every traffic weight it was asked for."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.state = plan, new_state(plan.name, T0)
        self.weights: list[int] = []
        self.last = Decision(self.state)

    def phase(self) -> RolloutPhase:
        return self.state.phase

    def at(self, t: int, inputs: Inputs | None = None) -> Decision:
        self.last = reconcile(self.plan, self.state, T0 + t, inputs or Inputs())
        self.state = self.last.state
        self.weights += _weights(self.last)
        return self.last


def test_canary_weights_follow_the_steps_over_simulated_time_and_wait_to_be_promoted() -> None:
    sim = Sim(_plan(SetWeight(20), Pause(60 * S), SetWeight(50), Pause(None), SetWeight(80)))
    assert _types(sim.at(0)) == ["RolloutStarted", "RolloutStepCompleted"]
    assert sim.weights == [20] and sim.phase() is P.PROGRESSING
    sim.at(1 * S)
    assert sim.phase() is P.PAUSED and sim.state.pause_started_ms == T0 + S
    sim.at(60 * S)
    assert sim.weights == [20], "the timed pause has not elapsed yet"
    sim.at(61 * S)
    assert sim.weights == [20, 50]
    for t in (62 * S, 10 * M, 600 * M):
        sim.at(t)
    assert sim.weights == [20, 50] and sim.phase() is P.PAUSED, "an indefinite pause waits for a person"
    sim.state = promote(sim.state)
    sim.at(601 * M)
    assert sim.weights == [20, 50, 80] and sim.state.promotion is None
    sim.at(602 * M)
    assert sim.weights == [20, 50, 80, 100] and sim.phase() is P.HEALTHY
    assert "RolloutPromoted" in _types(sim.last)
    assert reconcile(sim.plan, sim.state, T0 + 700 * M).actions == (), "a finished rollout does nothing"


def test_a_failed_step_analysis_aborts_with_weight_zero_first_then_routes_removed() -> None:
    route = HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),))
    plan = _plan(SetWeight(10), SetHeaderRoute(route), CHECK, SetWeight(50))
    sim = Sim(plan)
    sim.at(0)
    d = sim.at(S)
    assert d.traffic == (SetHeaderRouteAction(route),) and sim.state.header_routes == ("beta",)
    d = sim.at(2 * S)
    key = analysis_key(2, CHECK)
    assert StartAnalysis(key) in d.actions and sim.phase() is P.PROGRESSING
    sim.state = outcome(plan, sim.state, key, MP.FAILED, T0 + 3 * S)
    d = sim.at(3 * S)
    assert d.traffic == (SetWeightAction(0), RemoveManagedRoutesAction())
    assert d.actions.index(SetWeightAction(0)) == 0, "weight 0 comes before anything else"
    assert sim.phase() is P.DEGRADED and sim.state.canary_weight == 0 and sim.state.header_routes == ()
    assert "check" in sim.state.abort_reason and "Failed" in sim.state.abort_reason
    aborted = [a for a in d.actions if isinstance(a, EmitEvent) and a.type == "RolloutAborted"]
    assert aborted and aborted[0].reason == "AnalysisFailed" and aborted[0].severity.value == "critical"
    assert 50 not in sim.weights


def test_an_analysis_ending_in_error_aborts_too() -> None:
    plan = _plan(SetWeight(10), CHECK, SetWeight(50))
    sim = Sim(plan)
    sim.at(0)
    sim.at(S)
    sim.state = outcome(plan, sim.state, analysis_key(1, CHECK), MP.ERROR, T0 + 2 * S)
    sim.at(2 * S)
    assert sim.phase() is P.DEGRADED and sim.weights == [10, 0]


def test_an_inconclusive_analysis_pauses_for_a_person_who_may_resume() -> None:
    plan = _plan(SetWeight(10), CHECK, SetWeight(50))
    sim = Sim(plan)
    sim.at(0)
    sim.at(S)
    key = analysis_key(1, CHECK)
    sim.state = outcome(plan, sim.state, key, MP.INCONCLUSIVE, T0 + 2 * S)
    d = sim.at(2 * S)
    assert sim.phase() is P.PAUSED and "inconclusive" in sim.state.hold
    assert _types(d) == ["RolloutPaused"] and d.traffic == ()
    for t in (3 * S, 60 * M):
        sim.at(t)
    assert sim.weights == [10] and sim.phase() is P.PAUSED
    sim.state = resume(sim.state)
    assert key in sim.state.accepted
    sim.at(61 * M)
    assert sim.weights == [10, 50] and sim.state.hold == ""


def test_a_background_analysis_failure_aborts_at_any_step() -> None:
    plan = _plan(SetWeight(10), Pause(None), CHECK, SetWeight(90), background=AnalysisStep("bg", (metric("bg"),)))
    sim = Sim(plan)
    d = sim.at(0)
    assert StartAnalysis(BACKGROUND) in d.actions
    sim.at(S)
    sim.state = promote(sim.state)
    sim.at(2 * S)
    sim.at(3 * S)  # the step analysis is running now
    step_key = analysis_key(2, CHECK)
    assert sim.state.analyses[step_key]["phase"] == "Running"
    sim.state = outcome(plan, sim.state, BACKGROUND, MP.FAILED, T0 + 4 * S)
    d = sim.at(4 * S)
    assert d.traffic[0] == SetWeightAction(0) and sim.phase() is P.DEGRADED
    assert "background" in sim.state.abort_reason
    assert sim.state.analyses[step_key]["phase"] != "Running", "the running step analysis is terminated"


def test_a_person_can_abort_and_retry_which_starts_again_from_the_first_step() -> None:
    sim = Sim(_plan(SetWeight(20), Pause(None), SetWeight(60)))
    sim.at(0)
    sim.at(S)
    sim.state = abort(sim.state, "Looks wrong on the dashboard.")
    d = sim.at(2 * S)
    assert d.traffic[0] == SetWeightAction(0) and sim.phase() is P.DEGRADED
    assert [a.reason for a in d.events] == ["AbortedByPerson"]
    with pytest.raises(ControllerError, match="cannot promote"):
        promote(sim.state)
    sim.state = retry(sim.state)
    assert sim.phase() is P.PENDING and sim.state.step_index == 0
    sim.at(3 * S)
    assert sim.weights == [20, 0, 20]
    with pytest.raises(ControllerError, match="only an aborted"):
        retry(sim.state)


def test_a_firing_page_alert_aborts_a_running_rollout() -> None:
    sim = Sim(_plan(SetWeight(20), Pause(None)))
    sim.at(0)
    d = sim.at(S, Inputs(page_alert="'CheckoutErrorBudgetBurn'"))
    assert d.traffic[0] == SetWeightAction(0)
    assert sim.phase() is P.DEGRADED and "CheckoutErrorBudgetBurn" in sim.state.abort_reason
    assert [e.reason for e in d.events] == ["PageAlertFiring"]


def test_a_person_pause_holds_even_a_progressing_rollout_and_full_promotion_ends_it() -> None:
    sim = Sim(_plan(SetWeight(20), SetWeight(40), Pause(None), SetWeight(60)))
    sim.at(0)
    sim.state = pause(sim.state, "lunch")
    sim.at(S)
    assert sim.weights == [20] and sim.phase() is P.PAUSED
    sim.state = resume(sim.state)
    sim.at(2 * S)
    assert sim.weights == [20, 40]
    sim.state = promote(sim.state, full=True)
    sim.at(3 * S)
    assert sim.weights == [20, 40, 100] and sim.phase() is P.HEALTHY


def _bg_plan(auto: int | None) -> Plan:
    bg = BlueGreen(AnalysisStep("pre", (metric("pre"),)), AnalysisStep("post", (metric("post"),)), auto, 30 * S)
    return Plan("checkout-bg", "checkout", blue_green=bg)


def test_blue_green_with_a_failing_post_promotion_analysis_switches_back() -> None:
    plan = _bg_plan(auto=0)
    sim = Sim(plan)
    sim.at(0)
    pre = analysis_key(0, plan.effective_steps()[0])  # type: ignore[arg-type]
    assert sim.weights == [] and pre in sim.state.analyses, "the preview is analysed before any traffic"
    sim.state = outcome(plan, sim.state, pre, MP.SUCCESSFUL, T0 + S)
    sim.at(S)
    assert sim.weights == [100], "promoted at once: traffic switched to the new version"
    sim.at(2 * S)
    post = analysis_key(2, plan.effective_steps()[2])  # type: ignore[arg-type]
    sim.state = outcome(plan, sim.state, post, MP.FAILED, T0 + 3 * S)
    d = sim.at(3 * S)
    assert sim.weights == [100, 0] and d.traffic[0] == SetWeightAction(0)
    assert sim.phase() is P.DEGRADED and "switched back" in sim.state.message


def test_blue_green_auto_promotion_and_scale_down_delay() -> None:
    plan = _bg_plan(auto=120 * S)
    sim = Sim(plan)
    sim.at(0)
    sim.state = outcome(plan, sim.state, analysis_key(0, plan.effective_steps()[0]), MP.SUCCESSFUL, T0)  # type: ignore[arg-type]
    sim.at(S)
    assert sim.phase() is P.PAUSED and sim.weights == []
    sim.at(100 * S)
    assert sim.weights == []
    sim.at(121 * S)
    assert sim.weights == [100]
    sim.at(122 * S)
    post = analysis_key(3, plan.effective_steps()[3])  # type: ignore[arg-type]
    sim.state = outcome(plan, sim.state, post, MP.SUCCESSFUL, T0 + 123 * S)
    sim.at(123 * S)
    assert sim.phase() is P.PROGRESSING, "waiting out the scale-down delay"
    sim.at(152 * S)
    assert sim.phase() is P.PROGRESSING
    sim.at(153 * S)
    assert sim.phase() is P.HEALTHY and sim.weights[-1] == 100


def test_state_survives_a_json_round_trip_and_damage_is_named() -> None:
    plan = _plan(SetWeight(20), CHECK, background=AnalysisStep("bg", (metric("bg"),)))
    sim = Sim(plan)
    sim.at(0)
    sim.at(S)
    sim.state = pause(sim.state, "why not")
    data = json.loads(json.dumps(state_to_dict(sim.state)))
    assert state_from_dict(data, "test") == sim.state
    with pytest.raises(ControllerError, match="in the store: the stored rollout state is damaged"):
        state_from_dict({**data, "phase": "Sideways"}, "in the store")
    with pytest.raises(ControllerError, match="version 9"):
        state_from_dict({**data, "version": 9}, "in the store")
    assert isinstance(sim.state, RolloutState)


def test_an_inconclusive_background_analysis_holds_until_a_person_accepts_it() -> None:
    plan = _plan(SetWeight(10), SetWeight(30), SetWeight(50), background=AnalysisStep("bg", (metric("bg"),)))
    sim = Sim(plan)
    sim.at(0)
    sim.state = outcome(plan, sim.state, BACKGROUND, MP.INCONCLUSIVE, T0 + S)
    d = sim.at(S)
    assert sim.phase() is P.PAUSED and "background analysis was inconclusive" in sim.state.hold
    assert [e.reason for e in d.events] == ["AnalysisInconclusive"] and sim.weights == [10]
    sim.at(2 * S)
    assert sim.weights == [10]
    sim.state = resume(sim.state)
    sim.at(3 * S)
    sim.at(4 * S)
    assert sim.weights == [10, 30, 50]


def test_a_background_analysis_with_a_starting_step_starts_when_the_walk_reaches_it() -> None:
    plan = replace(_plan(SetWeight(10), Pause(None), SetWeight(50), background=AnalysisStep("bg", (metric("bg"),))),
                    background_start=2)
    sim = Sim(plan)
    d = sim.at(0)
    assert StartAnalysis(BACKGROUND) not in d.actions and BACKGROUND not in sim.state.analyses
    sim.at(S)
    assert sim.phase() is P.PAUSED and BACKGROUND not in sim.state.analyses
    sim.state = promote(sim.state)
    d = sim.at(2 * S)
    assert StartAnalysis(BACKGROUND) in d.actions and sim.state.analyses[BACKGROUND]["started_ms"] == T0 + 2 * S
    assert sim.weights == [10, 50]
    sim.state = outcome(plan, sim.state, BACKGROUND, MP.FAILED, T0 + 3 * S)
    assert sim.at(3 * S).traffic[0] == SetWeightAction(0) and sim.phase() is P.DEGRADED
