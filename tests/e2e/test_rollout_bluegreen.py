"""Blue-green end to end: the switch to the new version, a post-promotion analysis on the
proxy's own metrics failing, and traffic switched back to the previous version, measured
with requests through the built-in proxy."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.delivery._steps import AnalysisStep, BlueGreen, Plan
from sloguard.delivery.controller import RolloutPhase
from tests.e2e._rollouts import SERVICE, Load, drive, probe, ratio_metric, stack


def _plan(version_fails: bool) -> Plan:
    post = AnalysisStep("post-promotion", (ratio_metric("error-ratio", "v2", interval_ms=300, count=4,
                                                        initial_delay_ms=600),))
    return Plan(f"checkout-bg-{'bad' if version_fails else 'good'}", SERVICE,
                blue_green=BlueGreen(post_promotion=post, auto_promotion_ms=0, scale_down_delay_ms=200))


def test_a_failing_post_promotion_analysis_switches_traffic_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path, canary_fail_every=3) as st:
            load = Load(st.url).start()
            plan = _plan(version_fails=True)
            runner = st.runner()
            await runner.start(plan)
            switched = await drive(runner, plan, lambda s: s.canary_weight == 100)
            assert switched.phase is RolloutPhase.PROGRESSING
            after_switch = await probe(st.url)
            assert {v for v, _ in after_switch} == {"v2"}, after_switch
            failed = await drive(runner, plan, lambda s: s.phase.finished)
            after_failure = await probe(st.url)
            await load.stop()
            assert failed.phase is RolloutPhase.DEGRADED and failed.canary_weight == 0
            assert "post-promotion" in failed.abort_reason and "error-ratio" in failed.abort_reason, failed.abort_reason
            assert after_failure == {("v1", 200): 40}, "every request back on the previous version"
            assert st.proxy.table.canary_weight == 0 == st.stored(plan.name)["canary_weight"]
            (aborted,) = [e for e in st.store.rollouts.events(plan.name) if e.type == "RolloutAborted"]
            assert aborted.reason == "AnalysisFailed", aborted
            served = {v for v, _ in load.seen}
            assert served == {"v1", "v2"}, "the background load saw both versions"

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_healthy_new_version_stays_switched(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path) as st:
            load = Load(st.url).start()
            plan = _plan(version_fails=False)
            runner = st.runner()
            await runner.start(plan)
            done = await drive(runner, plan, lambda s: s.phase.finished)
            await load.stop()
            assert done.phase is RolloutPhase.HEALTHY and done.canary_weight == 100, done.message
            assert await probe(st.url) == {("v2", 200): 40}

    asyncio.run(asyncio.wait_for(scenario(), 30))
