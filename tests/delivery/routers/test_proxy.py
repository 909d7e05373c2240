"""The built-in proxy on 127.0.0.1 in front of tiny upstreams: weights, routes, stickiness,
mirroring, draining, failures, limits."""

from __future__ import annotations

import asyncio
import importlib.util
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sloguard.delivery.routers import (
    HeaderRoute,
    MatchKind,
    MirrorRoute,
    RouteMatch,
    RouterError,
    WeightDestination,
)
from sloguard.delivery.routers.proxy import Limits, ProxyConfig, ProxyRouter, Version
from tests._net import free_port
from tests.delivery.routers._upstream import TinyUpstream

BETA = HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),))


@dataclass
class Rig:
    proxy: ProxyRouter
    stable: TinyUpstream
    canary: TinyUpstream
    client: httpx.AsyncClient

    async def versions(self, n: int, path: str = "/", **kw: Any) -> Counter[str]:
        got: Counter[str] = Counter()
        for _ in range(n):
            r = await self.client.get(path, **kw)
            got[r.headers.get("x-upstream", str(r.status_code))] += 1
        return got


@asynccontextmanager
async def rig(**config: Any) -> AsyncIterator[Rig]:
    stable, canary = await TinyUpstream("v1").start(), await TinyUpstream("v2").start()
    cfg = ProxyConfig("checkout", Version("v1", (stable.address,)), Version("v2", (canary.address,)),
                      seed=config.pop("seed", 7), **config)
    proxy = ProxyRouter(cfg)
    await proxy.start()
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}", timeout=10)
    try:
        yield Rig(proxy, stable, canary, client)
    finally:
        await client.aclose()
        await proxy.stop()
        await stable.stop()
        await canary.stop()


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    def wrapper() -> None:
        asyncio.run(test())

    wrapper.__name__ = test.__name__
    return wrapper


@run
async def test_weights_split_traffic_in_proportion() -> None:
    async with rig() as r:
        assert await r.versions(40) == {"v1": 40}
        r.proxy.set_weight(25)
        got = await r.versions(400)
        assert 60 <= got["v2"] <= 140, got  # binomial(400, 0.25): mean 100, sd 8.7
        r.proxy.set_weight(100)
        assert await r.versions(40) == {"v2": 40}


@run
async def test_header_route_sends_matching_requests_to_the_canary_at_weight_zero() -> None:
    async with rig() as r:
        r.proxy.set_header_route(BETA)
        assert await r.versions(20, headers={"X-User-Type": "beta-tester"}) == {"v2": 20}
        assert await r.versions(20, headers={"x-user-type": "other"}) == {"v1": 20}
        assert await r.versions(20) == {"v1": 20}
        r.proxy.set_header_route(HeaderRoute("beta"))  # no matches: the route goes
        assert await r.versions(20, headers={"x-user-type": "beta-tester"}) == {"v1": 20}


@run
async def test_prefix_regex_and_all_matches_of_a_route_must_hold() -> None:
    async with rig() as r:
        r.proxy.set_header_route(HeaderRoute("r", (RouteMatch("x-region", "eu-", MatchKind.PREFIX),
                                                   RouteMatch("x-tier", "^(gold|silver)$", MatchKind.REGEX))))
        assert await r.versions(5, headers={"x-region": "eu-west", "x-tier": "gold"}) == {"v2": 5}
        assert await r.versions(5, headers={"x-region": "us-east", "x-tier": "gold"}) == {"v1": 5}
        assert await r.versions(5, headers={"x-region": "eu-west", "x-tier": "bronze"}) == {"v1": 5}


@run
async def test_cookie_route() -> None:
    async with rig() as r:
        r.proxy.set_header_route(HeaderRoute("c", (RouteMatch("canary", "always", cookie=True),)))
        assert await r.versions(10, headers={"cookie": "a=b; canary=always"}) == {"v2": 10}
        assert await r.versions(10, headers={"cookie": "canary=never"}) == {"v1": 10}


@run
async def test_sticky_sessions_keep_a_client_on_its_version_until_the_weight_goes() -> None:
    async with rig(sticky_cookie="sg_version") as r:
        r.proxy.set_weight(50)
        first = await r.client.get("/")
        pinned = first.headers["x-upstream"]
        assert first.headers["set-cookie"].startswith(f"sg_version={pinned};")
        cookie = {"cookie": f"sg_version={pinned}"}
        assert await r.versions(30, headers=cookie) == {pinned: 30}
        r.proxy.set_weight(0)
        assert await r.versions(5, headers={"cookie": "sg_version=v2"}) == {"v1": 5}


