"""Blue-green end to end on a served rollout: the switch to the new version, a
post-promotion analysis on the proxy's own metrics failing, and traffic switched back to
the previous version, measured with requests through the service's built-in proxy."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e._rollouts import Load, probe
from tests.e2e._served import finished, served, until

STRATEGY = """
blueGreen:
  postPromotionAnalysis:
    templates: [{templateName: error-ratio}]
    args: [{name: version, value: v2}]
  scaleDownDelaySeconds: 0
"""
TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: error-ratio}
spec:
  args: [{name: version}]
  metrics:
  - name: error-ratio
    interval: 300ms
    count: 4
    initialDelay: 3s   # the probe right after the switch sees only v2 before the analysis can fail
    successCondition: result[0] <= 0.05
    provider:
      prometheus:   # no address: the embedded engine, fed by the proxy's own RED metrics
        query: |
          sum(rate(http_requests_total{service="checkout",version="{{args.version}}",code=~"5.."}[2s]) or vector(0))
          / sum(rate(http_requests_total{service="checkout",version="{{args.version}}"}[2s]))
"""


def test_a_failing_post_promotion_analysis_switches_traffic_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path, canary_fail_every=3) as w:
            service = await w.open()
            await service.start(w.text("checkout-bg", STRATEGY, TEMPLATE), actor="e2e")
            load = Load(w.url).start()
            await until(service, "checkout-bg", lambda v: v["canaryWeight"] == 100, what="the switch")
            after_switch = await probe(w.url)
            failed = await until(service, "checkout-bg", finished)
            after_failure = await probe(w.url)
            await load.stop()
            assert {v for v, _ in after_switch} == {"v2"}, after_switch
            assert after_failure == {("v1", 200): 40}, "every request back on the previous version"
            assert failed["phase"] == "Degraded" and failed["canaryWeight"] == 0
            assert failed["abortReason"].startswith("The analysis 'error-ratio' ended Failed"), failed["abortReason"]
            assert failed["message"].endswith("Traffic switched back to the previous version."), failed["message"]
            (aborted,) = [e for e in failed["events"] if e["type"] == "RolloutAborted"]
            assert aborted["reason"] == "AnalysisFailed", aborted
            assert {v for v, _ in load.seen} == {"v1", "v2"}, "the background load saw both versions"

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_healthy_new_version_stays_switched(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as w:
            service = await w.open()
            await service.start(w.text("checkout-bg", STRATEGY, TEMPLATE), actor="e2e")
            load = Load(w.url).start()
            done = await until(service, "checkout-bg", finished)
            await load.stop()
            assert done["phase"] == "Healthy" and done["canaryWeight"] == 100, done["message"]
            assert await probe(w.url) == {("v2", 200): 40}

    asyncio.run(asyncio.wait_for(scenario(), 30))
