"""Muting stages: silences from the shared store (with the refresh bound), inhibition over
the firing alerts, the marks they leave, and the route's time intervals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sloguard.alerting import parse_config
from sloguard.alerting._stage_mute import InhibitMuter, MuteStage, SilenceMuter
from sloguard.alerting._stage_time import TimeActiveStage, TimeMuteStage
from sloguard.alerting.inhibit import Inhibitor
from sloguard.alerting.marker import AlertMark, AlertState, Marker
from sloguard.alerting.model import Alert, fingerprint
from sloguard.alerting.provider import AlertStore
from sloguard.alerting.stages import StageError
from sloguard.alerting.timeinterval import intervals_from_config
from sloguard.clock import ManualClock
from sloguard.labels import Labels
from sloguard.state import Silence, SilenceMatcher, SqlStateStore, StateUnavailable, open_store
from sloguard.state.silences import from_ms
from tests.alerting._stagekit import HOUR, T0, alert, ctx, sqlite_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SqlStateStore]:
    with sqlite_store(tmp_path, clock) as s:
        yield s


def _silence(store: SqlStateStore, start: int, end: int, **match: str) -> str:
    matchers = tuple(SilenceMatcher(k, v) for k, v in match.items())
    return store.silences.set(Silence(matchers, from_ms(start), from_ms(end), created_by="t", comment="c"))


def _mute(stage: MuteStage, alerts: list[Alert]) -> list[Alert]:
    return asyncio.run(stage.exec(ctx(T0), alerts))[1]


def test_a_silence_mutes_and_marks(store: SqlStateStore, clock: ManualClock) -> None:
    sid = _silence(store, T0 - 1, T0 + HOUR, instance="a")
    marker = Marker()
    stage = MuteStage(SilenceMuter(store.silences, marker, clock))
    a, b = alert("a"), alert("b")
    assert _mute(stage, [a, b]) == [b]
    assert marker.status(a.fingerprint) == AlertMark(AlertState.SUPPRESSED, (sid,))
    assert marker.status(b.fingerprint) == AlertMark(AlertState.ACTIVE)


def test_a_silence_set_on_another_replica_mutes_here_within_the_refresh(
    tmp_path: Path, store: SqlStateStore, clock: ManualClock
) -> None:
    marker = Marker()
    stage = MuteStage(SilenceMuter(store.silences, marker, clock, refresh_ms=1000))
    a = alert("a")
    assert _mute(stage, [a]) == [a]
    with sqlite_store(tmp_path, clock) as other:  # another replica's handle on the same database
        sid = _silence(other, T0, T0 + HOUR, instance="a")
    asyncio.run(clock.advance(999))
    assert _mute(stage, [a]) == [a]  # the cache is still fresh
    asyncio.run(clock.advance(1))
    assert _mute(stage, [a]) == []
    assert marker.status(a.fingerprint).silenced_by == (sid,)
    store.silences.expire(sid)
    asyncio.run(clock.advance(1000))
    assert _mute(stage, [a]) == [a]
    assert marker.status(a.fingerprint) == AlertMark(AlertState.ACTIVE)


def test_a_pending_silence_starts_muting_without_a_new_read(store: SqlStateStore, clock: ManualClock) -> None:
    _silence(store, T0 + 500, T0 + HOUR, instance="a")
    muter = SilenceMuter(store.silences, Marker(), clock, refresh_ms=HOUR)
    assert not muter.mutes(alert("a").labels)
    asyncio.run(clock.advance(500))
    assert muter.mutes(alert("a").labels)


def test_silences_read_before_stay_when_the_store_is_gone(store: SqlStateStore, clock: ManualClock) -> None:
    _silence(store, T0, T0 + HOUR, instance="a")
    muter = SilenceMuter(store.silences, Marker(), clock, refresh_ms=0)
    assert muter.mutes(alert("a").labels)
    muter._repo = _Unavailable()  # type: ignore[assignment]
    assert muter.mutes(alert("a").labels)
    assert muter.refresh_failures == 1


def test_a_due_refresh_with_a_reader_runs_in_the_background(
    tmp_path: Path, store: SqlStateStore, clock: ManualClock
) -> None:
    """With a reader, the read due after ``refresh_ms`` does not hold up the flush: it
    judges with the silences read last until the read lands. A silence written through
    this store still mutes the next flush at once, and a background read that began
    before that immediate read does not replace what it read."""
    reads: list[asyncio.Event] = []

    async def gated(fn: Callable[[], list[Silence]]) -> list[Silence]:
        """Reads at once, answers when its gate opens (a slow database)."""
        found, gate = fn(), asyncio.Event()
        reads.append(gate)
        await gate.wait()
        return found

    async def scenario() -> None:
        marker = Marker()
        muter = SilenceMuter(store.silences, marker, clock, refresh_ms=1000, reader=gated)
        a, b = alert("a"), alert("b")
        assert muter.unmuted([a, b]) == [a, b]  # the first read is immediate
        with sqlite_store(tmp_path, clock) as other:
            sid = _silence(other, T0, T0 + HOUR, instance="a")
        await clock.advance(1000)
        assert muter.unmuted([a, b]) == [a, b]  # due: the read started, the flush did not wait
        await asyncio.sleep(0)
        assert len(reads) == 1
        assert muter.unmuted([a, b]) == [a, b]  # one read at a time
        await asyncio.sleep(0)
        assert len(reads) == 1
        reads[0].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert muter.unmuted([a, b]) == [b]  # landed
        assert marker.status(a.fingerprint).silenced_by == (sid,)

        # A background read in flight, then a silence written here: read at once; the
        # older background read is dropped when it lands.
        await clock.advance(1000)
        assert muter.unmuted([a, b]) == [b]
        await asyncio.sleep(0)
        assert len(reads) == 2
        store.silences.expire(sid)
        _silence(store, T0, T0 + HOUR, instance="b")
        await clock.advance(1)  # past the expired silence's end
        assert muter.unmuted([a, b]) == [a]
        reads[1].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert muter.unmuted([a, b]) == [a]
        assert muter.refresh_failures == 0

    asyncio.run(scenario())


def test_a_failed_background_read_keeps_the_silences_read_before(store: SqlStateStore, clock: ManualClock) -> None:
    async def scenario() -> None:
        _silence(store, T0, T0 + HOUR, instance="a")
        muter = SilenceMuter(store.silences, Marker(), clock, refresh_ms=1000, reader=asyncio.to_thread)
        assert muter.mutes(alert("a").labels)
        muter._repo = _Unavailable()  # type: ignore[assignment]
        await clock.advance(1000)
        assert muter.mutes(alert("a").labels)
        for _ in range(200):  # the thread's read fails
            if muter.refresh_failures:
                break
            await asyncio.sleep(0.01)
        assert muter.refresh_failures == 1
        assert muter.mutes(alert("a").labels)

    asyncio.run(scenario())


class _Unavailable:
    generation = 0

    def list(self, states: object = None) -> list[Silence]:
        raise StateUnavailable("The state database x is unavailable: connection refused.")


RULES = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [severity="page"]
    target_matchers: [severity="ticket"]
    equal: [slo]
"""


