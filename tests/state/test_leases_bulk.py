"""Many leases per statement (a replica's share of rule groups), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from sloguard.state import open_store

NAMES = [f"cluster/rules/g{i}" for i in range(300)]


def test_acquire_many_takes_free_leases_and_leaves_others_theirs(store_url: str) -> None:
    with open_store(store_url) as s:
        first = s.leases.acquire_many(NAMES[:100], "a", 60_000)
        assert [t.lease.name for t in first] == sorted(NAMES[:100])
        assert {t.previous_expiry for t in first} == {0}
        taken = s.leases.acquire_many(NAMES, "b", 60_000)
        assert {t.lease.name for t in taken} == set(NAMES[100:])
        assert {lease.holder for lease in s.leases.list() if lease.name in NAMES[:100]} == {"a"}
        again = s.leases.acquire_many(NAMES[:10], "a", 60_000)  # one's own: extended, kept
        assert {t.lease.name for t in again} == set(NAMES[:10])
        assert all(t.lease.acquired_at == f.lease.acquired_at for t, f in zip(again, first[:10], strict=True))


def test_an_expired_lease_is_taken_with_its_old_expiry_reported(store_url: str) -> None:
    with open_store(store_url) as s:
        s.leases.acquire_many(NAMES[:5], "a", 1)
        time.sleep(0.01)
        old = {lease.name: lease.expires_at for lease in s.leases.list()}
        taken = s.leases.acquire_many(NAMES[:5], "b", 60_000)
        assert {t.lease.name: t.previous_expiry for t in taken} == old
        assert {t.lease.holder for t in taken} == {"b"}


def test_renew_held_extends_only_the_holders_unexpired_leases_with_the_prefix(store_url: str) -> None:
    with open_store(store_url) as s:
        s.leases.acquire_many(NAMES, "a", 60_000)
        s.leases.acquire_many(["other/x"], "a", 60_000)
        s.leases.acquire_many(["cluster/b-only"], "b", 60_000)
        before = {lease.name: lease.expires_at for lease in s.leases.list()}
        time.sleep(0.01)
        renewed = s.leases.renew_held("a", 120_000, "cluster/")
        assert [lease.name for lease in renewed] == sorted(NAMES)
        after = {lease.name: lease.expires_at for lease in s.leases.list()}
        assert all(after[n] > before[n] for n in NAMES)
        assert after["other/x"] == before["other/x"] and after["cluster/b-only"] == before["cluster/b-only"]


def test_release_many_gives_up_only_the_holders_leases(store_url: str) -> None:
    with open_store(store_url) as s:
        s.leases.acquire_many(NAMES[:10], "a", 60_000)
        s.leases.acquire_many(NAMES[10:20], "b", 60_000)
        assert s.leases.release_many(NAMES[:20], "a") == 10
        assert {lease.holder for lease in s.leases.list()} == {"b"}
        assert s.leases.release_many([], "a") == 0 and s.leases.acquire_many([], "a", 1) == []


def test_cluster_members_are_apart_from_the_alerting_peers(store_url: str) -> None:
    with open_store(store_url) as s:
        s.members.heartbeat("r1", "http://r1/", 60_000)
        s.peers.heartbeat("am1", "http://am1/", 60_000)
        assert s.members.live() == [("r1", "http://r1/")]
        assert s.peers.live() == [("am1", "http://am1/")]
