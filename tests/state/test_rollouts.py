"""Rollouts in the state store: compare-and-set on the revision, events saved with the
state they belong to, overrides; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sloguard.state import (
    MIGRATIONS,
    Override,
    RevisionConflict,
    RolloutEvent,
    RolloutRecord,
    SqlStateStore,
    StateError,
    open_store,
)
from sloguard.state._db import Database, create_engine, parse_url
from sloguard.state._schema import migrate

T = 1_700_000_000_000


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStateStore]:
    with open_store(store_url) as s:
        yield s


def _record(revision: int, weight: int, phase: str = "Progressing") -> RolloutRecord:
    return RolloutRecord("checkout", revision, phase, {"weight": weight, "nested": {"a": [1, 2]}}, T + weight)


def test_a_saved_rollout_reads_back_with_its_revision_counting_saves(store: SqlStateStore) -> None:
    first = store.rollouts.save(_record(0, 10))
    assert first.revision == 1
    second = store.rollouts.save(_record(first.revision, 20))
    assert second.revision == 2
    got = store.rollouts.get("checkout")
    assert got == RolloutRecord("checkout", 2, "Progressing", {"weight": 20, "nested": {"a": [1, 2]}}, T + 20)
    assert store.rollouts.get("other") is None
    store.rollouts.save(RolloutRecord("api", 0, "Pending", {}, T))
    assert [r.name for r in store.rollouts.list()] == ["api", "checkout"]
    assert store.schema_version == MIGRATIONS[-1].version


def test_a_save_from_a_stale_revision_is_refused_and_changes_nothing(store: SqlStateStore) -> None:
    a = store.rollouts.save(_record(0, 10))
    store.rollouts.save(_record(a.revision, 20))  # another writer saved first
    event = RolloutEvent("checkout", T, "RolloutAborted", "AbortedByPerson", "stale", "alice")
    with pytest.raises(RevisionConflict, match="read at revision 1 but is at revision 2"):
        store.rollouts.save(_record(a.revision, 30), [event])
    got = store.rollouts.get("checkout")
    assert got is not None and got.state["weight"] == 20 and got.revision == 2
    assert store.rollouts.events("checkout") == []  # the loser's events went with it


def test_creating_a_rollout_twice_is_a_conflict(store: SqlStateStore) -> None:
    store.rollouts.save(_record(0, 10))
    with pytest.raises(RevisionConflict, match="already exists"):
        store.rollouts.save(_record(0, 50))
    assert store.rollouts.get("checkout") is not None
    assert store.rollouts.get("checkout").state["weight"] == 10  # type: ignore[union-attr]


def test_events_are_saved_with_the_state_in_order_and_listed_per_rollout(store: SqlStateStore) -> None:
    evs = [RolloutEvent("checkout", T + i, f"Type{i}", f"Reason{i}", f"message {i}") for i in range(5)]
    saved = store.rollouts.save(_record(0, 10), evs[:3])
    store.rollouts.save(_record(saved.revision, 20), evs[3:])
    store.rollouts.append_event(RolloutEvent("api", T, "RolloutRefused", "ErrorBudgetExhausted", "no", "bob"))
    assert store.rollouts.events("checkout") == evs
    assert store.rollouts.events("checkout", limit=2) == evs[3:]
    assert store.rollouts.events("api")[0].actor == "bob"


def test_overrides_keep_who_and_why(store: SqlStateStore) -> None:
    o1 = Override("checkout", T, "errorBudget", "alice", "hotfix for INC-42")
    o2 = Override("checkout", T + 5, "errorBudget", "bob", "second try")
    store.rollouts.record_override(o1)
    store.rollouts.record_override(o2)
    store.rollouts.record_override(Override("api", T, "errorBudget", "carol", "x"))
    assert store.rollouts.overrides("checkout") == [o1, o2]


def test_a_state_holding_nan_is_refused_with_a_clear_error(store: SqlStateStore) -> None:
    with pytest.raises(StateError, match="The state of the rollout 'x' cannot be stored as JSON"):
        store.rollouts.save(RolloutRecord("x", 0, "Pending", {"v": float("nan")}, T))
    assert store.rollouts.get("x") is None


def test_two_writers_racing_from_the_same_revision_one_wins(store: SqlStateStore) -> None:
    import threading

    base = store.rollouts.save(_record(0, 10))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def write(weight: int) -> None:
        barrier.wait()
        try:
            store.rollouts.save(_record(base.revision, weight))
            outcomes.append(f"won {weight}")
        except RevisionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(w,)) for w in (20, 30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] == "lost" and len([o for o in outcomes if o.startswith("won")]) == 1
    got = store.rollouts.get("checkout")
    assert got is not None and got.revision == 2 and f"won {got.state['weight']}" in outcomes


def test_a_rollout_spec_text_is_kept_whole_and_replaced_by_a_later_start(store: SqlStateStore) -> None:
    assert store.rollouts.spec("checkout") is None
    text = "apiVersion: sloguard/v1\nkind: Rollout\n# ünïcode and 'quotes'\n---\nkind: AnalysisTemplate\n"
    store.rollouts.save_spec("checkout", text, "rollout.yaml", T)
    assert store.rollouts.spec("checkout") == (text, "rollout.yaml")
    store.rollouts.save_spec("checkout", "second", "<api>", T + 1)
    store.rollouts.save_spec("other", "third", "b.yaml", T + 2)
    assert store.rollouts.spec("checkout") == ("second", "<api>")
    assert store.rollouts.spec("other") == ("third", "b.yaml")


def test_a_version_3_database_gains_the_spec_table_and_keeps_its_rollouts(store_url: str) -> None:
    db = Database(create_engine(parse_url(store_url)))
    try:
        assert migrate(db, MIGRATIONS[:3]) == 3
    finally:
        db.close()
    with open_store(store_url) as s:
        assert s.schema_version == MIGRATIONS[-1].version
        s.rollouts.save(_record(0, 10))
        s.rollouts.save_spec("checkout", "text", "src", T)
        assert s.rollouts.spec("checkout") == ("text", "src")
