"""Run by test_runner: drive a rollout until the router is asked for weight 40, print
``MID`` there (after the state was committed, before the router acts) and wait to be
killed with SIGKILL.

argv: state URL, a file where the router appends each weight it applies.
"""

from __future__ import annotations

import asyncio
import sys
import time

from sloguard.clock import ManualClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.runner import RolloutRunner
from sloguard.state import open_store
from tests.delivery._rollout import T0, FakeRouter, World


class HangingRouter(FakeRouter):
    def __init__(self, log: str) -> None:
        super().__init__(World())
        self.log = log

    def set_weight(self, canary_weight: int, additional: tuple[object, ...] = ()) -> None:
        if canary_weight == 40:
            print("MID", flush=True)
            time.sleep(120)  # killed here
        super().set_weight(canary_weight)
        with open(self.log, "a") as f:
            f.write(f"{canary_weight}\n")


async def main(url: str, log: str) -> None:
    from tests.delivery.test_runner import PLAN

    store = open_store(url)
    runner = RolloutRunner(store.rollouts, HangingRouter(log), ProviderEnv(), ManualClock(T0))
    await runner.start(PLAN)
    for _ in range(10):
        await runner.tick(PLAN)
    print("never asked for weight 40", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
