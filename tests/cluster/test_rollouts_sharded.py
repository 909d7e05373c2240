"""Rollouts in a cluster: one replica drives a rollout at a time; the lease's holder takes
over a rollout another replica started, and traffic moves once per step."""

from __future__ import annotations

import asyncio
from typing import Any

from sloguard.api._cluster import ClusterRunner
from sloguard.clock import ManualClock
from sloguard.cluster import ClusterOptions, Coordinator, owner
from sloguard.cluster.testing import FakeClusterStore
from tests.cluster.test_coordinator import _direct
from tests.delivery._rollout import T0, World
from tests.delivery._served import advance, fake_router, spec_text
from tests.delivery.test_service import Rig, weights

__all__ = ["fake_router"]

KEY = "rollouts/checkout-v2"


def _names() -> tuple[str, str]:
    """Two replica names, the second owning the rollout's key."""
    first, second = "a", "b"
    return (first, second) if owner(KEY, [first, second]) == second else (second, first)


def _joined(rig: Rig, store: FakeClusterStore, name: str) -> Coordinator:
    c = Coordinator(store, ClusterOptions(name, "", 1_000, 3_000), rig.clock, run_db=_direct)  # type: ignore[arg-type]
    runner = ClusterRunner()
    runner.coordinator = c
    runner.attach_rollouts(rig.service)
    return c


def _count_ticks(rig: Rig) -> Any:
    """Count the rollout's loop ticks in ``rig``'s service from now on."""
    sv = rig.service._served["checkout-v2"]
    real, n = sv.runner.tick, [0]

    async def tick(*args: Any) -> Any:
        n[0] += 1
        return await real(*args)

    sv.runner.tick = tick  # type: ignore[method-assign,assignment]
    return lambda: n[0]


def test_the_lease_holder_drives_a_rollout_another_replica_started(tmp_path: Any, fake_router: dict[str, World]) -> None:
    db = f"sqlite:///{tmp_path / 'state.db'}"

    async def go() -> None:
        clock = ManualClock(T0)
        store = FakeClusterStore(clock.now_ms)
        starter, driver = Rig(db, clock), Rig(db, clock)
        non_owner, holder = _names()
        cs = [_joined(starter, store, non_owner), _joined(driver, store, holder)]
        await starter.service.start(spec_text(), actor="alice")  # a first step runs at the start
        assert driver.service.list()[0]["name"] == "checkout-v2"
        for _ in range(2):
            for c in cs:
                await c.tick()
        assert cs[1].owns(KEY) and not cs[0].owns(KEY)
        ticks = {"starter": _count_ticks(starter), "driver": _count_ticks(driver)}
        for _ in range(8):
            for c in cs:
                await c.tick()
            await advance([starter.service, driver.service], clock, 1)  # one clock: settled together
        view = driver.service.get("checkout-v2")
        assert (view["phase"], view["canaryWeight"]) == ("Paused", 50)
        assert weights(fake_router["w"]) == [20, 50]  # each step's traffic moved once, by one replica
        assert ticks["starter"]() == 0 and ticks["driver"]() > 0
        third = Rig(db, clock)  # a replica that never served it takes a command
        third.service.owns = lambda name: False
        view = await third.service.abort("checkout-v2", "carol", "a command on any replica")
        assert view["phase"] == "Degraded"
        await starter.close()
        await driver.close()
        await third.close()

    asyncio.run(go())
