"""The alert history in the state store: events read back by time range, stored once,
silence writes recorded with their actor in the same transaction, retention and the row
cap; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sloguard.state import (
    HistoryEvent,
    HistoryKind,
    InvalidSilence,
    Silence,
    SilenceMatcher,
    SqlStateStore,
    StateError,
    open_store,
)
from sloguard.state.alert_history import DAY_MS
from tests.state.conftest import FakeClock

T = 1_700_000_000_000


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    with open_store(store_url, clock=clock) as s:
        yield s


def _fired(t: int, fp: str = "00000000000000aa", **labels: str) -> HistoryEvent:
    return HistoryEvent(t, HistoryKind.ALERT_FIRED, fp, labels or {"alertname": "Burn", "slo": "shop"}, starts_at=t)


def _silence(clock: FakeClock, minutes: int = 60, who: str = "alice") -> Silence:
    now = clock.now
    from sloguard.state.silences import from_ms

    return Silence((SilenceMatcher("slo", "shop"),), from_ms(now), from_ms(now) + timedelta(minutes=minutes),
                   created_by=who, comment="deploy window")


def test_events_read_back_in_time_order_within_the_range(store: SqlStateStore) -> None:
    events = [_fired(T + 3000, "03"), _fired(T + 1000, "01"), _fired(T + 2000, "02"),
              HistoryEvent(T + 2500, HistoryKind.ALERT_RESOLVED, "01", {"alertname": "Burn"}, starts_at=T + 1000,
                           ends_at=T + 2500)]
    assert store.alert_history.record(events) == 4
    got = store.alert_history.query(T + 1000, T + 2500)
    assert [(e.time, e.kind, e.key) for e in got] == [
        (T + 1000, HistoryKind.ALERT_FIRED, "01"), (T + 2000, HistoryKind.ALERT_FIRED, "02"),
        (T + 2500, HistoryKind.ALERT_RESOLVED, "01")]
    assert got[0].labels == {"alertname": "Burn", "slo": "shop"} and got[2].ends_at == T + 2500
    assert [e.key for e in store.alert_history.query(T, T + 5000, limit=2)] == ["01", "03"]  # the latest two


def test_an_event_recorded_twice_is_stored_once(store: SqlStateStore) -> None:
    assert store.alert_history.record([_fired(T)]) == 1
    assert store.alert_history.record([_fired(T), _fired(T + 1)]) == 1  # another replica saw the same alert
    assert store.alert_history.record([_fired(T + 2), _fired(T + 2)]) == 1  # twice in one batch
    assert len(store.alert_history.query(T - 1, T + 10)) == 3


def test_a_large_batch_is_stored_whole(store: SqlStateStore) -> None:
    """More events than one statement takes (they go in several)."""
    events = [_fired(T + i, f"{i:016x}") for i in range(250)]
    assert store.alert_history.record(events) == 250
    assert store.alert_history.record(events[200:] + [_fired(T + 999, "ff")]) == 1
    assert [e.key for e in store.alert_history.query(T, T + 1000)][-2:] == [f"{249:016x}", "ff"]


def test_a_batch_with_an_event_twice_and_an_empty_batch_store_what_is_new(store: SqlStateStore) -> None:
    """The same event twice in one batch is stored once (PostgreSQL takes a batch as one
    array per column); nothing to store stores nothing."""
    twice = _fired(T, "ab", team='a"b{c}')
    assert store.alert_history.record([twice, _fired(T + 1, "cd"), twice]) == 2
    assert store.alert_history.record([]) == 0
    assert [(e.key, dict(e.labels)) for e in store.alert_history.query(T, T + 1)] == [
        ("ab", {"team": 'a"b{c}'}), ("cd", {"alertname": "Burn", "slo": "shop"})]


def test_a_range_that_ends_before_it_starts_is_refused(store: SqlStateStore) -> None:
    with pytest.raises(StateError, match="ends .* before it starts"):
        store.alert_history.query(T + 1, T)


def test_silence_writes_are_recorded_with_who_made_them(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock))  # no actor given: the silence's author
    clock.advance(60_000)
    store.silences.expire(sid, actor="bob")
    got = store.alert_history.query(T - 1, clock.now)
    assert [(e.kind, e.key, e.actor) for e in got] == [
        (HistoryKind.SILENCE_CREATED, sid, "alice"), (HistoryKind.SILENCE_EXPIRED, sid, "bob")]
    created, expired = got
    assert created.matchers == (SilenceMatcher("slo", "shop"),) and created.created_by == "alice"
    assert created.comment == "deploy window" and created.time == T and created.ends_at == T + 3_600_000
    assert expired.time == T + 60_000 and expired.ends_at == T + 60_000


def test_replacing_a_silence_records_the_old_ones_expiry_and_the_new_one(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock), actor="carol")
    changed = store.silences.get(sid)
    clock.advance(1000)
    from dataclasses import replace

    new_id = store.silences.set(replace(changed, matchers=(SilenceMatcher("slo", "cart"),)), actor="dave")
    kinds = [(e.kind, e.key, e.actor) for e in store.alert_history.query(T, clock.now)]
    assert kinds == [(HistoryKind.SILENCE_CREATED, sid, "carol"), (HistoryKind.SILENCE_EXPIRED, sid, "dave"),
                     (HistoryKind.SILENCE_CREATED, new_id, "dave")]


def test_a_refused_silence_records_nothing(store: SqlStateStore, clock: FakeClock) -> None:
    bad = _silence(clock, minutes=-5)
    with pytest.raises(InvalidSilence):
        store.silences.set(bad)
    assert store.alert_history.query(0, clock.now + DAY_MS) == []


def test_gc_drops_events_past_retention_then_the_oldest_past_the_cap(store: SqlStateStore, clock: FakeClock) -> None:
    clock.now = T + 10 * DAY_MS
    store.alert_history.record([_fired(T + d * DAY_MS, f"{d:02d}") for d in range(10)])
    assert store.alert_history.gc(retention_ms=5 * DAY_MS, max_rows=100) == 5  # days 0..4 are older than 5 days
    assert [e.key for e in store.alert_history.query(0, clock.now)] == ["05", "06", "07", "08", "09"]
    assert store.alert_history.gc(retention_ms=5 * DAY_MS, max_rows=2) == 3
    assert [e.key for e in store.alert_history.query(0, clock.now)] == ["08", "09"]
    assert store.alert_history.gc(retention_ms=5 * DAY_MS, max_rows=2) == 0
