"""Helpers for served-rollout tests: a ``fake`` router type a spec can name (registered in
``ROUTERS`` by the ``fake_router`` fixture; its calls go to a shared ``World`` by name),
spec texts, and an async driver on a manual clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest

from sloguard.clock import ManualClock
from sloguard.delivery.routers import ROUTERS
from sloguard.delivery.service import RolloutService
from tests.delivery._rollout import FakeRouter, World

WORLDS: dict[str, World] = {}
FAILING: dict[str, set[int]] = {}


@dataclass(frozen=True, slots=True)
class FakeConfig:
    """The ``fake`` router's config: which shared world it moves."""

    world: str = "default"


class SpecFakeRouter(FakeRouter):
    TYPE: ClassVar[str] = "fake"

    def __init__(self, config: FakeConfig) -> None:
        super().__init__(WORLDS.setdefault(config.world, World()), fail_at=tuple(FAILING.get(config.world, ())))


@pytest.fixture
def fake_router(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, World]]:
    monkeypatch.setitem(ROUTERS, "fake", (FakeConfig, SpecFakeRouter))
    WORLDS.clear()
    FAILING.clear()
    yield WORLDS
    WORLDS.clear()
    FAILING.clear()


TEMPLATE = """
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  metrics:
  - name: success-rate
    successCondition: result >= 0.95
    provider: {prometheus: {query: ok}}
"""

STEPS = """
      - setWeight: 20
      - analysis: {templates: [{templateName: success-rate}]}
      - setWeight: 50
      - pause: {}
      - setWeight: 80
"""


def spec_text(name: str = "checkout-v2", router: str = "{type: fake, fake: {world: w}}", steps: str = STEPS,
              stable: str = "v1", canary: str = "v2", policy: str = "", stable_up: str = "127.0.0.1:9001",
              canary_up: str = "127.0.0.1:9002") -> str:
    router_line = f"  router: {router}\n" if router else ""
    return f"""apiVersion: sloguard/v1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: checkout
  versions:
    stable: {{name: {stable}, upstreams: ["{stable_up}"]}}
    canary: {{name: {canary}, upstreams: ["{canary_up}"]}}
{router_line}{policy}  strategy:
    canary:
      steps:{steps}""" + TEMPLATE


async def settle(service: RolloutService | Sequence[RolloutService], clock: ManualClock,
                 timeout_s: float = 10.0) -> None:
    """Wait (real time, bounded) until every rollout loop sleeps on the clock again: a tick
    runs router calls and measurements on threads, which a few loop rounds may not finish.
    Services that share ``clock`` must be settled together: its sleepers are all of theirs."""
    services = [service] if isinstance(service, RolloutService) else list(service)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = [sv for s in services for sv in s._served.values() if sv.task is not None and not sv.task.done()]
        if clock.sleepers >= len(running):
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"the rollout loops did not settle within {timeout_s} s")


async def advance(service: RolloutService | Sequence[RolloutService], clock: ManualClock, seconds: int,
                  step_ms: int = 1000) -> None:
    """Advance the clock ``seconds`` one tick at a time, each tick run to its end."""
    for _ in range(seconds):
        await settle(service, clock)
        await clock.advance(step_ms)
        await settle(service, clock)
