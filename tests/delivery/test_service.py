"""RolloutService over a spec-named fake router on a manual clock: start, progress, commands,
views, policy, bad input, a failing router and loop, and a restart on the same database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from sloguard.clock import ManualClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.policy import Force
from sloguard.delivery.service import RolloutService, RolloutServiceError
from sloguard.state import open_store
from tests.delivery._rollout import T0, S, World
from tests.delivery._served import FAILING, advance, fake_router, spec_text

__all__ = ["fake_router"]


class Budget:
    def __init__(self, remaining: float | None = 0.5, page: str | None = None) -> None:
        self.remaining, self.page = remaining, page

    def remaining_budget(self, service: str) -> float | None:
        return self.remaining

    def firing_page_alert(self, service: str) -> str | None:
        return self.page


class Rig:
    """A service on ``db``; ``values`` answer the analysis' query ``ok``."""

    def __init__(self, db: str, clock: ManualClock | None = None, **kw: Any) -> None:
        self.values = {"ok": 0.99}
        self.clock = clock or ManualClock(T0)
        self.store = open_store(db)
        env = ProviderEnv(query=lambda q, t: self.values[q])
        self.service = RolloutService(self.store.rollouts, env, self.clock, tick_ms=S, **kw)

    async def seconds(self, n: int) -> None:
        await advance(self.service, self.clock, n, S)

    async def close(self) -> None:
        await self.service.close()
        self.store.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def weights(world: World) -> list[int]:
    return [int(c.split()[1]) for c in world.calls if c.startswith("weight")]


def test_a_started_rollout_progresses_waits_at_its_pause_and_is_promoted(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db)
        view = await rig.service.start(spec_text(), actor="alice")
        assert (view["phase"], view["canaryWeight"], view["step"], view["steps"]) == ("Progressing", 20, 2, 5)
        await rig.seconds(5)
        view = rig.service.get("checkout-v2")
        assert (view["phase"], view["canaryWeight"], view["step"]) == ("Paused", 50, 4)
        assert [d["state"] for d in view["stepsDetail"]] == ["done", "done", "done", "current", "pending"]
        [analysis] = view["analyses"]
        assert analysis["phase"] == "Successful" and analysis["metrics"][0]["measurements"][0]["phase"] == "Successful"
        await rig.seconds(30)
        assert rig.service.get("checkout-v2")["canaryWeight"] == 50
        view = await rig.service.promote("checkout-v2", "bob")
        await rig.seconds(3)
        view = rig.service.get("checkout-v2")
        assert (view["phase"], view["canaryWeight"], view["step"]) == ("Healthy", 100, None)
        assert weights(fake_router["w"]) == [20, 50, 80, 100]
        actors = {(e["type"], e["actor"]) for e in view["events"]}
        assert {("RolloutStartRequested", "alice"), ("RolloutPromoteRequested", "bob")} <= actors
        [summary] = rig.service.list()
        assert (summary["name"], summary["strategy"], summary["stable"], summary["canary"]) == ("checkout-v2", "canary", "v1", "v2")
        assert summary["createdAt"].endswith("Z")
        await rig.close()

    run(go)


def test_an_abort_sets_the_weight_to_zero_first_and_is_explained(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db)
        await rig.service.start(spec_text())
        await rig.seconds(5)
        view = await rig.service.abort("checkout-v2", "carol", "latency spike")
        assert (view["phase"], view["canaryWeight"]) == ("Degraded", 0)
        assert "carol" in view["abortReason"] and "latency spike" in view["abortReason"]
        calls = fake_router["w"].calls
        assert calls[-2:] == ["weight 0", "remove routes"]
        text = rig.service.explain("checkout-v2")
        assert "Degraded" in text and "1. [done] setWeight 20" in text and "analysis success-rate" in text
        assert "Analysis run" in text and "RolloutAbortRequested (Abort) by carol: latency spike" in text
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.promote("checkout-v2", "dave")
        assert e.value.status == 409 and "Degraded" in str(e.value)
        view = await rig.service.retry("checkout-v2", "dave")
        await rig.seconds(5)
        assert rig.service.get("checkout-v2")["canaryWeight"] == 50
        await rig.close()

    run(go)


