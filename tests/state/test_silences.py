"""The silence repository stores silence_match's model with Alertmanager 0.25's life cycle,
on SQLite and on PostgreSQL; the rules themselves are tested in tests/alerting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sloguard.alerting.silence_match import SilenceInvalid, validate_silence
from sloguard.state import (
    InvalidSilence,
    NotFound,
    Silence,
    SilenceMatcher,
    SilenceState,
    SqlStateStore,
    open_store,
)
from sloguard.state.silences import from_ms, to_ms
from tests.state.conftest import FakeClock

H, S, MS = timedelta(hours=1), timedelta(seconds=1), timedelta(milliseconds=1)
JOB = (SilenceMatcher("job", "api"),)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    with open_store(store_url, clock=clock) as s:
        yield s


def now(clock: FakeClock) -> datetime:
    return from_ms(clock.now)


def _silence(clock: FakeClock, start: timedelta = 0 * H, end: timedelta = H, matchers: tuple[SilenceMatcher, ...] = JOB,
             id: str = "") -> Silence:  # fmt: skip
    return Silence(matchers, now(clock) + start, now(clock) + end, id, created_by="me", comment="maintenance")


def test_the_storage_boundary_converts_aware_datetimes_to_epoch_ms_and_back() -> None:
    t = datetime(2024, 5, 6, 14, 0, 0, 123_999, tzinfo=timezone(timedelta(hours=2)))
    assert to_ms(t) == 1_714_996_800_123
    assert from_ms(to_ms(t)) == t - 999 * timedelta(microseconds=1) and from_ms(0).tzinfo is UTC
    assert from_ms(to_ms(datetime(1, 1, 1, tzinfo=UTC))) == datetime(1, 1, 1, tzinfo=UTC)


def test_create_assigns_an_id_and_moves_a_past_start_up_to_now(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock, start=-H))
    got = store.silences.get(sid)
    assert len(sid) == 36 and got.id == sid
    assert (got.starts_at, got.ends_at, got.updated_at) == (now(clock), now(clock) + H, now(clock))
    assert (got.created_by, got.comment, got.matchers) == ("me", "maintenance", JOB)
    assert got.state_at(store.silences.now()) is SilenceState.ACTIVE


def test_times_in_any_zone_are_stored_as_the_same_instant_to_the_millisecond(
    store: SqlStateStore, clock: FakeClock
) -> None:
    plus2 = timezone(timedelta(hours=2))
    start = (now(clock) + H).astimezone(plus2) + timedelta(microseconds=1500)
    sid = store.silences.set(Silence(JOB, start, start + H))
    got = store.silences.get(sid)
    assert got.starts_at == now(clock) + H + MS and got.starts_at.utcoffset() == timedelta(0)
    assert got.state_at(now(clock)) is SilenceState.PENDING


def test_matchers_round_trip_every_match_type(store: SqlStateStore, clock: FakeClock) -> None:
    ms = (
        SilenceMatcher("a", "x", False, True),
        SilenceMatcher("b", "y", False, False),
        SilenceMatcher("c", "z.*", True, True),
        SilenceMatcher("d", "ü|\"q\"", True, False),
    )
    sid = store.silences.set(_silence(clock, matchers=ms))
    got = store.silences.get(sid)
    assert got.matchers == ms
    assert got.matches({"a": "x", "b": "x", "c": "zz", "d": "v"})
    assert not got.matches({"a": "x", "b": "x", "c": "zz", "d": "ü"})


def test_updating_a_pending_silence_keeps_its_id(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock, start=H, end=2 * H))
    clock.advance(1000)
    prev = store.silences.get(sid)
    same = store.silences.set(Silence(JOB, prev.starts_at, prev.ends_at + H, sid, "you", "longer"))
    assert same == sid
    got = store.silences.get(sid)
    assert (got.ends_at, got.created_by, got.updated_at) == (prev.ends_at + H, "you", now(clock))
    assert len(store.silences.list()) == 1


def test_changing_an_active_silences_matchers_expires_it_and_creates_a_new_one(
    store: SqlStateStore, clock: FakeClock
) -> None:
    sid = store.silences.set(_silence(clock))
    clock.advance(60_000)
    prev = store.silences.get(sid)
    other = (SilenceMatcher("job", "web"),)
    new_id = store.silences.set(Silence(other, prev.starts_at, prev.ends_at, sid))
    assert new_id != sid
    old, new = store.silences.get(sid), store.silences.get(new_id)
    assert old.ends_at == now(clock) and old.matchers == JOB
    assert new.matchers == other and new.starts_at == now(clock)
    clock.advance(1)
    assert [s.id for s in store.silences.list([SilenceState.ACTIVE])] == [new_id]
    assert [s.id for s in store.silences.list([SilenceState.EXPIRED])] == [sid]


def test_moving_an_active_silences_start_by_a_second_replaces_it(store: SqlStateStore, clock: FakeClock) -> None:
    sid = store.silences.set(_silence(clock))
    clock.advance(60_000)
    prev = store.silences.get(sid)
    sub_second = prev.starts_at.replace(microsecond=999_000)  # Alertmanager compares whole seconds
    assert store.silences.set(Silence(JOB, sub_second, prev.ends_at, sid)) == sid
    assert store.silences.get(sid).starts_at == sub_second
    new_id = store.silences.set(Silence(JOB, prev.starts_at + S, prev.ends_at, sid))
    assert new_id != sid and store.silences.get(sid).ends_at == now(clock)


def test_a_silence_matching_everything_but_one_not_equal_matcher_is_accepted(
    store: SqlStateStore, clock: FakeClock
) -> None:
    ms = (SilenceMatcher("a", ""), SilenceMatcher("b", "x", False, False))  # != never matches "" here
    assert store.silences.get(store.silences.set(_silence(clock, matchers=ms))).matchers == ms


def test_expire_ends_an_active_silence_and_voids_a_pending_one(store: SqlStateStore, clock: FakeClock) -> None:
    active = store.silences.set(_silence(clock))
    pending = store.silences.set(_silence(clock, start=H, end=2 * H))
    clock.advance(5000)
    a, p = store.silences.expire(active), store.silences.expire(pending)
    assert (a.ends_at, a.updated_at) == (now(clock), now(clock))
    assert (p.starts_at, p.ends_at) == (now(clock), now(clock))
    assert store.silences.get(pending) == p and store.silences.get(active) == a
    clock.advance(1)
    assert store.silences.expire(active) == a  # Alertmanager 0.25: success, nothing changes
    with pytest.raises(NotFound, match="nope"):
        store.silences.expire("nope")


def test_updating_an_unknown_id_is_not_found(store: SqlStateStore, clock: FakeClock) -> None:
    with pytest.raises(NotFound, match="00000000"):
        store.silences.set(_silence(clock, id="00000000-0000-0000-0000-000000000000"))
    with pytest.raises(NotFound):
        store.silences.get("00000000-0000-0000-0000-000000000000")


T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("silence", "message"),
    [(Silence((), T0, T0 + S), "silence invalid: at least one matcher required"),
     (Silence((SilenceMatcher("a-b", "x"),), T0, T0 + S),
      'silence invalid: invalid label matcher 0: invalid label name "a-b"'),
     (Silence((SilenceMatcher("a", "x"), SilenceMatcher("b", "(", True)), T0, T0 + S),
      'silence invalid: invalid label matcher 1: invalid regular expression "(": error parsing regexp: '
      "missing closing ): `(`"),
     (Silence(JOB, T0 + S, T0), "silence invalid: end time must not be before start time"),
     (Silence(JOB, datetime(1, 1, 1, tzinfo=UTC), T0), "silence invalid: invalid zero start timestamp"),
     (Silence((SilenceMatcher("a", ""), SilenceMatcher("b", ".*", True)), T0, T0 + S),
      "silence invalid: at least one matcher must not match the empty string")],
)  # fmt: skip
def test_invalid_silences_are_refused_with_alertmanagers_text_and_nothing_is_written(
    store: SqlStateStore, silence: Silence, message: str
) -> None:
    with pytest.raises(InvalidSilence) as err:
        store.silences.set(silence)
    assert str(err.value) == message and isinstance(err.value.__cause__, SilenceInvalid)
    with pytest.raises(SilenceInvalid, match=message.removeprefix("silence invalid: ")[:20]):
        validate_silence(silence)  # the same rule refuses it outside the store
    assert store.silences.list() == []


def test_a_silence_without_a_time_zone_is_refused_naming_the_field(store: SqlStateStore) -> None:
    with pytest.raises(InvalidSilence, match=r"ends_at 2030-01-01T01:00:00 has no time zone"):
        store.silences.set(Silence(JOB, T0, datetime(2030, 1, 1, 1)))


def test_a_new_silence_that_ended_in_the_past_is_refused(store: SqlStateStore, clock: FakeClock) -> None:
    with pytest.raises(InvalidSilence, match="^silence invalid: end time must not be before start time$"):
        store.silences.set(_silence(clock, start=-2 * H, end=-H))
    assert store.silences.list() == []


def test_a_refused_replacement_rolls_back_the_expiry_of_the_silence_it_replaced(
    store: SqlStateStore, clock: FakeClock
) -> None:
    sid = store.silences.set(_silence(clock, end=2 * H))
    clock.advance(60_000)
    before = store.silences.get(sid)
    ended = Silence((SilenceMatcher("job", "web"),), now(clock) - H, now(clock) - S, sid)
    with pytest.raises(InvalidSilence, match="end time must not be before start time"):
        store.silences.set(ended)  # not updatable: expire the old one, then the new one is refused
    assert store.silences.list() == [before] and before.state_at(now(clock)) is SilenceState.ACTIVE


def test_gc_removes_silences_expired_longer_than_the_retention(store: SqlStateStore, clock: FakeClock) -> None:
    old = store.silences.set(_silence(clock, end=H))
    recent = store.silences.set(_silence(clock, end=3 * H))
    active = store.silences.set(_silence(clock, end=10 * H))
    clock.advance(4 * 3_600_000 - 1)
    assert store.silences.gc(retention_ms=3 * 3_600_000) == 0
    clock.advance(1)  # ended exactly the retention ago: removed, as Alertmanager's GC does
    assert store.silences.gc(retention_ms=3 * 3_600_000) == 1
    clock.advance(3_600_000)
    assert {s.id for s in store.silences.list()} == {recent, active}
    with pytest.raises(NotFound):
        store.silences.get(old)