@run
async def test_mirroring_copies_requests_to_the_canary_and_drops_its_answer() -> None:
    async with rig() as r:
        r.proxy.set_mirror_route(MirrorRoute("shadow", (RouteMatch("x-shadow", "yes"),), 100))
        resp = await r.client.post("/orders?id=1", content=b"payload", headers={"x-shadow": "yes"})
        assert resp.headers["x-upstream"] == "v1"
        await asyncio.wait_for(r.canary.received.wait(), 5)
        copy = r.canary.seen[0]
        assert (copy.method, copy.path, copy.body) == ("POST", "/orders?id=1", b"payload")
        await r.versions(5)  # no x-shadow header: not copied
        assert len(r.canary.seen) == 1
        assert r.proxy.metrics.requests("v2", 200) == 0  # mirrored answers are not the canary's RED


@run
async def test_draining_lets_in_flight_requests_finish_and_sends_new_ones_elsewhere() -> None:
    async with rig() as r:
        r.canary.hold = asyncio.Event()
        r.proxy.set_weight(100)
        slow = asyncio.create_task(r.client.get("/hold"))
        await asyncio.wait_for(r.canary.held.wait(), 5)
        r.proxy.set_canary(None)
        assert r.proxy.in_flight("v2") == 1
        async with httpx.AsyncClient(base_url=str(r.client.base_url)) as other:
            assert (await other.get("/")).headers["x-upstream"] == "v1"
        r.canary.hold.set()
        resp = await slow
        assert (resp.status_code, resp.text) == (200, "v2")
        assert await r.proxy.wait_drained("v2", 5)
        assert r.proxy.in_flight("v2") == 0


@run
async def test_unreachable_upstream_gives_502_and_the_proxy_keeps_serving() -> None:
    async with rig() as r:
        r.proxy.set_canary(Version("v3", (f"127.0.0.1:{free_port()}",)))
        r.proxy.set_weight(100)
        resp = await r.client.get("/")
        assert resp.status_code == 502 and "v3" in resp.text
        r.proxy.set_weight(0)
        assert await r.versions(5) == {"v1": 5}
        assert r.proxy.metrics.requests("v3", 502) == 1


@run
async def test_a_dead_address_in_a_pool_fails_over_to_the_next() -> None:
    alive = await TinyUpstream("v1").start()
    proxy = ProxyRouter(ProxyConfig("s", Version("v1", (f"127.0.0.1:{free_port()}", alive.address))))
    await proxy.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}") as c:
            codes = [(await c.get("/")).status_code for _ in range(10)]
        assert codes == [200] * 10
    finally:
        await proxy.stop()
        await alive.stop()


@run
async def test_slow_upstream_gives_504() -> None:
    async with rig(limits=Limits(upstream_timeout_s=0.2)) as r:
        r.canary.hold = asyncio.Event()
        r.proxy.set_weight(100)
        assert (await r.client.get("/hold")).status_code == 504
        r.canary.hold.set()
        assert (await r.client.get("/")).status_code == 200


@run
async def test_version_without_addresses_gives_503() -> None:
    async with rig() as r:
        r.proxy.set_canary(Version("empty", ()))
        r.proxy.set_weight(100)
        assert (await r.client.get("/")).status_code == 503


async def raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = await reader.read()
    writer.close()
    return out


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"h%d: v\r\n" % i for i in range(150)) + b"\r\n", b"431"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
    ],
    ids=["header-too-big", "too-many-headers", "no-colon", "bad-request-line", "http2", "cl-and-te", "body-too-big"],
)
def test_bad_requests_are_refused_and_the_proxy_keeps_serving(request_bytes: bytes, status: bytes) -> None:
    async def body() -> None:
        async with rig() as r:
            answer = await raw(r.proxy.port, request_bytes)
            assert answer.split(b" ")[1] == status, answer[:200]
            assert (await r.client.get("/")).status_code == 200

    asyncio.run(body())


