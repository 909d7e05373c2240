"""The notification log and its per-flush claims, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from sloguard.state import NflogReceiver, SqlStateStore, open_store
from tests.state.conftest import FakeClock

HOOK = NflogReceiver("team", "webhook", 0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    with open_store(store_url, clock=clock) as s:
        yield s


def test_log_then_query_returns_the_sets_sorted_and_distinct(store: SqlStateStore, clock: FakeClock) -> None:
    big = 2**64 - 1  # alert hashes are uint64
    store.nflog.log(HOOK, "{}:{a=\"1\"}", [3, big, 3, 1], [7], expires_at=clock.now + 1000)
    got = store.nflog.query(HOOK, "{}:{a=\"1\"}")
    assert got is not None
    assert (got.firing, got.resolved, got.timestamp, got.expires_at) == ((1, 3, big), (7,), clock.now, clock.now + 1000)
    assert got.is_firing_subset([1, big]) and not got.is_firing_subset([2])
    assert store.nflog.query(HOOK, "other") is None
    assert store.nflog.query(NflogReceiver("team", "webhook", 1), "{}:{a=\"1\"}") is None


def test_a_batch_answers_each_query_for_its_own_integration(store: SqlStateStore, clock: FakeClock) -> None:
    """Queries of one batch for the same group key but other receivers or integrations get
    only their own entry (or none)."""
    from sloguard.state.nflog import NflogEntry, NflogQuery, NflogRecord

    other_idx, other_kind, other_team = (NflogReceiver("team", "webhook", 1), NflogReceiver("team", "slack", 0),
                                         NflogReceiver("ops", "webhook", 0))
    store.nflog.run([NflogRecord(NflogEntry(HOOK, "g", clock.now, (1,), (), clock.now + 1000)),
                     NflogRecord(NflogEntry(other_team, "g", clock.now, (2,), (), clock.now + 1000)),
                     NflogRecord(NflogEntry(HOOK, "h", clock.now, (3,), (), clock.now + 1000))])
    got = store.nflog.run([NflogQuery(r, k) for r, k in (
        (HOOK, "g"), (other_idx, "g"), (other_kind, "g"), (other_team, "g"), (HOOK, "h"), (other_team, "h"), (HOOK, "x"))])
    assert [e.firing if isinstance(e, NflogEntry) else e for e in got] == [(1,), None, None, (2,), (3,), None, None]


def test_a_later_log_replaces_the_entry(store: SqlStateStore, clock: FakeClock) -> None:
    store.nflog.log(HOOK, "g", [1, 2], [], expires_at=clock.now + 1000)
    clock.advance(500)
    store.nflog.log(HOOK, "g", [2], [1], expires_at=clock.now + 1000)
    got = store.nflog.query(HOOK, "g")
    assert got is not None and (got.firing, got.resolved, got.timestamp) == ((2,), (1,), clock.now)


def test_an_older_log_does_not_replace_a_newer_entry(store: SqlStateStore, clock: FakeClock) -> None:
    store.nflog.log(HOOK, "g", [1, 2], [], expires_at=clock.now + 1000, timestamp=clock.now)
    store.nflog.log(HOOK, "g", [1], [], expires_at=clock.now + 1000, timestamp=clock.now - 1)
    got = store.nflog.query(HOOK, "g")
    assert got is not None and (got.firing, got.timestamp) == ((1, 2), clock.now)


def test_gc_removes_expired_entries_and_claims(store: SqlStateStore, clock: FakeClock) -> None:
    store.nflog.log(HOOK, "short", [1], [], expires_at=clock.now + 10)
    store.nflog.log(HOOK, "long", [1], [], expires_at=clock.now + 1000)
    assert store.nflog.claim(HOOK, "short", "f1", "r1", expires_at=clock.now + 10)
    clock.advance(9)
    assert store.nflog.gc() == 0
    clock.advance(1)  # an expiry equal to now is past, as in Alertmanager's GC
    assert store.nflog.gc() == 2
    assert store.nflog.query(HOOK, "short") is None and store.nflog.query(HOOK, "long") is not None
    assert store.nflog.claim_holder(HOOK, "short", "f1") is None


def test_a_flush_is_claimed_once_while_the_claim_holds(store: SqlStateStore, clock: FakeClock) -> None:
    assert store.nflog.claim(HOOK, "g", "flush-1", "r1", expires_at=clock.now + 1000)
    assert not store.nflog.claim(HOOK, "g", "flush-1", "r2", expires_at=clock.now + 1000)
    assert store.nflog.claim(HOOK, "g", "flush-2", "r2", expires_at=clock.now + 1000)
    assert store.nflog.claim(NflogReceiver("team", "slack", 0), "g", "flush-1", "r2", expires_at=clock.now + 1000)
    assert store.nflog.claim_holder(HOOK, "g", "flush-1") == "r1"


def test_the_holder_may_claim_its_flush_again(store: SqlStateStore, clock: FakeClock) -> None:
    """A replica whose send failed before the deadline retries the same flush at its next
    flush; its own claim does not lock it out (and the expiry moves on)."""
    assert store.nflog.claim(HOOK, "g", "flush-1", "r1", expires_at=clock.now + 1000)
    clock.advance(500)
    assert store.nflog.claim(HOOK, "g", "flush-1", "r1", expires_at=clock.now + 1000)
    clock.advance(700)  # past the first expiry, before the second
    assert not store.nflog.claim(HOOK, "g", "flush-1", "r2", expires_at=clock.now + 1000)
    assert store.nflog.claim_holder(HOOK, "g", "flush-1") == "r1"


def test_an_expired_claim_is_taken_over(store: SqlStateStore, clock: FakeClock) -> None:
    assert store.nflog.claim(HOOK, "g", "flush-1", "r1", expires_at=clock.now + 1000)
    clock.advance(999)
    assert not store.nflog.claim(HOOK, "g", "flush-1", "r2", expires_at=clock.now + 1000)
    clock.advance(1)  # an expiry equal to now is past
    assert store.nflog.claim(HOOK, "g", "flush-1", "r2", expires_at=clock.now + 1000)
    assert store.nflog.claim_holder(HOOK, "g", "flush-1") == "r2"
    assert not store.nflog.claim(HOOK, "g", "flush-1", "r1", expires_at=clock.now + 1000)


def test_concurrent_claims_from_two_connections_have_exactly_one_winner(
    store_url: str, clock: FakeClock
) -> None:
    flushes = [f"flush-{i}" for i in range(40)]
    wins: dict[str, list[str]] = {f: [] for f in flushes}
    barrier = threading.Barrier(2)

    def replica(name: str) -> None:
        with open_store(store_url, clock=clock) as s:  # its own engine: its own connections
            barrier.wait()
            for f in flushes:
                if s.nflog.claim(HOOK, "g", f, name, expires_at=clock.now + 1000):
                    wins[f].append(name)

    threads = [threading.Thread(target=replica, args=(n,)) for n in ("r1", "r2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(len(w) == 1 for w in wins.values()), wins
    with open_store(store_url, clock=clock) as s:
        assert [s.nflog.claim_holder(HOOK, "g", f) for f in flushes] == [wins[f][0] for f in flushes]


def test_concurrent_takeovers_of_an_expired_claim_have_exactly_one_winner(
    store_url: str, clock: FakeClock
) -> None:
    flushes = [f"flush-{i}" for i in range(30)]
    with open_store(store_url, clock=clock) as s:
        for f in flushes:
            assert s.nflog.claim(HOOK, "g", f, "dead", expires_at=clock.now)
    wins: dict[str, list[str]] = {f: [] for f in flushes}
    barrier = threading.Barrier(2)

    def replica(name: str) -> None:
        with open_store(store_url, clock=clock) as s:
            barrier.wait()
            for f in flushes:
                if s.nflog.claim(HOOK, "g", f, name, expires_at=clock.now + 1000):
                    wins[f].append(name)

    threads = [threading.Thread(target=replica, args=(n,)) for n in ("r1", "r2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(len(w) == 1 for w in wins.values()), wins


@pytest.mark.parametrize("small", [False, True], ids=["statement-limits", "small-statements"])
def test_a_large_batch_logs_claims_and_reads_every_group(store: SqlStateStore, clock: FakeClock, small: bool) -> None:
    """A batch of 300 groups, a key logged twice in it (the later entry wins); with small
    statements (SQLite: 7 rows or 5 keys each) it goes in many."""
    from sloguard.state._nflog_sql import NflogSql
    from sloguard.state.nflog import NflogClaim, NflogEntry, NflogQuery, NflogRecord

    if small:
        store.nflog._sql = NflogSql(store.dialect, rows=7, keys=5)

    keys = [f"g{i}" for i in range(300)]
    records = [NflogRecord(NflogEntry(HOOK, k, clock.now, (i,), (), clock.now + 1000)) for i, k in enumerate(keys)]
    later = NflogRecord(NflogEntry(HOOK, "g0", clock.now + 1, (7,), (), clock.now + 1000))
    store.nflog.run([*records, later])
    claims = store.nflog.run([NflogClaim(HOOK, k, "f", "r0", clock.now + 1000) for k in keys])
    assert claims == [True] * 300
    got = store.nflog.run([NflogQuery(HOOK, k) for k in keys])
    assert [e.firing for e in got if isinstance(e, NflogEntry)] == [(7,), *[(i,) for i in range(1, 300)]]


@pytest.mark.parametrize("small", [False, True], ids=["statement-limits", "small-statements"])
def test_one_batch_tells_each_claim_whether_it_went_in(store: SqlStateStore, clock: FakeClock, small: bool) -> None:
    """Claims of several holders in one batch: new flushes go in, a flush another holder
    holds does not, an expired one is taken over, a holder renews its own; a claim repeated
    in the batch loses (its first went in), and so does a claim of a flush another holder
    took in the same millisecond. Each answer is its own claim's."""
    from sloguard.state._nflog_sql import NflogSql
    from sloguard.state.nflog import NflogClaim

    if small:
        store.nflog._sql = NflogSql(store.dialect, rows=3, keys=2)
    slack = NflogReceiver("team", "slack", 0)
    assert store.nflog.run([NflogClaim(HOOK, "held", "f", "r2", clock.now + 5000),
                            NflogClaim(HOOK, "expired", "f", "r2", clock.now + 100),
                            NflogClaim(HOOK, "mine", "f", "r1", clock.now + 100)]) == [True, True, True]
    clock.advance(100)
    # Claimed by another holder at this very millisecond, just before the batch.
    assert store.nflog.claim(HOOK, "just-held", "f", "r2", expires_at=clock.now + 1000)
    batch = [
        NflogClaim(HOOK, "new-a", "f", "r1", clock.now + 1000),
        NflogClaim(HOOK, "just-held", "f", "r1", clock.now + 1000),
        NflogClaim(HOOK, "held", "f", "r1", clock.now + 1000),
        NflogClaim(HOOK, "expired", "f", "r1", clock.now + 1000),
        NflogClaim(HOOK, "mine", "f", "r1", clock.now + 1000),
        NflogClaim(slack, "held", "f", "r3", clock.now + 1000),  # another integration: its own flush
        NflogClaim(HOOK, "held", "g", "r3", clock.now + 1000),  # another flush of the held group
        NflogClaim(HOOK, "new-b", "f", "r3", clock.now + 1000),
        NflogClaim(HOOK, "new-a", "f", "r3", clock.now + 1000),  # a repeat: the first one won
        NflogClaim(HOOK, "new-c", "f", "r1", clock.now + 1000),
    ]
    assert store.nflog.run(batch) == [True, False, False, True, True, True, True, True, False, True]
    holders = [store.nflog.claim_holder(c.receiver, c.group_key, c.flush_id) for c in batch]
    assert holders == ["r1", "r2", "r2", "r1", "r1", "r3", "r3", "r3", "r1", "r1"]