def test_inhibition_by_a_firing_source_is_marked_with_its_fingerprint(clock: ManualClock) -> None:
    page = alert("p", severity="page", slo="avail")
    ticket = alert("t", severity="ticket", slo="avail")
    other = alert("o", severity="ticket", slo="latency")
    firing = [page, ticket, other]
    marker = Marker()
    stage = MuteStage(InhibitMuter(Inhibitor.from_config(parse_config(RULES)), marker, lambda: firing, clock))
    assert _mute(stage, [page, ticket, other]) == [page, other]
    assert marker.status(ticket.fingerprint) == AlertMark(AlertState.SUPPRESSED, (), (page.fingerprint_hex,))
    assert marker.status(other.fingerprint) == AlertMark(AlertState.ACTIVE)
    firing[0] = alert("p", severity="page", slo="avail", ends_at=T0)  # the page resolved
    assert _mute(stage, [ticket]) == [ticket]
    assert marker.status(ticket.fingerprint) == AlertMark(AlertState.ACTIVE)


def test_judging_every_alert_reads_the_sources_once_while_the_alerts_stay_the_same(clock: ManualClock) -> None:
    pages = [alert(f"p{i}", severity="page", slo=f"s{i}", ends_at=T0 + HOUR if i == 0 else None) for i in range(200)]
    tickets = [alert(f"t{i}", severity="ticket", slo=f"s{i % 400}") for i in range(1_800)]
    firing, reads, version = pages + tickets, [0], [1]

    def read() -> list[Alert]:
        reads[0] += 1
        return firing

    rules = Inhibitor.from_config(parse_config(RULES))
    indexed = InhibitMuter(rules, Marker(), read, clock, version=lambda: version[0])
    plain = InhibitMuter(rules, Marker(), lambda: firing, clock)  # reads the alerts at every call
    muted = [a for a in firing if indexed.mutes(a.labels)]  # as GET /api/v2/alerts judges them
    assert reads[0] == 1
    assert muted == [t for t in tickets if int(t.labels.get("slo")[1:]) < 200]
    assert muted == [a for a in firing if plain.mutes(a.labels)]
    asyncio.run(clock.advance_to(T0 + 2 * HOUR))  # p0 resolved by its end passing: the alerts did not change
    assert not indexed.mutes(tickets[0].labels) and reads[0] == 1
    firing.append(alert("p300", severity="page", slo="s300"))  # a new source: the store's version changes
    version[0] += 1
    assert indexed.mutes(tickets[300].labels) and reads[0] == 2


