"""The error-budget policy end to end on served rollouts: a rollout whose canary burnt the
SLO budget with real traffic through the built-in proxy leaves the next start refused
(409, the sentence why) until a person forces it (the override kept with who and why);
a real page-severity SLO alert, evaluated from the proxy's metrics and firing in the
alerting pipeline, aborts a running rollout, whose abort reaches a webhook on loopback."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from sloguard.clock import SystemClock
from sloguard.delivery.budget import slo_budget_source
from sloguard.delivery.policy import POLICY, Force
from sloguard.delivery.service import RolloutServiceError
from tests.e2e._rollouts import SERVICE, Load, probe
from tests.e2e._served import Served, finished, served, until
from tests.e2e._slo_alerts import Hook, SLORules, load_slos, pipeline

CANARY = """
canary:
  steps:
  - setWeight: 50
  - pause: {}
"""
REFUSED = re.compile(r"The error budget of the service 'checkout' is exhausted \(-\d+\.\d% left\); "
                     r"the rollout 'checkout-v3' does not start unless forced with who and why\.")


async def _traffic(w: Served, n: int) -> None:
    """``n`` requests in two halves, each followed by a flush of the proxy's counters."""
    for _ in range(2):
        await probe(w.url, n // 2)
        await asyncio.sleep(0.25)


def test_a_burnt_budget_refuses_the_next_start_unless_forced(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path, canary_fail_every=2) as w:
            slos = load_slos()
            source = slo_budget_source(lambda: slos, w.engine, SystemClock())
            service = await w.open(budget=source)
            await service.start(w.text("checkout-v2", CANARY), actor="alice")
            await until(service, "checkout-v2", lambda v: v["canaryWeight"] == 50)
            await _traffic(w, 100)
            await service.abort("checkout-v2", "alice", "the canary fails every other request")
            remaining = source.remaining_budget(SERVICE)
            assert remaining is not None and remaining < 0, remaining
            with pytest.raises(RolloutServiceError) as refused:
                await service.start(w.text("checkout-v3", CANARY), actor="bob")
            assert refused.value.status == 409 and refused.value.error_type == "conflict"
            assert REFUSED.fullmatch(str(refused.value)), refused.value
            assert await probe(w.url) == {("v1", 200): 40}, "nothing moved"
            view = await service.start(w.text("checkout-v3", CANARY), actor="bob",
                                       force=Force("bob", "the fix for the outage itself"))
            assert view["phase"] == "Progressing"
            await until(service, "checkout-v3", lambda v: v["canaryWeight"] == 50)
            (override,) = w.store.rollouts.overrides("checkout-v3")
            assert (override.policy, override.actor, override.reason) == (POLICY, "bob", "the fix for the outage itself")
            types = [e["type"] for e in service.events("checkout-v3")]
            assert types.index("RolloutRefused") < types.index("RolloutPolicyOverridden") < types.index("RolloutStarted")

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_firing_page_alert_of_the_service_aborts_the_rollout(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path, canary_fail_every=2) as w:
            hook = await Hook().start()
            core = await pipeline(w.store, hook.url)
            slos = load_slos()
            rules = SLORules(tmp_path, slos, w.db, w.engine, core)
            service = await w.open(alerting=core, budget=slo_budget_source(lambda: slos, w.engine, SystemClock(),
                                                                           lambda: core))
            try:
                await service.start(w.text("checkout-v2", CANARY), actor="alice")
                load = Load(w.url).start()
                end, view = time.monotonic() + 20, service.get("checkout-v2")
                while not finished(view):
                    assert time.monotonic() < end, f"no abort in 20 s: {view['message']!r}"
                    await rules.evaluate(int(time.time() * 1000))
                    await asyncio.sleep(0.2)
                    view = service.get("checkout-v2")
                await load.stop()
                assert view["phase"] == "Degraded" and view["canaryWeight"] == 0
                page = re.fullmatch(r"The page-severity alert '(\w+)' of the service 'checkout' is firing\.",
                                    view["abortReason"])
                assert page, view["abortReason"]
                (aborted,) = [e for e in view["events"] if e["type"] == "RolloutAborted"]
                assert aborted["reason"] == "PageAlertFiring"
                assert await probe(w.url) == {("v1", 200): 40}, "traffic back on the stable version"
                deadline = time.monotonic() + 10
                while not [a for a in hook.alerts() if a["labels"]["alertname"] == "RolloutAborted"]:
                    assert time.monotonic() < deadline, f"the abort never reached the webhook: {hook.bodies}"
                    await asyncio.sleep(0.05)
                (sent,) = [a for a in hook.alerts() if a["labels"]["alertname"] == "RolloutAborted"]
                assert sent["labels"]["rollout"] == "checkout-v2" and sent["annotations"]["reason"] == "PageAlertFiring"
                pages = {a["labels"]["alertname"] for a in hook.alerts() if a["labels"].get("severity") == "page"}
                assert page.group(1) in pages, "the SLO page itself went through the same pipeline"
            finally:
                await core.stop()
                await hook.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