def test_bad_input_is_refused_with_its_status_and_problems(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db)
        cases = [
            (spec_text().replace("setWeight: 20", "setWeight: 120"), 400, "setWeight"),
            (spec_text(router=""), 400, "names no traffic router (spec.router)"),
            (spec_text(name="Checkout_V2"), 400, "not a DNS label"),
            (spec_text().replace("templateName: success-rate", "templateName: nope"), 400, "nope"),
            ("kind: Nothing", 400, "problems"),
        ]
        for text, status, words in cases:
            with pytest.raises(RolloutServiceError) as e:
                await rig.service.start(text)
            assert e.value.status == status and words in str(e.value), str(e.value)
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.start(spec_text().replace("setWeight: 120", "x"), source="f.yaml", name="other")
        assert e.value.status == 400 and "no rollout named 'other'" in str(e.value)
        bad = spec_text().replace("setWeight: 20", "setWeight: 120")
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.start(bad)
        assert e.value.error_type == "bad_data" and any("setWeight" in p.path for p in e.value.problems)
        await rig.service.start(spec_text())
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.start(spec_text())
        assert (e.value.status, e.value.error_type) == (409, "conflict") and "already Progressing" in str(e.value)
        for call in (lambda: rig.service.get("nope"), lambda: rig.service.explain("nope")):
            with pytest.raises(RolloutServiceError) as e:
                call()
            assert e.value.status == 404
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.pause("nope", "a", "b")
        assert e.value.status == 404
        await rig.close()

    run(go)


def test_the_error_budget_policy_refuses_a_start_unless_forced_or_the_spec_allows_it(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db, budget=Budget(remaining=0.0))
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.start(spec_text())
        assert e.value.status == 409 and "error budget of the service 'checkout' is exhausted" in str(e.value)
        assert fake_router["w"].calls == []  # refused before the router moved anything
        view = await rig.service.start(spec_text(), force=Force("alice", "hotfix INC-1"))
        assert view["canaryWeight"] == 20 and "RolloutPolicyOverridden" in [e["type"] for e in view["events"]]
        lax = "  errorBudgetPolicy: {blockWhenExhausted: false}\n"
        view = await rig.service.start(spec_text(name="lax", router="{type: fake, fake: {world: x}}", policy=lax))
        assert view["phase"] == "Progressing"
        await rig.close()

    run(go)


