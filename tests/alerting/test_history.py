"""Alert transitions into the alert history: fired once per firing period, resolved when the
sender resolves it or when it times out, kept for the next flush while the database fails;
and through the running pipeline into a real state store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from sloguard.alerting.config import parse_config
from sloguard.alerting.core import AlertingCore, CoreOptions
from sloguard.alerting.history import DROP_REPORT_MS, MAX_PENDING, HistoryRecorder
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.provider import AlertStore
from sloguard.clock import ManualClock
from sloguard.state import HistoryEvent, HistoryKind, StateUnavailable, open_store

NOW = 1_700_000_000_000
MIN = 60_000
LABELS = {"alertname": "SLOBurn", "slo": "shop-availability", "service": "shop"}


class Sink:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self.fail = False

    def __call__(self, events: Sequence[HistoryEvent]) -> int:
        if self.fail:
            raise StateUnavailable("The state database is away.")
        self.events.extend(events)
        return len(events)


def _setup(max_pending: int = MAX_PENDING) -> tuple[ManualClock, AlertStore, HistoryRecorder, Sink]:
    clock, sink = ManualClock(NOW), Sink()
    store = AlertStore(clock, Marker())
    recorder = HistoryRecorder(sink, clock, max_pending)
    store.subscribe(recorder.observe)
    return clock, store, recorder, sink


def _kinds(sink: Sink) -> list[tuple[HistoryKind, int]]:
    return [(e.kind, e.time) for e in sink.events]


def test_an_alert_fires_once_while_resent_and_resolves_at_its_end() -> None:
    clock, store, recorder, sink = _setup()
    for i in range(3):  # the rule evaluator resends the firing alert every cycle
        store.put([Alert.of(LABELS, starts_at=NOW - MIN, ends_at=NOW + (i + 4) * MIN)])
    store.put([Alert.of(LABELS, starts_at=NOW - MIN, ends_at=NOW)])  # resolved by its sender
    asyncio.run(recorder.flush())
    assert _kinds(sink) == [(HistoryKind.ALERT_FIRED, NOW - MIN), (HistoryKind.ALERT_RESOLVED, NOW)]
    assert sink.events[0].labels == LABELS and sink.events[0].key == Alert.of(LABELS).fingerprint_hex
    store.put([Alert.of(LABELS, starts_at=NOW + 5 * MIN, ends_at=NOW + 9 * MIN)])  # fires again later
    asyncio.run(recorder.flush())
    assert _kinds(sink)[2:] == [(HistoryKind.ALERT_FIRED, NOW + 5 * MIN)]


def test_an_alert_that_times_out_is_resolved_by_the_sweep() -> None:
    clock, store, recorder, sink = _setup()
    store.put([Alert.of(LABELS, starts_at=NOW, ends_at=NOW + 5 * MIN)])
    recorder.sweep(store.get)
    assert [e.kind for e in sink.events] == [] and recorder.pending == 1
    asyncio.run(clock.advance_to(NOW + 6 * MIN))
    recorder.sweep(store.get)
    asyncio.run(recorder.flush())
    assert _kinds(sink) == [(HistoryKind.ALERT_FIRED, NOW), (HistoryKind.ALERT_RESOLVED, NOW + 5 * MIN)]
    recorder.sweep(store.get)  # said once
    asyncio.run(recorder.flush())
    assert len(sink.events) == 2


def test_a_resent_alert_resolves_at_its_last_end_and_a_sweep_looks_only_at_the_alerts_due() -> None:
    clock, store, recorder, sink = _setup(max_pending=30_000)
    for i in range(20_000):  # firing until NOW + 10 min, never updated
        store.put([Alert.of({"alertname": "Quiet", "instance": f"h{i}"}, starts_at=NOW, ends_at=NOW + 10 * MIN)])
    store.put([Alert.of(LABELS, starts_at=NOW, ends_at=NOW + 2 * MIN)])
    store.put([Alert.of(LABELS, starts_at=NOW, ends_at=NOW + 4 * MIN)])  # resent: its end moved later
    looked: list[int] = []

    def held(fp: int) -> Alert | None:
        looked.append(fp)
        return store.get(fp)

    asyncio.run(clock.advance_to(NOW + 3 * MIN))  # past the first end, before the second
    recorder.sweep(held)
    assert looked == [] and recorder.pending == 20_001  # the fired events only
    asyncio.run(clock.advance_to(NOW + 5 * MIN))
    recorder.sweep(held)
    assert looked == [Alert.of(LABELS).fingerprint]  # not the 20,000 still firing
    asyncio.run(recorder.flush())
    assert _kinds(sink)[-1] == (HistoryKind.ALERT_RESOLVED, NOW + 4 * MIN)
    recorder.sweep(held, full=True)  # the maintenance pass looks at every firing alert, resolves none
    assert len(looked) == 1 + 20_000 + 1  # and asks the store about the seen alert no longer firing
    asyncio.run(recorder.flush())
    assert len(sink.events) == 20_002


def test_a_full_sweep_resolves_a_firing_alert_the_store_no_longer_holds() -> None:
    clock, store, recorder, sink = _setup()
    store.put([Alert.of(LABELS, starts_at=NOW, ends_at=NOW + 10 * MIN)])
    asyncio.run(clock.advance_to(NOW + MIN))
    recorder.sweep(lambda fp: None)  # not due: nothing looked at
    asyncio.run(recorder.flush())
    assert _kinds(sink) == [(HistoryKind.ALERT_FIRED, NOW)]
    recorder.sweep(lambda fp: None, full=True)
    asyncio.run(recorder.flush())
    assert _kinds(sink)[1:] == [(HistoryKind.ALERT_RESOLVED, NOW + MIN)]  # ended now, when it was found gone


def test_events_stay_queued_while_the_database_fails_and_the_oldest_go_past_the_bound() -> None:
    clock, sink = ManualClock(NOW), Sink()
    recorder = HistoryRecorder(sink, clock, max_pending=3)
    sink.fail = True
    for i in range(4):
        recorder.observe(Alert.of({**LABELS, "n": str(i)}, starts_at=NOW + i, ends_at=NOW + MIN))
    with pytest.raises(StateUnavailable):
        asyncio.run(recorder.flush())
    assert recorder.pending == 3 and recorder.dropped == 1
    sink.fail = False
    asyncio.run(recorder.flush())
    assert [e.time for e in sink.events] == [NOW + 1, NOW + 2, NOW + 3] and recorder.pending == 0


def test_the_pipeline_records_alerts_in_the_state_store(tmp_path: Path) -> None:
    async def scenario() -> list[HistoryEvent]:
        clock = ManualClock(NOW)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock.now_ms)
        cfg = "route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n"
        core = AlertingCore(parse_config(cfg, file="<test>"), cfg, store, clock, CoreOptions("r0"))
        await core.start()
        try:
            core.receive([Alert.of(LABELS, starts_at=NOW - MIN, ends_at=NOW + 4 * MIN)])
            await clock.advance_to(NOW + 2_000)  # the history is flushed every second
            await clock.settle()
            core.receive([Alert.of(LABELS, starts_at=NOW - MIN, ends_at=NOW + 2_000)])
        finally:
            await core.stop()  # the last events are written at stop
        events = store.alert_history.query(0, NOW + MIN)
        store.close()
        return events

    events = asyncio.run(scenario())
    assert [(e.kind, e.time) for e in events] == [(HistoryKind.ALERT_FIRED, NOW - MIN),
                                                  (HistoryKind.ALERT_RESOLVED, NOW + 2_000)]
    assert events[0].labels == LABELS


def test_a_burst_past_the_bound_is_one_warning_a_minute_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    clock, sink = ManualClock(NOW), Sink()
    recorder = HistoryRecorder(sink, clock, max_pending=3)
    caplog.set_level(logging.WARNING, logger="sloguard.alerting.history")
    for i in range(100):  # 97 dropped in one burst: one line, not 97
        recorder.observe(Alert.of({**LABELS, "n": str(i)}, starts_at=NOW, ends_at=NOW + MIN))
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1 and drops[0].dropped == 1  # type: ignore[attr-defined]
    asyncio.run(recorder.flush())  # within the minute: nothing more said
    for i in range(100, 105):
        recorder.observe(Alert.of({**LABELS, "n": str(i)}, starts_at=NOW, ends_at=NOW + MIN))
    asyncio.run(clock.advance(DROP_REPORT_MS))
    asyncio.run(recorder.flush())  # a minute on: the drops since, in one line
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 2 and drops[1].dropped == 96 + 2 and drops[1].dropped_total == 99  # type: ignore[attr-defined]
    assert recorder.dropped == 99
