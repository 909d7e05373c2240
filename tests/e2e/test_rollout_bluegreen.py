"""Blue-green end to end: the switch to the new version, a post-promotion analysis on the
proxy's own metrics failing, and traffic switched back to the previous version, measured
with requests through the built-in proxy."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.delivery._steps import Plan
from sloguard.delivery.controller import RolloutPhase
from sloguard.delivery.plan import plan_from_spec
from sloguard.delivery.spec import load_bundle
from tests.e2e._rollouts import Load, Stack, drive, probe, stack

SPEC = """
apiVersion: sloguard/v1
kind: Rollout
metadata: {name: checkout-bg}
spec:
  service: checkout
  versions:
    stable: {name: v1, upstreams: ["STABLE"]}
    canary: {name: v2, upstreams: ["CANARY"]}
  strategy:
    blueGreen:
      postPromotionAnalysis:
        templates: [{templateName: error-ratio}]
        args: [{name: version, value: v2}]
      scaleDownDelaySeconds: 0
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: error-ratio}
spec:
  args: [{name: version}]
  metrics:
  - name: error-ratio
    interval: 300ms
    count: 4
    initialDelay: 600ms
    successCondition: result[0] <= 0.05
    provider:
      prometheus:   # no address: the embedded engine, fed by the proxy's own RED metrics
        query: |
          sum(rate(http_requests_total{service="checkout",version="{{args.version}}",code=~"5.."}[2s]) or vector(0))
          / sum(rate(http_requests_total{service="checkout",version="{{args.version}}"}[2s]))
"""


def _plan(st: Stack, version_fails: bool) -> Plan:
    text = SPEC.replace("STABLE", st.stable.address).replace("CANARY", st.canary.address)
    bundle = load_bundle(text, "bluegreen.yaml")
    assert [p for p in bundle.problems if p.is_error] == [], bundle.problems
    (spec,) = bundle.rollouts
    return plan_from_spec(spec, bundle.templates, embedded_prometheus=True)


def test_a_failing_post_promotion_analysis_switches_traffic_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with stack(tmp_path, canary_fail_every=3) as st:
            load = Load(st.url).start()
            plan = _plan(st, version_fails=True)
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
            assert failed.abort_reason.startswith("The analysis 'error-ratio' ended Failed"), failed.abort_reason
            assert failed.message.endswith("Traffic switched back to the previous version."), failed.message
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
            plan = _plan(st, version_fails=False)
            runner = st.runner()
            await runner.start(plan)
            done = await drive(runner, plan, lambda s: s.phase.finished)
            await load.stop()
            assert done.phase is RolloutPhase.HEALTHY and done.canary_weight == 100, done.message
            assert await probe(st.url) == {("v2", 200): 40}

    asyncio.run(asyncio.wait_for(scenario(), 30))
