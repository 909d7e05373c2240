"""The load generator is bounded: a fixed rate, never more than max_in_flight requests at
once (the rest skipped and counted), and nothing left running after stop()."""

from __future__ import annotations

import asyncio

import pytest

from sloguard.demo import DemoError, LoadConfig, LoadGenerator, VersionProfile, VersionServer


def _slow(name: str, seconds: float) -> VersionProfile:
    return VersionProfile(name, error_ratio=0.0, median_s=seconds, sigma=0.0)


def test_in_flight_requests_never_exceed_the_bound_and_the_rest_are_skipped() -> None:
    async def main() -> tuple[LoadGenerator, list[int]]:
        server = VersionServer(_slow("slow", 0.3), seed=1)
        await server.start()
        gen = LoadGenerator(server.port, LoadConfig(rps=100, max_in_flight=4))
        seen = []
        gen.start()
        for _ in range(40):
            await asyncio.sleep(0.02)
            seen.append(gen.in_flight)
        await gen.stop()
        await server.stop()
        return gen, seen

    gen, seen = asyncio.run(main())
    assert max(seen) == 4                  # the bound is reached, never passed
    assert gen.stats.skipped > 0           # due while 4 were in flight: skipped, not queued
    assert gen.in_flight == 0


def test_it_sends_at_its_rate_counts_answers_by_version_and_follows_a_moving_target() -> None:
    async def main() -> tuple[LoadGenerator, VersionServer, VersionServer, float]:
        a = VersionServer(VersionProfile("va", error_ratio=1.0, median_s=0.001, sigma=0.0), seed=1)
        b = VersionServer(VersionProfile("vb", error_ratio=0.0, median_s=0.001, sigma=0.0), seed=1)
        await a.start()
        await b.start()
        target = {"port": a.port}
        gen = LoadGenerator(lambda: target["port"], LoadConfig(rps=200, max_in_flight=16))
        began = asyncio.get_running_loop().time()
        gen.start()
        await asyncio.sleep(0.5)
        target["port"] = b.port
        await asyncio.sleep(0.5)
        await gen.stop()
        elapsed = asyncio.get_running_loop().time() - began
        await a.stop()
        await b.stop()
        return gen, a, b, elapsed

    gen, a, b, elapsed = asyncio.run(main())
    s = gen.stats
    assert 0 < s.sent + s.skipped <= 200 * elapsed + 1   # never faster than its rate
    assert s.errors == a.stats.requests == s.versions["va"] > 50
    assert s.ok == b.stats.requests == s.versions["vb"] > 50
    assert s.failed == 0


def test_a_target_that_is_not_ready_skips_and_one_that_refuses_fails_without_stopping() -> None:
    async def main() -> LoadGenerator:
        gen = LoadGenerator(lambda: None, LoadConfig(rps=100))
        gen.start()
        await asyncio.sleep(0.2)
        await gen.stop()
        assert gen.stats.sent == 0 and gen.stats.skipped > 5
        closed = VersionServer(_slow("gone", 0.001), seed=1)
        await closed.start()
        port = closed.port
        await closed.stop()
        gen = LoadGenerator(port, LoadConfig(rps=100))
        gen.start()
        await asyncio.sleep(0.2)
        await gen.stop()
        return gen

    gen = asyncio.run(main())
    assert gen.stats.failed == gen.stats.sent > 5


def test_bad_settings_are_refused_with_the_value() -> None:
    with pytest.raises(DemoError, match="rps must be in \\(0, 10000\\], got 0"):
        LoadConfig(rps=0)
    with pytest.raises(DemoError, match="max_in_flight must be 1 to 1024, got 0"):
        LoadConfig(max_in_flight=0)
