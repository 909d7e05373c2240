"""Served rollouts through the real in-process proxy in front of tiny upstreams: the proxy
routes as the rollout says, keeps doing so across restarts of the service (mid-rollout,
Healthy and Degraded), and is reused, re-pointed, by the next rollout of the service."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from sloguard.clock import ManualClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.service import RolloutService, RolloutServiceError
from sloguard.state import SqlStateStore, open_store
from tests._net import free_port
from tests.delivery._rollout import T0, S
from tests.delivery._served import advance, spec_text
from tests.delivery.routers._upstream import TinyUpstream

ALL_IN = "\n      - setWeight: 100\n      - pause: {}\n"
BETA = """
      - setHeaderRoute:
          name: beta
          match: [{headerName: x-user-type, headerValue: {exact: beta-tester}}]
      - pause: {}
"""


async def versions(port: int, n: int = 6, **kw: object) -> Counter[str]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
        return Counter([(await c.get("/", **kw)).headers.get("x-upstream", "none") for _ in range(n)])  # type: ignore[arg-type]


class Served:
    def __init__(self, db: str, clock: ManualClock) -> None:
        self.store: SqlStateStore = open_store(db)
        self.service = RolloutService(self.store.rollouts, ProviderEnv(), clock, tick_ms=S)

    async def close(self) -> None:
        await self.service.close()
        self.store.close()


def test_the_proxy_follows_the_rollout_across_restarts_and_the_next_rollout(tmp_path: Path) -> None:
    db, port = f"sqlite:///{tmp_path / 'state.db'}", free_port()
    router = f"{{type: proxy, proxy: {{port: {port}}}}}"

    async def go() -> None:
        ups = {v: await TinyUpstream(v).start() for v in ("v1", "v2", "v3")}
        clock = ManualClock(T0)

        def text(name: str, stable: str, canary: str, steps: str) -> str:
            return spec_text(name, router, steps, stable, canary, stable_up=ups[stable].address,
                             canary_up=ups[canary].address)

        try:
            a = Served(db, clock)
            view = await a.service.start(text("checkout-v2", "v1", "v2", ALL_IN))
            assert view["proxy"] == {"port": port} and a.service.proxy_port("checkout") == port
            assert await versions(port) == Counter({"v2": 6})
            try:
                await a.service.start(text("checkout-v3", "v2", "v3", BETA))
                raise AssertionError("a second rollout started on a proxy in use")
            except RolloutServiceError as e:
                assert e.status == 409 and "in use by the rollout 'checkout-v2'" in str(e)
            assert await versions(port) == Counter({"v2": 6})  # and the proxy was not re-pointed
            await a.close()
            try:
                await versions(port, 1)
                raise AssertionError("the proxy still listens after close()")
            except httpx.ConnectError:
                pass

            b = Served(db, clock)  # a restart mid-rollout: Paused at 100% to the canary
            await b.service.open()
            assert b.service.get("checkout-v2")["phase"] == "Paused"
            assert await versions(port) == Counter({"v2": 6})
            await b.service.promote("checkout-v2", "bob")
            await advance(b.service, clock, 1, S)
            assert b.service.get("checkout-v2")["phase"] == "Healthy"
            await b.close()

            c = Served(db, clock)  # Healthy: the canary keeps all traffic after a restart
            await c.service.open()
            assert await versions(port) == Counter({"v2": 6})
            view = await c.service.start(text("checkout-v3", "v2", "v3", BETA))  # the same proxy, re-pointed
            assert view["proxy"] == {"port": port} and view["headerRoutes"] == ["beta"]
            await advance(c.service, clock, 1, S)
            assert c.service.get("checkout-v3")["phase"] == "Paused"
            assert await versions(port) == Counter({"v2": 6})
            assert await versions(port, headers={"x-user-type": "beta-tester"}) == Counter({"v3": 6})
            await c.service.abort("checkout-v3", "carol", "beta testers saw errors")
            assert await versions(port, headers={"x-user-type": "beta-tester"}) == Counter({"v2": 6})
            await c.close()

            d = Served(db, clock)  # Degraded: 0% to the canary after a restart, the last rollout wins
            await d.service.open()
            assert await versions(port, headers={"x-user-type": "beta-tester"}) == Counter({"v2": 6})
            assert {r["name"]: r["phase"] for r in d.service.list()} == {"checkout-v2": "Healthy", "checkout-v3": "Degraded"}
            await d.close()
        finally:
            for u in ups.values():
                await u.stop()

    asyncio.run(go())
