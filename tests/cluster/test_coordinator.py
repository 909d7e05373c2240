"""The coordinator's lease logic on an injected clock: shares, hand-over, the deadline
that ends ownership before anyone else may take a lease, and leaving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sloguard.clock import ManualClock
from sloguard.cluster import ClusterOptions, Coordinator, Source
from sloguard.cluster.testing import FakeClusterStore

KEYS = [f"g{i}" for i in range(60)]
HB, TTL = 1_000, 3_000


async def _direct(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def _replica(store: FakeClusterStore, clock: ManualClock, name: str, keys: list[str] = KEYS,
             on_acquire: Callable[[str, int], Awaitable[None]] | None = None) -> Coordinator:
    c = Coordinator(store, ClusterOptions(name, f"http://{name}/", HB, TTL), clock, run_db=_direct)  # type: ignore[arg-type]
    c.add_source(Source("rules", lambda: keys, on_acquire))
    return c


def _owners(replicas: list[Coordinator], key: str) -> list[str]:
    return [c.name for c in replicas if c.owns(key)]


async def _rounds(replicas: list[Coordinator], clock: ManualClock, n: int) -> None:
    for _ in range(n):
        for c in replicas:
            await c.tick()
        await clock.advance(HB)


def test_options_refuse_a_ttl_shorter_than_two_heartbeats() -> None:
    with pytest.raises(ValueError, match="lease_ttl .* at least twice"):
        ClusterOptions("a", heartbeat_ms=1_000, lease_ttl_ms=1_500)
    with pytest.raises(ValueError, match="name must not be empty"):
        ClusterOptions("")


async def test_live_replicas_share_every_key_and_none_twice() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    rs = [_replica(store, clock, n) for n in ("a", "b", "c")]
    await _rounds(rs, clock, 2)
    for c in rs:
        await c.tick()
    assert all(len(_owners(rs, k)) == 1 for k in KEYS)
    assert all(len(c.held) > 5 for c in rs)
    assert {m for c in rs for m in c.members} == {"a", "b", "c"}


async def test_a_dead_replicas_keys_move_once_its_leases_expire_and_not_before() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    a, b = _replica(store, clock, "a"), _replica(store, clock, "b")
    await _rounds([a, b], clock, 2)
    b_keys = set(b.held)
    died_at = clock.now_ms()
    await b.tick()  # b's last renewal, then it dies (no more rounds)
    while not b_keys <= a.held:
        await a.tick()
        for k in b_keys:  # never two owners: b's ownership ended before a could take over
            assert not (a.owns(k) and b.owns(k))
        await clock.advance(100)
    assert clock.now_ms() - died_at <= TTL + HB + 100
    assert clock.now_ms() - died_at >= TTL - 100


async def test_a_replica_cut_off_from_the_database_stops_before_its_leases_expire() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    a = _replica(store, clock, "a")
    await a.tick()
    renewed_at = clock.now_ms()
    assert a.held == frozenset(KEYS)
    store.down = True
    await clock.advance(HB)
    assert await a.tick() is None and not a.reachable and "down" in a.last_error
    assert a.owns("g1")  # still inside its deadline
    expiry = min(lease.expires_at for lease in store._leases.rows.values())
    await clock.advance_to(expiry - 1)
    assert not a.owns("g1") and a.held == frozenset()  # the deadline came first
    assert expiry == renewed_at + TTL
    store.down = False
    await a.tick()
    assert a.reachable and a.owns("g1")


async def test_a_joining_replica_takes_its_share_with_no_key_owned_twice() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    a, b = _replica(store, clock, "a"), _replica(store, clock, "b")
    await _rounds([a], clock, 2)
    assert a.held == frozenset(KEYS)
    for _ in range(4):
        for c in (b, a, b):
            await c.tick()
            assert all(len(_owners([a, b], k)) <= 1 for k in KEYS)
        await clock.advance(HB)
    assert a.held | b.held == frozenset(KEYS) and 15 < len(b.held) < 45


async def test_taking_over_reports_the_previous_holders_expiry() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    seen: dict[str, int] = {}

    async def took(key: str, previous_expiry: int) -> None:
        seen[key] = previous_expiry

    a, b = _replica(store, clock, "a"), _replica(store, clock, "b", on_acquire=took)
    await _rounds([a], clock, 1)
    last_renewal = clock.now_ms()
    await a.tick()
    await clock.advance(TTL + 1)
    await b.tick()
    assert set(seen) == set(KEYS)
    assert set(seen.values()) == {last_renewal + TTL}  # a's last lease, renewed at its last round


async def test_stopping_releases_every_lease_at_once() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)
    a, b = _replica(store, clock, "a"), _replica(store, clock, "b")
    await _rounds([a, b], clock, 2)
    await a.stop()
    assert not any(a.owns(k) for k in KEYS)
    await b.tick()
    assert b.held == frozenset(KEYS)  # no waiting for a's leases to expire


async def test_a_round_that_hangs_counts_as_unreachable() -> None:
    clock = ManualClock(1_000_000)
    store = FakeClusterStore(clock.now_ms)

    async def hang(fn: Callable[..., Any], *args: Any) -> Any:
        await asyncio.sleep(10)

    a = Coordinator(store, ClusterOptions("a", "", 100, 200), clock, run_db=hang)  # type: ignore[arg-type]
    assert await a.tick() is None
    assert not a.reachable and "did not answer within 0.2 s" in a.last_error
