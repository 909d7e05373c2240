"""The runner: state committed before traffic moves, crash and resume without a double
move, router failures pausing with the reason, events stored and sent as alerts, the
error-budget policy."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sloguard.alerting.model import Alert
from sloguard.clock import ManualClock
from sloguard.delivery._steps import AnalysisStep, Pause, Plan, SetHeaderRoute, SetWeight
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.controller import ControllerError, RolloutPhase
from sloguard.delivery.policy import Force, PolicyError
from sloguard.delivery.routers import HeaderRoute, RouteMatch
from sloguard.delivery.runner import RolloutRunner
from sloguard.state import SqlStateStore, open_store
from tests.delivery._rollout import T0, Crash, FakeRouter, S, World, metric

P = RolloutPhase
R = TypeVar("R")
BETA = HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),))
PLAN = Plan("checkout-v2", "checkout", (SetWeight(20), SetHeaderRoute(BETA), SetWeight(40), Pause(None), SetWeight(70)))


def run(coro: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coro)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStateStore]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


class FakeAlerting:
    def __init__(self) -> None:
        self.received: list[Alert] = []

    def receive(self, alerts: Sequence[Alert]) -> None:
        self.received.extend(alerts)

    def names(self) -> list[str]:
        return [a.labels.get("alertname") for a in self.received]


class Budget:
    def __init__(self, remaining: float | None = 0.5, page: str | None = None) -> None:
        self.remaining, self.page = remaining, page

    def remaining_budget(self, service: str) -> float | None:
        return self.remaining if service == "checkout" else None

    def firing_page_alert(self, service: str) -> str | None:
        return self.page if service == "checkout" else None


def _runner(store: SqlStateStore, router: FakeRouter, clock: ManualClock | None = None, **kw: Any) -> RolloutRunner:
    return RolloutRunner(store.rollouts, router, kw.pop("env", ProviderEnv()), clock or ManualClock(T0), **kw)


def _stored(store: SqlStateStore) -> tuple[int, bool]:
    rec = store.rollouts.get(PLAN.name)
    assert rec is not None
    return rec.state["canary_weight"], rec.state["traffic_pending"]


def test_the_state_is_committed_before_each_traffic_action(store: SqlStateStore) -> None:
    world = World()
    router = FakeRouter(world, peek=lambda: _stored(store))
    runner = _runner(store, router)
    run(runner.start(PLAN))
    for _ in range(3):
        run(runner.tick(PLAN))
    assert world.calls == ["weight 20", "header beta on", "weight 40"]
    assert router.seen == [(20, True), (40, True)], "the router saw its weight committed and pending"
    assert _stored(store) == (40, False), "confirmed once applied"
    s = runner.get(PLAN.name)
    assert s is not None and s.phase is P.PAUSED and s.step_index == 3


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_runner_killed_around_the_router_call_resumes_at_the_same_step_and_weight(store: SqlStateStore, when: str) -> None:
    world = World()
    first = _runner(store, FakeRouter(world, crash=(40, when)))
    run(first.start(PLAN))
    run(first.tick(PLAN))
    with pytest.raises(Crash):
        run(first.tick(PLAN))
    assert _stored(store) == (40, True), "the intent was committed before the process died"
    second = _runner(store, FakeRouter(world))  # a new process on the same store and traffic
    s = run(second.tick(PLAN))
    assert s.step_index == 3 and s.canary_weight == 40 and not s.traffic_pending
    applied = [c for c in world.calls if c.startswith("weight")]
    assert applied == (["weight 20", "weight 40"] if when == "before" else ["weight 20", "weight 40", "weight 40"])
    assert world.weight == 40 and world.header == {"beta": BETA}, "re-applied whole, routes included"
    for _ in range(3):
        s = run(second.tick(PLAN))
    assert world.weight == 40 and s.phase is P.PAUSED, "no double move: still waiting at the pause"


def test_a_router_failure_pauses_with_the_reason_and_keeps_the_last_consistent_weight(store: SqlStateStore) -> None:
    world = World()
    alerting = FakeAlerting()
    runner = _runner(store, FakeRouter(world, fail_at=(40,)), alerting=alerting)
    run(runner.start(PLAN))
    run(runner.tick(PLAN))
    s = run(runner.tick(PLAN))
    assert s.phase is P.PAUSED and "nginx -t refused the config for weight 40" in s.hold
    assert s.canary_weight == 20 and s.step_index == 2 and not s.traffic_pending
    assert world.weight == 20 and world.calls[-3:] == ["fail 40", "weight 20", "header beta on"]
    assert [e.reason for e in store.rollouts.events(PLAN.name)][-1] == "RouterFailed"
    assert "RolloutPaused" in alerting.names()
    run(runner.tick(PLAN))
    assert world.calls[-1] == "header beta on", "held: nothing moves until a person resumes"
    runner.router = FakeRouter(world)  # the router is fixed
    s = run(runner.resume(PLAN, "alice"))
    assert s.canary_weight == 40 and world.weight == 40 and s.step_index == 3


def test_events_are_stored_and_sent_as_alerts(store: SqlStateStore) -> None:
    alerting = FakeAlerting()
    runner = _runner(store, FakeRouter(World()), alerting=alerting)
    run(runner.start(PLAN))
    run(runner.abort(PLAN, "alice", "error spike"))
    events = store.rollouts.events(PLAN.name)
    types = [e.type for e in events]
    assert types[0] == "RolloutStarted" and types[-2:] == ["RolloutAbortRequested", "RolloutAborted"]
    assert events[-2].actor == "alice" and "error spike" in events[-1].message
    aborted = [a for a in alerting.received if a.labels.get("alertname") == "RolloutAborted"]
    assert len(aborted) == 1
    labels = aborted[0].labels
    assert (labels.get("rollout"), labels.get("service"), labels.get("severity")) == ("checkout-v2", "checkout", "critical")
    assert alerting.names() == types, "every stored event went out as an alert, in order"


def test_an_analysis_measured_by_the_runner_fails_and_the_abort_moves_weight_to_zero_first(store: SqlStateStore) -> None:
    values = {"ok": 0.5}
    env = ProviderEnv(query=lambda q, t: values[q])
    plan = Plan("checkout-v2", "checkout", (SetWeight(20), SetHeaderRoute(BETA), AnalysisStep("check", (metric(),)),
                                             SetWeight(60)))
    world = World()
    clock = ManualClock(T0)
    runner = _runner(store, FakeRouter(world), clock, env=env)
    s = run(runner.start(plan))
    while not s.phase.finished:
        run(clock.advance(S))
        s = run(runner.tick(plan))
    assert s.phase is P.DEGRADED and "Failed" in s.abort_reason
    assert world.calls == ["weight 20", "header beta on", "weight 0", "remove routes"]


def test_a_healthy_canary_runs_to_completion_on_the_loop(store: SqlStateStore) -> None:
    env = ProviderEnv(query=lambda q, t: 0.99)
    plan = Plan("checkout-v2", "checkout", (SetWeight(20), Pause(5 * S), AnalysisStep("check", (metric(),)), SetWeight(60)),
                background=AnalysisStep("bg", (metric("bg", interval_ms=2 * S),)))
    world = World()
    clock = ManualClock(T0)
    runner = _runner(store, FakeRouter(world), clock, env=env, tick_ms=S)

    async def drive() -> RolloutPhase:
        task = asyncio.create_task(runner.start(plan))
        await clock.settle()
        await task
        loop = asyncio.create_task(runner.run(plan))
        for _ in range(60):
            await clock.advance(S)
            if loop.done():
                break
        return (await loop).phase

    assert run(drive()) is P.HEALTHY
    assert [c for c in world.calls if c.startswith("weight")] == ["weight 20", "weight 60", "weight 100"]


def test_a_start_is_refused_when_the_budget_is_exhausted_unless_forced(store: SqlStateStore) -> None:
    runner = _runner(store, FakeRouter(World()), budget=Budget(remaining=0.0))
    with pytest.raises(PolicyError, match="error budget of the service 'checkout' is exhausted"):
        run(runner.start(PLAN))
    assert runner.get(PLAN.name) is None
    assert [e.type for e in store.rollouts.events(PLAN.name)] == ["RolloutRefused"]
    with pytest.raises(PolicyError, match="needs who and why"):
        run(runner.start(PLAN, Force("alice", " ")))
    s = run(runner.start(PLAN, Force("alice", "hotfix for INC-42")))
    assert s.canary_weight == 20
    [o] = store.rollouts.overrides(PLAN.name)
    assert (o.actor, o.reason, o.policy) == ("alice", "hotfix for INC-42", "errorBudget")


def test_a_firing_page_alert_aborts_a_running_rollout(store: SqlStateStore) -> None:
    budget = Budget(remaining=0.8)
    world = World()
    runner = _runner(store, FakeRouter(world), budget=budget)
    run(runner.start(PLAN))
    run(runner.tick(PLAN))
    budget.page = "CheckoutHighBurnRate"
    s = run(runner.tick(PLAN))
    assert s.phase is P.DEGRADED and "CheckoutHighBurnRate" in s.abort_reason
    assert world.calls[-2:] == ["weight 0", "remove routes"]


def test_a_running_rollout_cannot_be_started_twice_and_commands_need_a_rollout(store: SqlStateStore) -> None:
    runner = _runner(store, FakeRouter(World()))
    with pytest.raises(ControllerError, match="no rollout named 'checkout-v2'"):
        run(runner.promote(PLAN, "alice"))
    run(runner.start(PLAN))
    with pytest.raises(ControllerError, match="already Progressing"):
        run(runner.start(PLAN))


class _Held:
    """The part of the alerting service AlertingPageAlerts reads: the alerts it holds."""

    def __init__(self, alerts: list[Alert], now: int) -> None:
        self._alerts = alerts
        self._now = now

    def held(self) -> list[Alert]:
        return self._alerts

    def now_ms(self) -> int:
        return self._now


def test_page_alerts_of_the_service_are_read_from_the_alerting_pipeline() -> None:
    from sloguard.delivery.policy import AlertingPageAlerts

    def alert(name: str, service: str, severity: str, ends: int | None = None) -> Alert:
        return Alert.of({"alertname": name, "service": service, "severity": severity}, starts_at=T0, ends_at=ends)

    views = [alert("CheckoutLatency", "checkout", "ticket"), alert("Old", "checkout", "page", ends=T0 + 1),
             alert("RolloutAborted", "checkout", "critical"), alert("CartBurn", "cart", "page")]
    source = AlertingPageAlerts(_Held(views, T0 + 10), budgets={"checkout": 0.25})  # type: ignore[arg-type]
    assert source.firing_page_alert("checkout") is None, "tickets, resolved alerts and rollout events do not count"
    assert source.firing_page_alert("cart") == "CartBurn"
    assert source.remaining_budget("checkout") == 0.25 and source.remaining_budget("cart") is None


def test_a_weight_the_router_verifies_as_not_in_force_pauses_the_rollout(store: SqlStateStore) -> None:
    world = World()
    runner = _runner(store, FakeRouter(world, lies=True))
    s = run(runner.start(PLAN))
    assert s.phase is P.PAUSED and "reports the canary weight is not 20%" in s.hold
    assert s.canary_weight == 0 and s.step_index == 0


def test_retry_after_an_abort_starts_again_from_the_first_step(store: SqlStateStore) -> None:
    world = World()
    runner = _runner(store, FakeRouter(world))
    run(runner.start(PLAN))
    run(runner.abort(PLAN, "alice", "bad"))
    assert world.weight == 0
    s = run(runner.retry(PLAN, "bob"))
    assert s.phase is P.PROGRESSING and s.step_index == 1 and world.weight == 20
    assert [c for c in world.calls if c.startswith("weight")] == ["weight 20", "weight 0", "weight 20"]
    types = [e.type for e in store.rollouts.events(PLAN.name)]
    assert types.count("RolloutStarted") == 2 and "RolloutRetryRequested" in types


def test_a_switch_the_router_refuses_is_taken_back_and_not_announced(store: SqlStateStore) -> None:
    plan = Plan("checkout-v2", "checkout", (SetWeight(20),))
    world = World()
    alerting = FakeAlerting()
    runner = _runner(store, FakeRouter(world, fail_at=(100,)), alerting=alerting)
    run(runner.start(plan))
    s = run(runner.tick(plan))
    assert s.phase is P.PAUSED and s.canary_weight == 20 and s.step_index == 1 and world.weight == 20
    assert "RolloutPromoted" not in alerting.names() and alerting.names()[-1] == "RolloutPaused"
    assert [e.reason for e in store.rollouts.events(plan.name)][-1] == "RouterFailed"


def test_an_abort_the_router_refuses_stays_aborted_and_is_reapplied(store: SqlStateStore) -> None:
    world = World()
    alerting = FakeAlerting()
    runner = _runner(store, FakeRouter(world, fail_at=(0,)), alerting=alerting)
    run(runner.start(PLAN))
    s = run(runner.abort(PLAN, "alice", "bad"))
    assert s.phase is P.DEGRADED and s.traffic_pending and world.weight == 20
    assert "RolloutAborted" in alerting.names() and "is retried at the next tick" in s.message
    s = run(runner.tick(PLAN))
    assert s.traffic_pending and s.message.count("The traffic router failed") == 1
    runner.router = FakeRouter(world)
    s = run(runner.tick(PLAN))
    assert not s.traffic_pending and world.weight == 0 and world.calls[-1] == "remove routes"


def test_sigkill_mid_step_then_a_new_process_resumes_at_the_same_step_and_weight(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    url, log = f"sqlite:///{tmp_path / 'state.db'}", tmp_path / "applied.txt"
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    child = subprocess.Popen([sys.executable, "-m", "tests.delivery._crash_runner", url, str(log)],
                             stdout=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "MID"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert log.read_text().split() == ["20"]
    with open_store(url) as store:
        assert _stored(store) == (40, True), "killed after the commit, before the router moved"
        world = World(weight=20)
        s = run(_runner(store, FakeRouter(world)).tick(PLAN))
        assert (s.step_index, s.canary_weight, s.traffic_pending) == (3, 40, False)
        assert [c for c in world.calls if c.startswith("weight")] == ["weight 40"]
