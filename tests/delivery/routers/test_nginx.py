"""The nginx router against the real nginx binary (a temp prefix, 127.0.0.1, free ports),
serving traffic from two tiny upstreams while the weights switch 0 -> 50 -> 100 under a
bounded load generator: no request fails and the split follows the weight.

Waiting for nginx's old workers to exit after a reload polls /proc (a real process, so a
bounded poll, not a simulated clock)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from sloguard.delivery.routers import HeaderRoute, MirrorRoute, RouteMatch, RouterError
from sloguard.delivery.routers.nginx import NginxConfig, NginxRouter
from tests._net import free_port
from tests.delivery.routers._upstream import TinyUpstream

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = [pytest.mark.peer, pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/install-peers)")]


def config(prefix: Path, stable: str, canary: str, **kw: object) -> NginxConfig:
    user = "nobody nogroup" if os.geteuid() == 0 else None  # workers must not run as root
    return NginxConfig("checkout", prefix, (stable,), (canary,), listen=f"127.0.0.1:{free_port()}",
                       binary=str(NGINX), user=user, **kw)  # type: ignore[arg-type]


def workers(prefix: Path) -> set[int]:
    master = int((prefix / "nginx.pid").read_text())
    return {int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


async def reload_done(prefix: Path, before: set[int]) -> None:
    """Wait (bounded) until every worker from before the reload has exited."""
    for _ in range(200):
        now = workers(prefix)
        if now and not now & before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"old nginx workers {before & workers(prefix)} did not exit after the reload")


class Load:
    """``concurrency`` clients sending GETs back to back until stopped; every outcome kept.

    With ``keep_alive`` a GET whose reused connection was closed before any byte of the
    answer (an old worker closing its idle connections at a reload) is retried once, as
    RFC 9112 section 9.3.1 allows for idempotent requests and browsers and Go's
    http.Transport do; ``retries`` counts them. Without it every request gets a fresh
    connection and nothing is retried."""

    def __init__(self, url: str, keep_alive: bool, concurrency: int = 4) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=10, limits=httpx.Limits(max_connections=concurrency),
                                        headers={} if keep_alive else {"connection": "close"})
        self.keep_alive = keep_alive
        self.results: list[str] = []
        self.failures: list[str] = []
        self.retries = 0
        self.stopping = False
        self.tasks = [asyncio.create_task(self._worker()) for _ in range(concurrency)]

    async def _get(self) -> httpx.Response:
        try:
            return await self.client.get("/")
        except (httpx.RemoteProtocolError, httpx.ReadError):
            if not self.keep_alive:
                raise
            self.retries += 1
            return await self.client.get("/")

    async def _worker(self) -> None:
        while not self.stopping:
            try:
                r = await self._get()
                if r.status_code != 200:
                    self.failures.append(f"status {r.status_code}: {r.text[:100]}")
                self.results.append(r.headers.get("x-upstream", "?"))
            except httpx.HTTPError as e:
                self.failures.append(repr(e))

    async def split(self, n: int) -> Counter[str]:
        start = len(self.results)
        while len(self.results) < start + n:
            await asyncio.sleep(0.01)
        return Counter(self.results[start:start + n])

    async def stop(self) -> None:
        self.stopping = True
        await asyncio.gather(*self.tasks)
        await self.client.aclose()


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
def test_weight_switch_under_load_fails_no_request(tmp_path: Path, keep_alive: bool) -> None:
    async def body() -> None:
        stable, canary = await TinyUpstream("v1").start(), await TinyUpstream("v2").start()
        router = NginxRouter(config(tmp_path, stable.address, canary.address))
        router.start()
        load = Load(f"http://{router.config.listen}", keep_alive)
        try:
            assert await load.split(200) == {"v1": 200}
            for weight in (50, 100, 0):
                before = workers(tmp_path)
                await asyncio.to_thread(router.set_weight, weight)
                await reload_done(tmp_path, before)
                got = await load.split(400)
                assert abs(got["v2"] - 4 * weight) <= 20, (weight, got)  # 5% of 400
                assert router.verify_weight(weight) is True
                assert router.verify_weight(weight + 1) is False
        finally:
            await load.stop()
            router.stop()
            await stable.stop()
            await canary.stop()
        assert load.failures == []
        assert len(load.results) >= 1400
        print(f"keep_alive={keep_alive}: {len(load.results)} requests, {load.retries} retried after a reload closed an idle connection")

    asyncio.run(body())


def test_header_cookie_and_mirror_routes_on_real_nginx(tmp_path: Path) -> None:
    async def body() -> None:
        stable, canary = await TinyUpstream("v1").start(), await TinyUpstream("v2").start()
        router = NginxRouter(config(tmp_path, stable.address, canary.address))
        router.start()
        try:
            changes = [
                (router.set_header_route, HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),))),
                (router.set_header_route, HeaderRoute("c", (RouteMatch("canary", "always", cookie=True),))),
                (router.set_mirror_route, MirrorRoute("shadow", (RouteMatch("x-shadow", "yes"),))),
            ]
            for change, route in changes:  # each reload done before the next: no worker of an older one serves
                before = workers(tmp_path)
                await asyncio.to_thread(change, route)  # type: ignore[arg-type]
                await reload_done(tmp_path, before)
            async with httpx.AsyncClient(base_url=f"http://{router.config.listen}") as c:
                async def who(**headers: str) -> str:
                    return (await c.get("/", headers=headers)).headers["x-upstream"]

                assert [await who(**{"x-user-type": "beta-tester"}) for _ in range(5)] == ["v2"] * 5
                assert [await who(**{"x-user-type": "nobody"}) for _ in range(5)] == ["v1"] * 5
                assert await who(cookie="canary=always") == "v2"
                assert canary.seen and all(s.path == "/" for s in canary.seen)
                seen = len(canary.seen)
                assert await c.post("/orders", content=b"copy me", headers={"x-shadow": "yes"}) is not None
                await asyncio.wait_for(_until(lambda: len(canary.seen) > seen), 5)
                assert canary.seen[-1].body == b"copy me" and stable.seen[-1].path == "/orders"
        finally:
            router.stop()
            await stable.stop()
            await canary.stop()

    asyncio.run(body())


async def _until(cond: object) -> None:
    while not cond():  # type: ignore[operator]
        await asyncio.sleep(0.01)


def test_a_config_nginx_refuses_is_not_installed(tmp_path: Path) -> None:
    router = NginxRouter(config(tmp_path, "127.0.0.1:1", "127.0.0.1:2"))
    broken = NginxRouter(config(tmp_path, "127.0.0.1:1", "127.0.0.1:2", keepalive=-5))
    with pytest.raises(RouterError, match="test the config failed") as e:
        broken.start()
    assert not e.value.retryable
    assert not router.conf_path.exists()


def test_header_values_nginx_could_misread_are_refused(tmp_path: Path) -> None:
    router = NginxRouter(config(tmp_path, "127.0.0.1:1", "127.0.0.1:2"))
    with pytest.raises(RouterError, match="quote"):
        router.render(router.desired.with_header_route(HeaderRoute("x", (RouteMatch("h", 'a"; evil'),)), "t"))
    with pytest.raises(RouterError, match=r"\$cookie_NAME"):
        router.render(router.desired.with_header_route(HeaderRoute("x", (RouteMatch("my-cookie", "v", cookie=True),)), "t"))


def test_a_failed_reload_leaves_the_previous_config_in_place(tmp_path: Path) -> None:
    router = NginxRouter(config(tmp_path, "127.0.0.1:1", "127.0.0.1:2"))
    router.start()
    try:
        router.set_weight(30)
    finally:
        router.stop()
    _until_stopped(tmp_path)
    with pytest.raises(RouterError, match="reload nginx failed") as e:
        router.set_weight(60)  # nginx is not running: the reload cannot be delivered
    assert e.value.retryable
    assert router.verify_weight(30) is True and router.desired.canary_weight == 30


def _until_stopped(prefix: Path) -> None:
    import time

    for _ in range(200):
        if not (prefix / "nginx.pid").exists():
            return
        time.sleep(0.05)
    raise AssertionError("nginx did not stop")