def test_a_page_alert_aborts_unless_the_spec_says_not_to(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        budget = Budget(remaining=0.9)
        rig = Rig(db, budget=budget)
        await rig.service.start(spec_text())
        keep = "  errorBudgetPolicy: {abortOnPage: false}\n"
        await rig.service.start(spec_text(name="keep", router="{type: fake, fake: {world: x}}", policy=keep))
        budget.page = "CheckoutErrorBudgetBurn"
        await rig.seconds(3)
        assert rig.service.get("checkout-v2")["phase"] == "Degraded"
        assert "CheckoutErrorBudgetBurn" in rig.service.get("checkout-v2")["abortReason"]
        assert rig.service.get("keep")["phase"] != "Degraded"
        await rig.close()

    run(go)


def test_a_failing_router_pauses_the_rollout_with_the_reason(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        FAILING["w"] = {50}
        rig = Rig(db)
        await rig.service.start(spec_text())
        await rig.seconds(5)
        view = rig.service.get("checkout-v2")
        assert view["phase"] == "Paused" and view["canaryWeight"] == 20
        assert "traffic router failed" in view["hold"] and "weight 50" in view["hold"]
        assert fake_router["w"].weight == 20
        await rig.close()

    run(go)


def test_an_exception_in_the_loop_pauses_the_rollout_and_the_service_goes_on(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db)
        await rig.service.start(spec_text())
        served = rig.service._served["checkout-v2"]
        real = served.runner.tick

        async def broken(plan: Any) -> Any:
            served.runner.tick = real  # type: ignore[method-assign]  # fails once
            raise RuntimeError("disk on fire")

        served.runner.tick = broken  # type: ignore[method-assign]  # a failure inside the loop
        await rig.seconds(3)
        view = rig.service.get("checkout-v2")
        assert view["phase"] == "Paused" and "disk on fire" in view["hold"]
        await rig.service.resume("checkout-v2", "erin")
        await rig.seconds(5)
        assert rig.service.get("checkout-v2")["canaryWeight"] == 50
        await rig.close()

    run(go)


def test_a_restart_resumes_at_the_same_step_and_weight_without_moving_traffic_twice(
        db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        clock = ManualClock(T0)
        rig = Rig(db, clock)
        await rig.service.start(spec_text())
        await rig.seconds(5)
        before = rig.service.get("checkout-v2")
        await rig.close()
        calls = list(fake_router["w"].calls)
        rig2 = Rig(db, clock)
        await rig2.service.open()
        await rig2.seconds(5)
        after = rig2.service.get("checkout-v2")
        assert (after["phase"], after["step"], after["canaryWeight"]) == (before["phase"], before["step"], 50)
        # the fresh router object is given the committed traffic again: the same weight, never the next
        assert fake_router["w"].calls == [*calls, "weight 50", "remove routes"]
        await rig2.service.promote("checkout-v2", "bob")
        await rig2.seconds(3)
        assert rig2.service.get("checkout-v2")["phase"] == "Healthy"
        assert weights(fake_router["w"]) == [20, 50, 50, 80, 100]  # 50 again at the restart
        await rig2.close()

    run(go)


def test_problems_come_as_json_with_their_key_path_and_line(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db)
        text = spec_text().replace("setWeight: 20", "setWeight: 120")
        with pytest.raises(RolloutServiceError) as e:
            await rig.service.start(text, source="r.yaml")
        [p] = [p for p in e.value.problems_json() if p["severity"] == "error"]
        line = next(i for i, x in enumerate(text.splitlines(), 1) if "setWeight: 120" in x)
        assert p["source"] == "r.yaml" and p["path"].endswith("steps[0].setWeight") and p["line"] == line
        await rig.close()

    run(go)


def test_a_stored_rollout_whose_spec_is_gone_is_listed_but_not_driven(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        clock = ManualClock(T0)
        rig = Rig(db, clock)
        await rig.service.start(spec_text())
        await rig.close()
        rig2 = Rig(db, clock)
        with rig2.store._db.transaction() as conn:
            conn.exec_driver_sql("DELETE FROM rollout_specs")
        await rig2.service.open()
        [summary] = rig2.service.list()
        assert (summary["name"], summary["canaryWeight"], summary["strategy"]) == ("checkout-v2", 20, None)
        assert rig2.service.get("checkout-v2")["stepsDetail"] == []
        with pytest.raises(RolloutServiceError) as e:
            await rig2.service.promote("checkout-v2", "bob")
        assert e.value.status == 409 and "could not be rebuilt" in str(e.value)
        await rig2.close()

    run(go)



def test_a_damaged_stored_state_is_named_and_does_not_hide_the_other_rollouts(db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        clock = ManualClock(T0)
        rig = Rig(db, clock)
        await rig.service.start(spec_text())
        await rig.close()
        rig2 = Rig(db, clock)
        with rig2.store._db.transaction() as conn:
            conn.exec_driver_sql("UPDATE rollouts SET state = '{\"version\": 99}'")
        await rig2.service.open()
        [summary] = rig2.service.list()
        assert summary["name"] == "checkout-v2" and summary["unreadable"] and "version 99" in summary["message"]
        with pytest.raises(RolloutServiceError) as e:
            rig2.service.get("checkout-v2")
        assert e.value.status == 409 and "version 99" in str(e.value)
        await rig2.close()

    run(go)

JUDGED = """
      - setWeight: 50
      - pause: {duration: 300s}
      judges:
      - name: errors
        judge: exact
        baseline:
          errors: sum(increase(http_requests_total{version="v1",code=~"5.."}[{{.window}}]))
          total: sum(increase(http_requests_total{version="v1"}[{{.window}}]))
        canary:
          errors: sum(increase(http_requests_total{version="v2",code=~"5.."}[{{.window}}]))
          total: sum(increase(http_requests_total{version="v2"}[{{.window}}]))
"""


def series(q: str, t: int) -> list[tuple[dict[str, str], float]]:
    """Counters since the look's window: the canary errs 5% of the time, the stable 0.5%."""
    window = int(q.split("[")[1].split("s]")[0])
    total, rate = 50.0 * window, (0.05 if 'version="v2"' in q else 0.005)
    return [({}, total * rate if "5.." in q else total)]


def test_judges_abort_a_served_rollout_and_their_verdicts_are_in_the_view_and_explained(
        db: str, fake_router: dict[str, World]) -> None:
    async def go() -> None:
        rig = Rig(db, judge_interval_ms=10 * S)
        rig.service.env = ProviderEnv(series=series)
        await rig.service.start(spec_text(steps=JUDGED))
        await rig.seconds(40)
        view = rig.service.get("checkout-v2")
        assert view["phase"] == "Degraded" and "background analysis ended Failed" in view["abortReason"]
        [bg] = [a for a in view["analyses"] if a["key"] == "background"]
        [m] = bg["metrics"]
        verdict = m["measurements"][-1]["verdict"]
        assert m["name"] == "errors" and verdict["outcome"] == "fail" and float(verdict["p_value"]) < 0.05
        text = rig.service.explain("checkout-v2")
        assert "Metric errors [judge exact]" in text and "judge exact: fail" in text
        assert weights(fake_router["w"]) == [50, 0]
        await rig.close()

    run(go)
