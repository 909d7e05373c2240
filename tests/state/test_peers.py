"""Replica membership on the database's clock, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sloguard.state import SqlStateStore, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStateStore]:
    with open_store(store_url) as s:
        yield s


def test_heartbeats_make_replicas_live_in_name_order(store: SqlStateStore) -> None:
    assert store.peers.live() == []
    store.peers.heartbeat("b", "10.0.0.2:9093", 60_000)
    store.peers.heartbeat("a", "10.0.0.1:9093", 60_000)
    assert store.peers.live() == [("a", "10.0.0.1:9093"), ("b", "10.0.0.2:9093")]


def test_a_heartbeat_updates_the_address_and_keeps_the_join_time(store: SqlStateStore) -> None:
    first = store.peers.heartbeat("a", "old:1", 60_000)
    again = store.peers.heartbeat("a", "new:2", 60_000)
    assert store.peers.live() == [("a", "new:2")]
    assert again.joined_at == first.joined_at
    assert again.last_seen >= first.last_seen and again.expires_at == again.last_seen + 60_000


def test_a_replica_whose_heartbeat_expired_is_not_live(store: SqlStateStore) -> None:
    """Expiry is judged on the database's clock: a 1 ms time to live has passed by the time
    the next statement reads it (the clock is checked to have moved first)."""
    rec = store.peers.heartbeat("gone", "x:1", 1)
    store.peers.heartbeat("here", "y:1", 60_000)
    while store.leases.now_ms() < rec.expires_at:
        pass  # the database's clock moves on its own; this spins for at most a millisecond
    assert store.peers.live() == [("here", "y:1")]
    assert [r.name for r in store.peers.records()] == ["here"]
    back = store.peers.heartbeat("gone", "x:1", 60_000)
    assert back.joined_at > rec.joined_at  # a new membership after expiry
    assert store.peers.gc() == 0


def test_leave_removes_the_replica(store: SqlStateStore) -> None:
    store.peers.heartbeat("a", "x:1", 60_000)
    store.peers.heartbeat("b", "y:1", 60_000)
    assert store.peers.leave("a")
    assert not store.peers.leave("a")
    assert store.peers.live() == [("b", "y:1")]


def test_gc_removes_expired_replicas(store: SqlStateStore) -> None:
    rec = store.peers.heartbeat("gone", "x:1", 1)
    store.peers.heartbeat("here", "y:1", 60_000)
    while store.leases.now_ms() < rec.expires_at:
        pass
    assert store.peers.gc() == 1
    assert store.peers.live() == [("here", "y:1")]


def test_bad_heartbeats_are_refused_with_the_value(store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="must be positive; got 0 ms for 'a'"):
        store.peers.heartbeat("a", "x:1", 0)
    with pytest.raises(ValueError, match="must not be empty"):
        store.peers.heartbeat("", "x:1", 1000)


def test_replicas_on_two_connections_see_each_other(store_url: str) -> None:
    with open_store(store_url) as r1, open_store(store_url) as r2:
        r1.peers.heartbeat("r1", "h1:9093", 60_000)
        r2.peers.heartbeat("r2", "h2:9093", 60_000)
        assert r1.peers.live() == r2.peers.live() == [("r1", "h1:9093"), ("r2", "h2:9093")]
        r2.peers.leave("r2")
        assert r1.peers.live() == [("r1", "h1:9093")]