def test_the_alert_stores_version_renews_the_index_at_each_put_and_gc(clock: ManualClock) -> None:
    marker = Marker()
    store = AlertStore(clock, marker)
    muter = InhibitMuter(Inhibitor.from_config(parse_config(RULES)), marker, lambda: store.firing(clock.now_ms()),
                         clock, version=lambda: store.version)
    ticket = alert("t", severity="ticket", slo="avail")
    store.put([ticket])
    assert not muter.mutes(ticket.labels)
    store.put([alert("p", severity="page", slo="avail", ends_at=T0 + HOUR)])
    assert muter.mutes(ticket.labels)  # the page came with a put
    asyncio.run(clock.advance_to(T0 + 2 * HOUR))
    assert store.gc() == 1 and not muter.mutes(ticket.labels)
    store.put([alert("p2", severity="page", slo="avail")])
    assert muter.mutes(ticket.labels)


TIMES = """
route:
  receiver: r
receivers: [{name: r}]
time_intervals:
  - name: office
    time_intervals: [{weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '17:00'}]}]
"""
MONDAY_10 = int(datetime(2026, 11, 30, 10, 0, tzinfo=UTC).timestamp() * 1000)
MONDAY_20 = int(datetime(2026, 11, 30, 20, 0, tzinfo=UTC).timestamp() * 1000)


def test_time_intervals_gate_the_route() -> None:
    intervals = intervals_from_config(parse_config(TIMES))
    a = [alert("a")]
    active, mute = TimeActiveStage(intervals), TimeMuteStage(intervals)
    run = asyncio.run
    assert run(active.exec(ctx(MONDAY_10, active_time_intervals=("office",)), a))[1] == a
    assert run(active.exec(ctx(MONDAY_20, active_time_intervals=("office",)), a))[1] == []
    assert run(mute.exec(ctx(MONDAY_10, mute_time_intervals=("office",)), a))[1] == []
    assert run(mute.exec(ctx(MONDAY_20, mute_time_intervals=("office",)), a))[1] == a
    assert run(active.exec(ctx(MONDAY_20), a))[1] == a and run(mute.exec(ctx(MONDAY_10), a))[1] == a
    with pytest.raises(StageError, match="time interval lunch doesn't exist in config"):
        run(mute.exec(ctx(MONDAY_10, mute_time_intervals=("lunch",)), a))


def test_a_silence_written_in_this_process_mutes_at_once(tmp_path: Path) -> None:
    # the API's silence shows in the next GET /api/v2/alerts, not a refresh later
    clock = ManualClock(1_000)
    store = open_store(data_dir=tmp_path, clock=clock.now_ms)
    marker = Marker()
    muter = SilenceMuter(store.silences, marker, clock, refresh_ms=60_000)
    labels = Labels.from_dict({"alertname": "a"})
    assert not muter.mutes(labels)
    sid = store.silences.set(Silence(matchers=(SilenceMatcher("alertname", "a"),),
                                     starts_at=from_ms(0), ends_at=from_ms(10_000_000)))
    assert muter.mutes(labels) and marker.status(fingerprint(labels)).silenced_by == (sid,)
    store.silences.expire(sid)
    asyncio.run(clock.advance(1))  # past its end instant (which still mutes, as in Alertmanager)
    assert not muter.mutes(labels)
    store.close()
