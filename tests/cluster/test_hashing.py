"""Rendezvous hashing: every replica agrees, shares are even, a join or leave moves few keys."""

from __future__ import annotations

from collections import Counter

from sloguard.cluster import assign, owner, score

KEYS = [f"rules/rules/app-{i}.yml;group-{i}" for i in range(3000)]


def test_the_owner_does_not_depend_on_the_order_members_are_listed_in() -> None:
    members = ["b:9090", "a:9090", "c:9090"]
    assert assign(KEYS, members) == assign(KEYS, sorted(members)) == assign(KEYS, members[::-1])


def test_the_score_is_stable_across_processes() -> None:
    # BLAKE2b, not Python's salted hash(): these two values are what any process computes
    assert score("a", "k") == int.from_bytes(__import__("hashlib").blake2b(b"a\x00k", digest_size=8).digest(), "big")
    assert owner("k", []) is None and assign(KEYS, []) == {}


def test_shares_are_about_even() -> None:
    counts = Counter(assign(KEYS, ["r0", "r1", "r2"]).values())
    assert set(counts) == {"r0", "r1", "r2"}
    assert all(abs(n - 1000) < 120 for n in counts.values()), counts


def test_a_join_moves_about_one_in_n_keys_all_to_the_newcomer() -> None:
    before = assign(KEYS, ["r0", "r1", "r2"])
    after = assign(KEYS, ["r0", "r1", "r2", "r3"])
    moved = [k for k in KEYS if before[k] != after[k]]
    assert all(after[k] == "r3" for k in moved)
    assert abs(len(moved) / len(KEYS) - 1 / 4) < 0.04, len(moved)


def test_a_leave_moves_only_the_leavers_keys() -> None:
    before = assign(KEYS, ["r0", "r1", "r2"])
    after = assign(KEYS, ["r0", "r2"])
    moved = {k for k in KEYS if before[k] != after[k]}
    assert moved == {k for k in KEYS if before[k] == "r1"}
    assert Counter(after[k] for k in moved).keys() == {"r0", "r2"}
