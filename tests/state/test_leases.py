"""Leases: compare-and-set on the database clock, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.state import SqlStateStore, open_store

LONG = 3_600_000


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStateStore]:
    with open_store(store_url) as s:
        yield s


def test_a_held_lease_is_refused_to_others_and_renewed_by_its_holder(store: SqlStateStore) -> None:
    got = store.leases.acquire("sender", "r1", LONG)
    assert got is not None and got.holder == "r1"
    assert got.expires_at - got.acquired_at == LONG
    assert store.leases.acquire("sender", "r2", LONG) is None
    assert store.leases.renew("sender", "r2", LONG) is None
    assert not store.leases.release("sender", "r2")
    renewed = store.leases.renew("sender", "r1", 2 * LONG)
    assert renewed is not None and renewed.acquired_at == got.acquired_at
    assert renewed.expires_at >= got.acquired_at + 2 * LONG
    again = store.leases.acquire("sender", "r1", LONG)
    assert again is not None and again.acquired_at == got.acquired_at
    assert store.leases.get("sender") == again


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew(store: SqlStateStore) -> None:
    first = store.leases.acquire("sender", "r1", 0)  # expires at the database's now
    assert first is not None
    taken = store.leases.acquire("sender", "r2", LONG)
    assert taken is not None and taken.holder == "r2" and taken.acquired_at >= first.expires_at
    assert store.leases.renew("sender", "r1", LONG) is None
    assert store.leases.acquire("sender", "r1", LONG) is None
    assert store.leases.now_ms() < taken.expires_at


def test_release_frees_the_lease_for_anyone(store: SqlStateStore) -> None:
    assert store.leases.acquire("sender", "r1", LONG) is not None
    assert store.leases.release("sender", "r1")
    assert store.leases.get("sender") is None
    assert store.leases.acquire("sender", "r2", LONG) is not None
    assert [lease.holder for lease in store.leases.list()] == ["r2"]


def test_a_negative_ttl_is_refused(store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="-5 ms"):
        store.leases.acquire("sender", "r1", -5)


def test_two_replicas_acquiring_a_free_lease_at_once_get_one_holder(store_url: str) -> None:
    results: dict[str, list[bool]] = {"r1": [], "r2": []}
    barrier = threading.Barrier(2)

    def replica(name: str) -> None:
        with open_store(store_url) as s:  # its own engine: its own connections
            barrier.wait()
            for i in range(20):
                results[name].append(s.leases.acquire(f"lease-{i}", name, LONG) is not None)

    threads = [threading.Thread(target=replica, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a + b for a, b in zip(results["r1"], results["r2"], strict=True)] == [1] * 20
    with open_store(store_url) as s:
        holders = {lease.name: lease.holder for lease in s.leases.list()}
    assert all(holders[f"lease-{i}"] == ("r1" if results["r1"][i] else "r2") for i in range(20))


def test_replicas_opening_a_new_sqlite_state_file_together_all_open_it(tmp_path: Path) -> None:
    """Switching a new file to WAL needs a lock SQLite does not wait for: while one replica
    creates the tables, another's ``PRAGMA journal_mode=WAL`` got "database is locked" at
    once (3 of 40 rounds of 6 before the retry)."""
    for round_ in range(20):
        url = f"sqlite:///{tmp_path}/state-{round_}.db"
        barrier, errors = threading.Barrier(6), []

        def replica(name: str, url: str = url, barrier: threading.Barrier = barrier, errors: list[str] = errors) -> None:
            barrier.wait()
            try:
                with open_store(url) as s:
                    s.leases.acquire("sender", name, LONG)
            except Exception as e:  # noqa: BLE001 - every failure is reported by the assertion below
                errors.append(repr(e))

        threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == [], f"round {round_}: {errors[0]}"