@run
async def test_chunked_request_and_response_bodies_pass_through() -> None:
    async with rig() as r:
        answer = await raw(r.proxy.port, b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                         b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        assert r.stable.seen[-1].body == b"abcde"
        head, _, chunked = answer.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        resp = await r.client.get("/chunked")
        assert resp.content == b"part-v1" + b"x" * 70000


@run
async def test_upstream_connections_are_kept_alive_and_reused() -> None:
    async with rig() as r:
        await r.versions(30)
        assert r.stable.connections == 1


@run
async def test_routing_changes_are_validated() -> None:
    async with rig() as r:
        bad_calls: list[Callable[[], None]] = [lambda: r.proxy.set_weight(101), lambda: r.proxy.set_weight(-1),
                    lambda: r.proxy.set_weight(50, (WeightDestination("baseline", 60),)),
                    lambda: r.proxy.set_weight(10, (WeightDestination("nope", 5),)),
                    lambda: r.proxy.set_header_route(HeaderRoute("x", (RouteMatch("h", "(", MatchKind.REGEX),))),
                    lambda: r.proxy.set_mirror_route(MirrorRoute("m", (), 150))]
        for bad in bad_calls:
            with pytest.raises(RouterError):
                bad()
        r.proxy.set_weight(30)
        assert r.proxy.verify_weight(30) is True
        assert r.proxy.verify_weight(31) is False


@run
async def test_additional_destination_takes_its_share() -> None:
    base = await TinyUpstream("baseline").start()
    stable, canary = await TinyUpstream("v1").start(), await TinyUpstream("v2").start()
    proxy = ProxyRouter(ProxyConfig("s", Version("v1", (stable.address,)), Version("v2", (canary.address,)),
                                    extra=(Version("baseline", (base.address,)),), seed=3))
    await proxy.start()
    try:
        proxy.set_weight(20, (WeightDestination("baseline", 20),))
        assert proxy.verify_weight(20, (WeightDestination("baseline", 20),))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}") as c:
            got = Counter([(await c.get("/")).text for _ in range(300)])
        assert 35 <= got["baseline"] <= 85 and 35 <= got["v2"] <= 85, got  # mean 60, sd 6.9
    finally:
        await proxy.stop()
        for u in (base, stable, canary):
            await u.stop()


def test_a_config_with_bad_upstreams_or_duplicate_names_is_refused() -> None:
    with pytest.raises(RouterError, match="not host:port"):
        ProxyRouter(ProxyConfig("s", Version("v1", ("localhost",))))
    with pytest.raises(RouterError, match="not distinct"):
        ProxyRouter(ProxyConfig("s", Version("v1", ("127.0.0.1:1",)), Version("v1", ("127.0.0.1:2",))))


@run
async def test_an_idle_or_slow_client_connection_is_closed() -> None:
    async with rig(limits=Limits(client_idle_timeout_s=0.2)) as r:
        reader, writer = await asyncio.open_connection("127.0.0.1", r.proxy.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        assert (await r.client.get("/")).status_code == 200


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop (optional) is not installed")
def test_the_proxy_runs_on_uvloop() -> None:
    import uvloop

    async def body() -> None:
        async with rig() as r:
            r.proxy.set_weight(100)
            assert await r.versions(10) == {"v2": 10}
            r.proxy.set_canary(None)
            assert await r.versions(10) == {"v1": 10}

    uvloop.run(body())


@run
async def test_large_bodies_and_head_requests_keep_their_framing() -> None:
    async with rig() as r:
        big = await r.client.get("/big")
        assert big.content == b"v1" * 50000
        head = await r.client.head("/big")
        assert (head.status_code, head.headers["content-length"], head.content) == (200, "100000", b"")
        assert (await r.client.get("/")).text == "v1"  # the connections are still in step
        assert r.stable.connections == 1


@run
async def test_expect_100_continue_is_answered_by_the_proxy() -> None:
    async with rig() as r:
        reader, writer = await asyncio.open_connection("127.0.0.1", r.proxy.port)
        writer.write(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"body")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(2) == b"v1"
        writer.close()
        assert r.stable.seen[-1].body == b"body" and "expect" not in r.stable.seen[-1].headers


@run
async def test_stop_lets_in_flight_requests_finish() -> None:
    async with rig() as r:
        r.stable.hold = asyncio.Event()
        slow = asyncio.create_task(r.client.get("/hold"))
        await asyncio.wait_for(r.stable.held.wait(), 5)
        stopping = asyncio.create_task(r.proxy.stop())
        await asyncio.sleep(0)
        assert not stopping.done()
        r.stable.hold.set()
        assert (await slow).text == "v1"
        await stopping


@run
async def test_set_stable_replaces_the_stable_version_and_drains_the_old_one() -> None:
    async with rig() as r:
        r.stable.hold = asyncio.Event()
        third = await TinyUpstream("v3").start()
        try:
            slow = asyncio.create_task(r.client.get("/hold"))  # weight 0: held on the stable v1
            await asyncio.wait_for(r.stable.held.wait(), 5)
            r.proxy.set_stable(Version("v3", (third.address,)))
            assert r.proxy.in_flight("v1") == 1
            async with httpx.AsyncClient(base_url=str(r.client.base_url)) as other:
                got = Counter([(await other.get("/")).headers["x-upstream"] for _ in range(5)])
            assert got == Counter({"v3": 5})
            r.proxy.set_weight(100)
            assert (await r.versions(3)) == Counter({"v2": 3})
            r.stable.hold.set()
            assert (await slow).text == "v1"
            assert await r.proxy.wait_drained("v1", 5)
            with pytest.raises(RouterError, match="version name"):
                r.proxy.set_stable(Version("bad name", (third.address,)))
        finally:
            await third.stop()
