"""Run by test_service_kill: a ``RolloutService`` in its own process (real clock, 100 ms
ticks) with its in-process proxy in front of two tiny upstreams on fixed ports. ``start``
starts the rollout, ``open`` resumes what the store holds; then ``READY`` is printed and
each line on stdin is a command (``promote``), answered with the rollout's weight.

argv: state URL, proxy port, v1 port, v2 port, start|open.
"""

from __future__ import annotations

import asyncio
import sys

from sloguard.clock import SystemClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.service import RolloutService
from sloguard.state import open_store
from tests.delivery._served import spec_text
from tests.delivery.routers._upstream import TinyUpstream

STEPS = "\n      - setWeight: 50\n      - pause: {}\n      - setWeight: 100\n      - pause: {}\n"


async def upstream(name: str, port: int) -> TinyUpstream:
    u = TinyUpstream(name)
    u.server = await asyncio.start_server(u._serve, "127.0.0.1", port)
    return u


async def main(url: str, proxy: int, v1: int, v2: int, mode: str) -> None:
    await upstream("v1", v1)
    await upstream("v2", v2)
    store = open_store(url)
    service = RolloutService(store.rollouts, ProviderEnv(), SystemClock(), tick_ms=100)
    if mode == "start":
        text = spec_text("checkout-v2", f"{{type: proxy, proxy: {{port: {proxy}}}}}", STEPS,
                         stable_up=f"127.0.0.1:{v1}", canary_up=f"127.0.0.1:{v2}")
        await service.start(text, source="kill-test.yaml")
    else:
        await service.open()
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if line == "promote":
            view = await service.promote("checkout-v2", "tester")
            print(f"WEIGHT {view['canaryWeight']}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
