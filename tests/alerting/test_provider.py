"""The alert store: Alertmanager's provider/mem Put, types.Alert.Merge, the v2 API's stamping,
subscriptions that replay, and garbage collection."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from sloguard.alerting.marker import AlertState, Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.provider import AlertStore, merge, overlaps
from sloguard.clock import ManualClock

NOW = 1_700_000_000_000
MIN = 60_000
LABELS = {"alertname": "HighLatency", "instance": "a"}


def _a(start: int, end: int | None, updated: int, timeout: bool = False, **labels: str) -> Alert:
    base = Alert.of(labels or LABELS, starts_at=start, ends_at=end)
    return replace(base, updated_at=updated, timeout=timeout)


# Alertmanager's TestAlertMerge table (types_test.go): A is older than B; (start, end) of the result.
MERGE_CASES = [
    pytest.param(_a(NOW - 2 * MIN, NOW + 2 * MIN, NOW, True), _a(NOW - MIN, NOW + 3 * MIN, NOW + MIN, True),
                 (NOW - 2 * MIN, NOW + 3 * MIN, True), id="both-timeout"),
    pytest.param(_a(NOW - MIN, NOW + 3 * MIN, NOW, True), _a(NOW, NOW + 2 * MIN, NOW + MIN),
                 (NOW - MIN, NOW + 2 * MIN, False), id="older-timeout-younger-explicit"),
    pytest.param(_a(NOW - MIN, NOW + 3 * MIN, NOW), _a(NOW, NOW + 2 * MIN, NOW + MIN, True),
                 (NOW - MIN, NOW + 3 * MIN, True), id="older-explicit-later-end-wins"),
    pytest.param(_a(NOW - MIN, NOW + 3 * MIN, NOW), _a(NOW, NOW + 2 * MIN, NOW + MIN),
                 (NOW - MIN, NOW + 3 * MIN, False), id="both-explicit-older-ends-later"),
    pytest.param(_a(NOW - MIN, NOW + 3 * MIN, NOW), _a(NOW - MIN, NOW + 4 * MIN, NOW + MIN),
                 (NOW - MIN, NOW + 4 * MIN, False), id="both-explicit-younger-ends-later"),
    pytest.param(_a(NOW - 3 * MIN, NOW - MIN, NOW), _a(NOW - 2 * MIN, NOW + MIN, NOW + MIN),
                 (NOW - 3 * MIN, NOW + MIN, False), id="older-resolved"),
    pytest.param(_a(NOW - 2 * MIN, NOW + 3 * MIN, NOW), _a(NOW - 2 * MIN, NOW, NOW + MIN),
                 (NOW - 2 * MIN, NOW, False), id="younger-resolved-keeps-its-end"),
    pytest.param(_a(NOW - 3 * MIN, NOW - MIN, NOW - MIN), _a(NOW - 4 * MIN, NOW - 2 * MIN, NOW + MIN),
                 (NOW - 4 * MIN, NOW - MIN, False), id="both-resolved-latest-end-wins"),
]


@pytest.mark.parametrize(("older", "younger", "want"), MERGE_CASES)
def test_merge_follows_alertmanagers_table_in_either_order(older: Alert, younger: Alert,
                                                           want: tuple[int, int, bool]) -> None:
    for got in (merge(older, younger, NOW), merge(younger, older, NOW)):
        assert (got.starts_at, got.ends_at, got.timeout) == want
        assert got.updated_at == younger.updated_at


def test_overlap_is_alertmanagers_strict_condition() -> None:
    old = _a(NOW, NOW + 10 * MIN, NOW)
    assert overlaps(old, _a(NOW - MIN, NOW + 5 * MIN, NOW))      # ends inside
    assert overlaps(old, _a(NOW + MIN, NOW + 20 * MIN, NOW))     # starts inside
    assert not overlaps(old, _a(NOW, NOW + 20 * MIN, NOW))       # same start, later end: replaced
    assert not overlaps(old, _a(NOW + 10 * MIN, NOW + 20 * MIN, NOW))  # starts at the old end
    assert not overlaps(old, _a(NOW - MIN, None, NOW))           # no end: Go's zero time


def _move(clock: ManualClock, t: int) -> None:
    asyncio.run(clock.advance_to(t))


def _store(start: int = NOW) -> tuple[AlertStore, ManualClock, Marker]:
    clock, marker = ManualClock(start), Marker()
    return AlertStore(clock, marker), clock, marker


def test_receive_stamps_updated_at_start_and_resolve_timeout() -> None:
    store, _, _ = _store()
    no_times, only_end, both = store.receive([
        Alert.of({"alertname": "a"}),
        Alert.of({"alertname": "b"}, ends_at=NOW - MIN),
        Alert.of({"alertname": "c"}, starts_at=NOW - 2 * MIN, ends_at=NOW + MIN),
    ], resolve_timeout_ms=5 * MIN)
    assert (no_times.starts_at, no_times.ends_at, no_times.timeout) == (NOW, NOW + 5 * MIN, True)
    assert (only_end.starts_at, only_end.ends_at, only_end.timeout) == (NOW - MIN, NOW - MIN, False)
    assert (both.starts_at, both.ends_at, both.timeout) == (NOW - 2 * MIN, NOW + MIN, False)
    assert {a.updated_at for a in (no_times, only_end, both)} == {NOW}
    assert len(store) == 3 and store.get(no_times.fingerprint) == no_times


def test_an_alert_resolves_after_resolve_timeout_unless_resent() -> None:
    store, clock, _ = _store()
    (first,) = store.receive([Alert.of(LABELS, starts_at=NOW)], resolve_timeout_ms=5 * MIN)
    _move(clock, NOW + 4 * MIN)
    store.receive([Alert.of(LABELS, starts_at=NOW)], resolve_timeout_ms=5 * MIN)
    assert store.firing(NOW + 6 * MIN) == store.list()  # resent: now ends at 9 min
    held = store.get(first.fingerprint)
    assert held is not None and held.ends_at == NOW + 9 * MIN and held.timeout
    assert store.firing(NOW + 9 * MIN) == []
    assert held.resolved_at(NOW + 9 * MIN)


def test_put_merges_overlapping_and_replaces_otherwise() -> None:
    store, clock, _ = _store()
    store.put([_a(NOW - 5 * MIN, NOW + 5 * MIN, NOW)])
    _move(clock, NOW + MIN)
    (merged,) = store.put([_a(NOW - MIN, NOW + 2 * MIN, NOW + MIN, True)])  # starts inside: merged
    assert (merged.starts_at, merged.ends_at, merged.timeout) == (NOW - 5 * MIN, NOW + 5 * MIN, True)
    (fresh,) = store.put([_a(NOW + 10 * MIN, NOW + 20 * MIN, NOW + 2 * MIN)])  # after the range: replaced
    assert (fresh.starts_at, fresh.ends_at) == (NOW + 10 * MIN, NOW + 20 * MIN)
    assert store.list() == [fresh]


def test_a_resolve_from_the_sender_ends_the_alert() -> None:
    store, clock, _ = _store()
    store.receive([Alert.of(LABELS, starts_at=NOW - MIN)], resolve_timeout_ms=5 * MIN)
    _move(clock, NOW + MIN)
    (resolved,) = store.receive([Alert.of(LABELS, starts_at=NOW - MIN, ends_at=NOW + MIN)], 5 * MIN)
    assert resolved.ends_at == NOW + MIN and not resolved.timeout
    assert store.firing(NOW + MIN) == []


def test_subscribers_get_the_held_alerts_first_then_each_stored_one() -> None:
    store, _, _ = _store()
    a, b = store.receive([Alert.of({"alertname": "a"}), Alert.of({"alertname": "b"})], 5 * MIN)
    seen: list[Alert] = []
    unsubscribe = store.subscribe(seen.append)
    assert seen == [a, b]
    (c,) = store.receive([Alert.of({"alertname": "c"})], 5 * MIN)
    assert seen == [a, b, c]
    unsubscribe()
    store.receive([Alert.of({"alertname": "d"})], 5 * MIN)
    assert seen == [a, b, c]


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    store, _, _ = _store()
    seen: list[Alert] = []

    def broken(_: Alert) -> None:
        raise ValueError("boom")

    store.subscribe(broken)
    store.subscribe(seen.append)
    (a,) = store.receive([Alert.of({"alertname": "a"})], 5 * MIN)
    assert seen == [a] and store.get(a.fingerprint) == a


def test_gc_drops_resolved_alerts_and_their_marks() -> None:
    store, clock, marker = _store()
    gone, kept = store.receive([Alert.of({"alertname": "gone"}, starts_at=NOW, ends_at=NOW + MIN),
                                Alert.of({"alertname": "kept"})], resolve_timeout_ms=60 * MIN)
    marker.set_silenced(gone.fingerprint, ["s1"])
    marker.set_active(kept.fingerprint)
    assert store.gc() == 0
    _move(clock, NOW + MIN)
    assert store.gc() == 1
    assert store.list() == [kept] and store.get(gone.fingerprint) is None
    assert marker.status(gone.fingerprint).state is AlertState.UNPROCESSED
    assert marker.status(kept.fingerprint).state is AlertState.ACTIVE


def test_run_gc_collects_on_the_clock() -> None:
    store, clock, _ = _store()
    store.receive([Alert.of({"alertname": "a"})], resolve_timeout_ms=5 * MIN)

    async def go() -> int:
        task = asyncio.create_task(store.run_gc(30 * MIN))
        await clock.advance(29 * MIN)
        before = len(store)
        await clock.advance(MIN)
        task.cancel()
        return before

    assert asyncio.run(go()) == 1
    assert len(store) == 0
