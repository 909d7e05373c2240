"""The error-budget policy end to end: an SLO budget exhausted by real traffic through the
built-in proxy refuses a start (a forced start goes through and the override is kept),
and a real page-severity SLO alert, evaluated from the proxy's metrics and firing in the
alerting pipeline, aborts a running rollout, whose abort reaches a webhook on loopback."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from sloguard.clock import SystemClock
from sloguard.delivery._steps import Pause, Plan, SetWeight
from sloguard.delivery.budget import slo_budget_source
from sloguard.delivery.controller import RolloutPhase
from sloguard.delivery.policy import POLICY, Force, PolicyError
from tests.e2e._rollouts import SERVICE, Load, probe, stack
from tests.e2e._slo_alerts import Hook, SLORules, load_slos, pipeline

PLAN = Plan("checkout-v2", SERVICE, (SetWeight(50), Pause(None)))
REFUSED = re.compile(r"The error budget of the service 'checkout' is exhausted \(-\d+\.\d% left\); "
                     r"the rollout 'checkout-v2' does not start unless forced with who and why\.")


def test_an_exhausted_budget_refuses_the_start_unless_forced(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path, stable_fail_every=5) as st:
            assert (await st.traffic(100))[("v1", 500)] == 20, "20% errors against a 1% budget"
            slos = load_slos()
            runner = st.runner(budget=slo_budget_source(lambda: slos, st.engine, SystemClock()))
            with pytest.raises(PolicyError) as refused:
                await runner.start(PLAN)
            assert REFUSED.fullmatch(str(refused.value)), refused.value
            assert st.store.rollouts.get(PLAN.name) is None and st.proxy.table.canary_weight == 0
            assert [e.type for e in st.store.rollouts.events(PLAN.name)] == ["RolloutRefused"]
            s = await runner.start(PLAN, Force("alice", "the fix for the outage itself"))
            assert s.phase is RolloutPhase.PROGRESSING and st.proxy.table.canary_weight == 50
            assert {v for v, _ in await probe(st.url)} == {"v1", "v2"}
            (override,) = st.store.rollouts.overrides(PLAN.name)
            assert (override.policy, override.actor, override.reason) == (POLICY, "alice", "the fix for the outage itself")
            types = [e.type for e in st.store.rollouts.events(PLAN.name)]
            assert types[:3] == ["RolloutRefused", "RolloutPolicyOverridden", "RolloutStarted"], types

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_firing_page_alert_of_the_service_aborts_the_rollout(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path, canary_fail_every=2) as st:
            hook = await Hook().start()
            core = await pipeline(st.store, hook.url)
            slos = load_slos()
            rules = SLORules(tmp_path, slos, st.db, st.engine, core)
            source = slo_budget_source(lambda: slos, st.engine, SystemClock(), lambda: core)
            runner = st.runner(alerting=core, budget=source, tick_ms=200)
            try:
                await st.traffic(50)
                assert source.remaining_budget(SERVICE) == 1.0, "healthy so far: the start is allowed"
                load = Load(st.url).start()
                await runner.start(PLAN)

                end = time.monotonic() + 20
                s = await runner.tick(PLAN)
                while not s.phase.finished:
                    assert time.monotonic() < end, f"no abort in 20 s: {s.message!r}"
                    st.proxy.flush_metrics()
                    await rules.evaluate(int(time.time() * 1000))
                    await asyncio.sleep(0.2)
                    s = await runner.tick(PLAN)
                await load.stop()
                assert s.phase is RolloutPhase.DEGRADED and s.canary_weight == 0
                assert st.proxy.table.canary_weight == 0 == st.stored(PLAN.name)["canary_weight"]
                assert re.fullmatch(r"The page-severity alert '\w+' of the service 'checkout' is firing\.", s.abort_reason)
                (aborted,) = [e for e in st.store.rollouts.events(PLAN.name) if e.type == "RolloutAborted"]
                assert aborted.reason == "PageAlertFiring"
                assert await probe(st.url) == {("v1", 200): 40}
                deadline = time.monotonic() + 10
                while not [a for a in hook.alerts() if a["labels"]["alertname"] == "RolloutAborted"]:
                    assert time.monotonic() < deadline, f"the abort never reached the webhook: {hook.bodies}"
                    await asyncio.sleep(0.05)
                (sent,) = [a for a in hook.alerts() if a["labels"]["alertname"] == "RolloutAborted"]
                assert sent["labels"]["rollout"] == PLAN.name and sent["annotations"]["reason"] == "PageAlertFiring"
                pages = {a["labels"]["alertname"] for a in hook.alerts() if a["labels"].get("severity") == "page"}
                assert s.abort_reason.split("'")[1] in pages, "the SLO page itself went through the same pipeline"
            finally:
                await core.stop()
                await hook.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