def test_a_decide_reads_decides_and_claims_in_one_transaction(store: SqlStateStore, clock: FakeClock) -> None:
    """``NflogDecide``: the entry as the batch's records left it goes to ``decide``; its flush
    id is claimed (the first claim of a key and flush in the batch wins, a plain claim
    included); None claims nothing."""
    from sloguard.state.nflog import NflogClaim, NflogDecide, NflogDecision, NflogEntry, NflogRecord

    seen: list[NflogEntry | None] = []

    def flush_of(entry: NflogEntry | None) -> str | None:
        seen.append(entry)
        return None if entry is not None and entry.firing == (9,) else f"f{entry.timestamp if entry else 0}"

    logged = NflogEntry(HOOK, "a", clock.now, (1,), (), clock.now + 1000)
    quiet = NflogEntry(HOOK, "q", clock.now, (9,), (), clock.now + 1000)
    got = store.nflog.run([
        NflogRecord(logged), NflogRecord(quiet),
        NflogDecide(HOOK, "a", "r1", clock.now + 500, flush_of),
        NflogClaim(HOOK, "b", "f0", "r2", clock.now + 500),
        NflogDecide(HOOK, "b", "r1", clock.now + 500, flush_of),  # a plain claim came first: lost
        NflogDecide(HOOK, "q", "r1", clock.now + 500, flush_of),
    ])
    assert got[2] == NflogDecision(logged, f"f{clock.now}", True)
    assert got[3] is True
    assert got[4] == NflogDecision(None, "f0", False)
    assert got[5] == NflogDecision(quiet, None, False)
    assert sorted(seen, key=lambda e: e.group_key if e else "") == [None, logged, quiet]
    assert store.nflog.claim_holder(HOOK, "a", f"f{clock.now}") == "r1"
    assert store.nflog.claim_holder(HOOK, "b", "f0") == "r2"
    assert store.nflog.claim_holder(HOOK, "q", "f0") is None
    again = store.nflog.run([NflogDecide(HOOK, "a", "r2", clock.now + 500, flush_of)])
    assert again == [NflogDecision(logged, f"f{clock.now}", False)]  # r1 holds it until it expires
