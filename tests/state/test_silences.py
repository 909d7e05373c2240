"""Silences keep Alertmanager 0.25's life cycle, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sloguard.state import (
    InvalidSilence,
    NotFound,
    Silence,
    SilenceMatcher,
    SilenceState,
    SqlStateStore,
    open_store,
)
from tests.state.conftest import FakeClock

HOUR = 3_600_000
JOB = (SilenceMatcher("job", "api"),)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    with open_store(store_url, clock=clock) as s:
        yield s


def _silence(clock: FakeClock, start: int = 0, end: int = HOUR, matchers: tuple[SilenceMatcher, ...] = JOB) -> Silence:
    return Silence(matchers, clock.now + start, clock.now + end, created_by="me", comment="maintenance")


def test_create_assigns_an_id_and_moves_a_past_start_up_to_now(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock, start=-HOUR))
    got = store.silences.get(sid)
    assert len(sid) == 36 and got.id == sid
    assert (got.starts_at, got.ends_at, got.updated_at) == (clock.now, clock.now + HOUR, clock.now)
    assert (got.created_by, got.comment, got.matchers) == ("me", "maintenance", JOB)
    assert got.state(clock.now) is SilenceState.ACTIVE


def test_matchers_round_trip_every_match_type(store: SqlStateStore, clock: FakeClock) -> None:
    ms = (
        SilenceMatcher("a", "x", False, True),
        SilenceMatcher("b", "y", False, False),
        SilenceMatcher("c", "z.*", True, True),
        SilenceMatcher("d", "ü|\"q\"", True, False),
    )
    sid = store.silences.set(_silence(clock, matchers=ms))
    got = store.silences.get(sid).matchers
    assert got == ms
    assert [m.to_matcher().matches(v) for m, v in zip(got, ["x", "y", "zz", "ü"], strict=True)] == [
        True, False, True, False,
    ]


def test_updating_a_pending_silence_keeps_its_id(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock, start=HOUR, end=2 * HOUR))
    clock.advance(1000)
    prev = store.silences.get(sid)
    same = store.silences.set(Silence(JOB, prev.starts_at, prev.ends_at + HOUR, "you", "longer", id=sid))
    assert same == sid
    got = store.silences.get(sid)
    assert (got.ends_at, got.created_by, got.updated_at) == (prev.ends_at + HOUR, "you", clock.now)
    assert len(store.silences.list()) == 1


def test_changing_an_active_silences_matchers_expires_it_and_creates_a_new_one(
    store: SqlStateStore, clock: FakeClock
) -> None:
    sid = store.silences.set(_silence(clock))
    clock.advance(60_000)
    prev = store.silences.get(sid)
    other = (SilenceMatcher("job", "web"),)
    new_id = store.silences.set(Silence(other, prev.starts_at, prev.ends_at, id=sid))
    assert new_id != sid
    old, new = store.silences.get(sid), store.silences.get(new_id)
    assert old.ends_at == clock.now and old.matchers == JOB
    assert new.matchers == other and new.starts_at == clock.now
    clock.advance(1)
    assert [s.id for s in store.silences.list([SilenceState.ACTIVE])] == [new_id]
    assert [s.id for s in store.silences.list([SilenceState.EXPIRED])] == [sid]


def test_moving_an_active_silences_start_by_a_second_replaces_it(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock))
    clock.advance(60_000)
    prev = store.silences.get(sid)
    sub_second = prev.starts_at - prev.starts_at % 1000 + 999  # Alertmanager compares whole seconds
    assert store.silences.set(Silence(JOB, sub_second, prev.ends_at, id=sid)) == sid
    new_id = store.silences.set(Silence(JOB, prev.starts_at + 1000, prev.ends_at, id=sid))
    assert new_id != sid and store.silences.get(sid).ends_at == clock.now


def test_a_silence_matching_everything_but_one_not_equal_matcher_is_accepted(
    store: SqlStateStore, clock: FakeClock
) -> None:
    ms = (SilenceMatcher("a", ""), SilenceMatcher("b", "x", False, False))  # != never matches "" here
    assert store.silences.get(store.silences.set(_silence(clock, matchers=ms))).matchers == ms


def test_expire_ends_an_active_silence_and_voids_a_pending_one(store: SqlStateStore, clock: FakeClock) -> None:
    active = store.silences.set(_silence(clock))
    pending = store.silences.set(_silence(clock, start=HOUR, end=2 * HOUR))
    clock.advance(5000)
    a, p = store.silences.expire(active), store.silences.expire(pending)
    assert (a.ends_at, a.updated_at) == (clock.now, clock.now)
    assert (p.starts_at, p.ends_at) == (clock.now, clock.now)
    assert store.silences.get(pending) == p
    clock.advance(1)
    assert store.silences.expire(active) == a  # Alertmanager 0.25: success, nothing changes
    with pytest.raises(NotFound, match="nope"):
        store.silences.expire("nope")


def test_updating_an_unknown_id_is_not_found(store: SqlStateStore, clock: FakeClock) -> None:
    with pytest.raises(NotFound, match="00000000"):
        store.silences.set(Silence(JOB, clock.now, clock.now + HOUR, id="00000000-0000-0000-0000-000000000000"))
    with pytest.raises(NotFound):
        store.silences.get("00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize(
    ("silence", "message"),
    [
        (Silence((), 0, 1), "at least one matcher"),
        (Silence((SilenceMatcher("a-b", "x"),), 0, 1), "invalid label name 'a-b'"),
        (Silence((SilenceMatcher("a", "(", True),), 0, 1), "invalid regular expression"),
        (Silence(JOB, 10, 5), "end time must not be before start time"),
        (
            Silence((SilenceMatcher("a", ""), SilenceMatcher("b", ".*", True)), 0, 1),
            r'\(a="", b=~"\.\*"\) matches the empty string: at least one matcher must not match',
        ),
    ],
)
def test_invalid_silences_are_refused_and_nothing_is_written(
    store: SqlStateStore, silence: Silence, message: str
) -> None:
    with pytest.raises(InvalidSilence, match=message):
        store.silences.set(silence)
    assert store.silences.list() == []


def test_a_new_silence_that_ended_in_the_past_is_refused(store: SqlStateStore, clock: FakeClock) -> None:
    with pytest.raises(InvalidSilence, match="end time must not be before start time"):
        store.silences.set(_silence(clock, start=-2 * HOUR, end=-HOUR))


def test_gc_removes_silences_expired_longer_than_the_retention(store: SqlStateStore, clock: FakeClock) -> None:
    old = store.silences.set(_silence(clock, end=HOUR))
    recent = store.silences.set(_silence(clock, end=3 * HOUR))
    active = store.silences.set(_silence(clock, end=10 * HOUR))
    clock.advance(4 * HOUR - 1)
    assert store.silences.gc(retention_ms=3 * HOUR) == 0
    clock.advance(1)  # ended exactly the retention ago: removed, as Alertmanager's GC does
    assert store.silences.gc(retention_ms=3 * HOUR) == 1
    clock.advance(HOUR)
    assert {s.id for s in store.silences.list()} == {recent, active}
    with pytest.raises(NotFound):
        store.silences.get(old)
