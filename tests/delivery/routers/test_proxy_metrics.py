"""The proxy's per-version RED metrics reach a sink with the right names and labels."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sloguard.clock import ManualClock
from sloguard.delivery.routers import HeaderRoute, RouteMatch
from sloguard.delivery.routers._proxy_metrics import RedMetrics, format_le
from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version
from sloguard.labels import Labels, Matcher
from sloguard.tsdb.testing import MemoryStorage
from tests.delivery.routers._upstream import TinyUpstream


class FakeAppender:
    def __init__(self, sink: FakeSink) -> None:
        self.sink = sink
        self.pending: list[tuple[Labels, int, float]] = []

    def append(self, labels: Labels, t: int, v: float) -> None:
        self.pending.append((labels, t, v))

    def commit(self) -> None:
        self.sink.commits.append(self.pending)


class FakeSink:
    def __init__(self) -> None:
        self.commits: list[list[tuple[Labels, int, float]]] = []

    def appender(self) -> FakeAppender:
        return FakeAppender(self)

    def last(self) -> dict[Labels, float]:
        return {lab: v for lab, _, v in self.commits[-1]}


def select(storage: MemoryStorage, name: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    batch = storage.querier().select([Matcher.equal("__name__", name), Matcher.equal("service", "checkout")], 0, 2**62)
    out = {}
    for i in range(len(batch)):
        labels, ts, vs = batch.series(i)
        out[(labels.get("version"), labels.get("code"))] = list(zip(ts.tolist(), vs.tolist(), strict=True))
    return out


def test_counters_and_histogram_are_cumulative_per_version_and_code() -> None:
    m = RedMetrics("checkout", (0.1, 0.5))
    for version, code, secs in [("v1", 200, 0.05), ("v1", 200, 0.3), ("v1", 500, 0.7), ("v2", 200, 0.1)]:
        m.observe(version, code, secs)
    sink = FakeSink()
    assert m.flush(sink, 1000) == 3 + 2 * 5
    got = sink.last()

    def lab(name: str, **kw: str) -> Labels:
        return Labels.from_dict({"__name__": name, "service": "checkout", **kw})

    assert got[lab("http_requests_total", version="v1", code="200")] == 2
    assert got[lab("http_requests_total", version="v1", code="500")] == 1
    buckets = {le: got[lab("http_request_duration_seconds_bucket", version="v1", le=le)] for le in ("0.1", "0.5", "+Inf")}
    assert buckets == {"0.1": 1, "0.5": 2, "+Inf": 3}
    assert got[lab("http_request_duration_seconds_bucket", version="v2", le="0.1")] == 1  # le is inclusive
    assert got[lab("http_request_duration_seconds_count", version="v1")] == 3
    assert got[lab("http_request_duration_seconds_sum", version="v1")] == pytest.approx(1.05)
    m.observe("v1", 200, 0.01)
    m.flush(sink, 2000)
    assert sink.last()[lab("http_requests_total", version="v1", code="200")] == 3
    assert {t for _, t, _ in sink.commits[-1]} == {2000}


def test_le_is_written_as_client_libraries_write_it() -> None:
    assert [format_le(b) for b in (0.005, 0.25, 1.0, 10.0, float("inf"))] == ["0.005", "0.25", "1", "10", "+Inf"]


def test_buckets_must_increase() -> None:
    with pytest.raises(ValueError, match="buckets"):
        RedMetrics("s", (0.5, 0.1))


def test_proxy_flushes_red_metrics_into_storage_on_its_clock() -> None:
    async def body() -> None:
        stable, canary = await TinyUpstream("v1").start(), await TinyUpstream("v2").start()
        proxy = ProxyRouter(ProxyConfig("checkout", Version("v1", (stable.address,)),
                                        Version("v2", (canary.address,)), flush_interval_s=5, seed=1))
        storage, clock = MemoryStorage(), ManualClock(1_000_000)
        await proxy.start(sink=storage, clock=clock)
        try:
            proxy.set_header_route(HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),)))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}") as c:
                for _ in range(7):
                    await c.get("/")
                for _ in range(3):
                    await c.get("/fail", headers={"x-user-type": "beta-tester"})
            assert select(storage, "http_requests_total") == {}  # nothing before the first flush
            await clock.advance(5000)
            assert select(storage, "http_requests_total") == {
                ("v1", "200"): [(1_005_000, 7.0)], ("v2", "500"): [(1_005_000, 3.0)],
            }
            assert select(storage, "http_request_duration_seconds_count") == {
                ("v1", ""): [(1_005_000, 7.0)], ("v2", ""): [(1_005_000, 3.0)],
            }
            await clock.advance(5000)
            assert select(storage, "http_requests_total")[("v1", "200")][-1] == (1_010_000, 7.0)
        finally:
            await proxy.stop()
            await stable.stop()
            await canary.stop()

    asyncio.run(body())
