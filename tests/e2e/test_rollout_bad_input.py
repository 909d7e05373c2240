"""Bad input end to end: a metric provider nobody answers (Error measurements, the rollout
aborted past consecutiveErrorLimit with the reason), a traffic router failing mid-step (the
rollout pauses with the reason; the proxy's weight is the stored weight), and an upstream
that goes away mid-rollout (the proxy answers 502, the analysis sees the errors, the
rollout aborts and everything keeps serving)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.clock import ManualClock
from sloguard.delivery._steps import Pause, Plan, SetWeight
from sloguard.delivery.controller import RolloutPhase
from sloguard.delivery.routers import HeaderRoute, MirrorRoute, RouterError, WeightDestination
from sloguard.delivery.routers.proxy import ProxyRouter
from tests._net import free_port
from tests.e2e._rollouts import SERVICE, Load, drive, probe, stack
from tests.e2e._served import finished, served, until

UNREACHABLE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: remote-success-rate}}
spec:
  metrics:
  - name: success-rate
    interval: 5s
    consecutiveErrorLimit: 2
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: http://127.0.0.1:{port}
        timeout: 2
        query: sum(rate(http_requests_total{{code!~"5.."}}[1m])) / sum(rate(http_requests_total[1m]))
"""
STEP_ANALYSIS = """
canary:
  steps:
  - setWeight: 20
  - analysis: {templates: [{templateName: remote-success-rate}]}
  - setWeight: 100
"""


def test_an_unreachable_provider_aborts_after_its_consecutive_error_limit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as w:
            clock = ManualClock(1_700_000_000_000)
            service = await w.open(clock=clock, tick_ms=1_000)
            dead = free_port()  # nothing listens there
            await service.start(w.text("checkout-v2", STEP_ANALYSIS, UNREACHABLE.format(port=dead)), actor="e2e")
            view = service.get("checkout-v2")
            for _ in range(60):  # 60 simulated seconds; Errors are retried every 10 s (Argo's interval)
                if finished(view):
                    break
                await clock.advance(1_000)
                await asyncio.sleep(0.01)  # the provider's connection attempt is real I/O
                view = service.get("checkout-v2")
            assert view["phase"] == "Degraded" and view["canaryWeight"] == 0, view["message"]
            (run,) = view["analyses"]
            phases = [m["phase"] for m in run["metrics"][0]["measurements"]]
            assert phases == ["Error"] * 3, "consecutiveErrorLimit 2: the third Error in a row ends the run"
            reason = view["abortReason"]
            assert reason.startswith("The analysis 'remote-success-rate' ended Error"), reason
            assert "consecutiveErrors (3) > consecutiveErrorLimit (2)" in reason, reason
            assert f"http://127.0.0.1:{dead}/api/v1/query failed" in reason, "the reason names the address"
            assert await probe(w.url) == {("v1", 200): 40}

    asyncio.run(asyncio.wait_for(scenario(), 30))


class FailingRouter:
    """The real proxy, except that ``set_weight`` to a weight in ``fail_at`` fails the way
    a router does (nginx -t refusing a config, an API server away)."""

    TYPE = "failing-proxy"

    def __init__(self, proxy: ProxyRouter, fail_at: set[int]) -> None:
        self.proxy, self.fail_at = proxy, fail_at

    def supports(self, feature: object) -> bool:
        return True

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        if canary_weight in self.fail_at:
            raise RouterError(f"the config for canary weight {canary_weight} was refused", retryable=True)
        self.proxy.set_weight(canary_weight, additional)

    def set_header_route(self, route: HeaderRoute) -> None:
        self.proxy.set_header_route(route)

    def set_mirror_route(self, route: MirrorRoute) -> None:
        self.proxy.set_mirror_route(route)

    def remove_managed_routes(self) -> None:
        self.proxy.remove_managed_routes()

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        return self.proxy.verify_weight(canary_weight, additional)


def test_a_router_failing_mid_step_pauses_with_traffic_left_consistent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path) as st:
            router = FailingRouter(st.proxy, {50})
            plan = Plan("checkout-v2", SERVICE, (SetWeight(20), SetWeight(50), Pause(None)))
            runner = st.runner(router=router)  # type: ignore[arg-type]  # a TrafficRouter by shape
            await runner.start(plan)
            s = await drive(runner, plan, lambda s: s.phase is not RolloutPhase.PROGRESSING)
            assert s.phase is RolloutPhase.PAUSED, s.message
            assert "The traffic router failed: the config for canary weight 50 was refused" in s.hold
            assert s.canary_weight == 20 == st.stored(plan.name)["canary_weight"] == st.proxy.table.canary_weight
            assert not st.stored(plan.name)["traffic_pending"]
            seen = await probe(st.url, 200)
            assert seen[("v1", 200)] + seen[("v2", 200)] == 200 and 15 <= seen[("v2", 200)] <= 70, seen
            (paused,) = [e for e in st.store.rollouts.events(plan.name) if e.reason == "RouterFailed"]
            assert "weight 50 was refused" in paused.message
            router.fail_at.clear()  # the router is fixed; a person resumes
            await runner.resume(plan, "alice")
            s = await drive(runner, plan, lambda s: s.canary_weight == 50)
            assert st.proxy.table.canary_weight == 50 and s.phase is RolloutPhase.PAUSED  # the pause {} step

    asyncio.run(asyncio.wait_for(scenario(), 30))


ERROR_RATIO = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: canary-errors}
spec:
  metrics:
  - name: error-ratio
    interval: 300ms
    initialDelay: 1s      # the proxy's first two flushes of v2's counters (a rate needs two samples)
    successCondition: result[0] <= 0.05
    provider:
      prometheus:
        query: |
          sum(rate(http_requests_total{service="checkout",version="v2",code=~"5.."}[2s]) or vector(0))
          / sum(rate(http_requests_total{service="checkout",version="v2"}[2s]))
"""
BACKGROUND = """
canary:
  analysis: {templates: [{templateName: canary-errors}]}
  steps:
  - setWeight: 50
  - pause: {}
"""


def test_an_upstream_going_away_mid_rollout_aborts_it_and_the_rest_keeps_serving(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as w:
            service = await w.open()
            await service.start(w.text("checkout-v2", BACKGROUND, ERROR_RATIO), actor="e2e")
            load = Load(w.url).start()
            await until(service, "checkout-v2", lambda v: v["canaryWeight"] == 50 and v["phase"] == "Paused")
            healthy = await probe(w.url)
            await w.canary.stop()  # v2 goes away: connections refused
            view = await until(service, "checkout-v2", finished)
            await load.stop()
            assert {s for _, s in healthy} == {200}, healthy
            assert ("", 502) in load.seen, "the proxy answered 502 for the requests it could not pass on"
            assert view["phase"] == "Degraded" and view["canaryWeight"] == 0
            assert view["abortReason"].startswith("The background analysis ended Failed"), view["abortReason"]
            assert await probe(w.url) == {("v1", 200): 40}, "the stable version keeps serving"
            assert [r["name"] for r in service.list()] == ["checkout-v2"], "the service still answers"

    asyncio.run(asyncio.wait_for(scenario(), 30))
