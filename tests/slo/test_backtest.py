"""Backtesting alert policies: hand-computed measures on synthetic incidents, policy
comparisons, and agreement with the generated rules evaluated by the embedded engine.

Histories count events per one-minute step (integers, so window ratios are exact) for a
99.9% SLO over 30 days: the error budget is 0.1%, a page event is 2% of the budget in
1h (an hour's error ratio of at least 1.44%), a ticket event 10% in 3 days (a 3-day
error ratio of at least 0.1%).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import backtest as bt
from sloguard.slo._backtest_history import fetch
from sloguard.slo._backtest_policy import (
    load_policy_file,
    pyrra_policy,
    resolve,
    sloth_policy,
    workbook_policy,
)
from sloguard.slo._range import engine_range_query
from sloguard.slo.loader import load_text
from sloguard.slo.model import AlertTier, BurnWindow
from sloguard.slo.testing import SimWorld
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

M, H, D = 60_000, 3_600_000, 86_400_000
T0 = 1_700_000_040_000  # a whole minute: the steps and the rule evaluations share a grid
SPEC = """
apiVersion: sloguard/v1
service: api
slos:
  - name: api
    objective: 99.9
    sli: {ratio: {bad: 'requests_total{job="api",code="500"}', total: 'requests_total{job="api"}'}}
    alerting: {no_data: false, page: {for: 2m}}
"""
THRESHOLD_1X = bt.Policy("threshold-1x", (AlertTier("page", (BurnWindow(10 * M, 10 * M, 1.0),)),))


@pytest.fixture(scope="module")
def slo():  # type: ignore[no-untyped-def]
    slos, problems = load_text(SPEC, "spec.yml")
    assert problems == []
    return slos[0]


def _history(errors, per_step: float = 1000.0, until: int = 4 * D) -> bt.History:  # type: ignore[no-untyped-def]
    """Steps from 6 days before T0 to ``until`` after it; the backtest starts 3 days
    before T0, so every window is full of clean traffic when it starts."""
    t = np.arange(T0 - 6 * D + M, T0 + until + 1, M, dtype=np.int64)
    err = np.asarray(errors(t), dtype=np.float64).reshape(1, -1)
    return bt.History(t, M, ((),), err, np.full_like(err, per_step), int(np.searchsorted(t, T0 - 3 * D + M)))


def _between(start: int, end: int, value: float):  # type: ignore[no-untyped-def]
    """``value`` errors in every step ending in (T0 + start, T0 + end]."""
    return lambda t: np.where((t > T0 + start) & (t <= T0 + end), value, 0.0)


def _result(b: bt.Backtest, policy: str, tier: str) -> bt.TierResult:
    return next(r for r in b.results if r.policy == policy and r.tier == tier)


def _rel(ms: int | None) -> int | None:
    return None if ms is None else ms - T0


def test_total_outage_pages_after_one_step_and_resets_with_the_30m_window(slo) -> None:  # type: ignore[no-untyped-def]
    b = bt.run(_history(_between(0, 10 * M, 1000.0)), slo, [workbook_policy(slo)])
    page, ticket = _result(b, "workbook", "page"), _result(b, "workbook", "ticket")
    # one step at 100% puts 1/60 = 1.67% in the hour (> 14.4 x 0.1%) and 20% in 5m
    [alert] = page.alerts
    assert (_rel(alert.start_ms), _rel(alert.end_ms), alert.matched) == (1 * M, 40 * M, True)
    [event] = page.events
    assert (_rel(event.onset_ms), _rel(event.end_ms), _rel(event.until_ms)) == (0, 10 * M, 70 * M)
    assert (event.detection_ms, event.reset_time_ms) == (1 * M, 30 * M)
    # one minute at 1000x of a 43,200-minute budget
    assert event.budget_before_detection == pytest.approx(1000 / 43_200)
    assert (page.precision, page.recall) == (1.0, 1.0)
    # the ticket is superseded while the page condition holds, then fires until the 6h
    # window no longer holds an errored minute; the event counts the page's detection
    [talert] = ticket.alerts
    assert (_rel(talert.start_ms), _rel(talert.end_ms), talert.matched) == (40 * M, 370 * M, True)
    [tevent] = ticket.events
    assert (_rel(tevent.onset_ms), tevent.detection_ms, tevent.reset_time_ms) == (0, 1 * M, 360 * M)
    # 4.32 minutes of outage are 10% of the budget over 3 days: 5 whole minutes stay in
    # the window until 3d + 6m
    assert _rel(tevent.until_ms) == 3 * D + 6 * M


def test_five_minute_blip_is_not_significant_and_only_the_1x_threshold_fires(slo) -> None:  # type: ignore[no-untyped-def]
    # 5% errors for 5 minutes: 250 errors, 0.42% of an hour's traffic (below 1.44%)
    b = bt.run(_history(_between(0, 5 * M, 50.0)), slo, [workbook_policy(slo), THRESHOLD_1X])
    wb = _result(b, "workbook", "page")
    assert (wb.alerts, wb.events, wb.precision, wb.recall) == ((), (), None, None)
    assert _result(b, "workbook", "ticket").alerts == ()
    [alert] = _result(b, "threshold-1x", "page").alerts
    # the 10m window is above 0.1% from the first errored minute until it is empty again
    assert (_rel(alert.start_ms), _rel(alert.end_ms), alert.matched) == (1 * M, 15 * M, False)
    assert _result(b, "threshold-1x", "page").precision == 0.0


def test_slow_2x_burn_opens_the_1x_ticket_after_36_hours(slo) -> None:  # type: ignore[no-untyped-def]
    # 0.2% errors (2x) for two days
    b = bt.run(_history(_between(0, 48 * H, 2.0)), slo, [workbook_policy(slo)])
    assert _result(b, "workbook", "page").alerts == () and _result(b, "workbook", "page").events == ()
    ticket = _result(b, "workbook", "ticket")
    # the 3d window reaches 0.1% (exactly: 10% of the budget) after 36h; the alert needs
    # strictly more, one minute later; it resets when the 6h window holds only 3h of errors
    [alert] = ticket.alerts
    assert (_rel(alert.start_ms), _rel(alert.end_ms), alert.matched) == (36 * H + M, 51 * H, True)
    [event] = ticket.events
    assert (_rel(event.onset_ms), _rel(event.end_ms), _rel(event.until_ms)) == (0, 48 * H, 84 * H + M)
    assert (event.detection_ms, event.reset_time_ms) == (36 * H + M, 3 * H)
    assert event.budget_before_detection == pytest.approx(2 * 2161 / 43_200)
    assert (ticket.precision, ticket.recall) == (1.0, 1.0)


def _flapping(t: np.ndarray) -> np.ndarray:
    """From T0, 2.2x for the first half of every hour and nothing in the second: 1.1x."""
    minute = (t - T0 - 1) // M % 60
    return np.where((t > T0) & (minute < 30), 22.0, 0.0)


def test_flapping_1_1x_burn_tickets_once_and_the_1x_threshold_pages_every_hour(slo) -> None:  # type: ignore[no-untyped-def]
    h = _history(_flapping, per_step=10_000.0, until=70 * H)
    b = bt.run(h, slo, [workbook_policy(slo), THRESHOLD_1X])
    ticket = _result(b, "workbook", "ticket")
    # 660 errors an hour; the 3d window needs 43,200: 65 hours and 14 errored minutes
    [alert] = ticket.alerts
    assert (_rel(alert.start_ms), alert.end_ms, alert.matched) == (65 * H + 14 * M, None, True)
    [event] = ticket.events
    assert (_rel(event.onset_ms), event.detection_ms, event.reset_ms) == (0, 65 * H + 14 * M, None)
    errors, total = 65 * 660 + 14 * 22, (65 * 60 + 14) * 10_000
    assert event.budget_before_detection == pytest.approx(errors / total / 0.001 * (65 * 60 + 14) / 43_200)
    assert _result(b, "workbook", "page").alerts == ()
    # the 10m window passes 0.1% from the 5th errored minute to 5 minutes after the last
    thr = _result(b, "threshold-1x", "page")
    assert len(thr.alerts) == 70
    assert {((a.start_ms - T0) % H, a.end_ms - a.start_ms) for a in thr.alerts if a.end_ms} == {(5 * M, 31 * M)}
    assert thr.precision == 0.0  # a ticket-sized burn is no reason to page


def test_workbook_is_more_precise_than_a_single_window_1x_threshold(slo) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(9)

    def errors(t: np.ndarray) -> np.ndarray:
        out: np.ndarray = rng.binomial(1000, 0.0003, len(t)).astype(float)  # 0.3x background
        for start in (6 * H, 20 * H, 33 * H, 50 * H):  # 5-minute blips of 4% errors
            out += _between(start, start + 5 * M, 40.0)(t)
        out += _between(70 * H, 70 * H + 20 * M, 1000.0)(t)  # a 20-minute outage
        return out

    b = bt.run(_history(errors, until=4 * D), slo, [workbook_policy(slo), THRESHOLD_1X])
    wb, thr = _result(b, "workbook", "page"), _result(b, "threshold-1x", "page")
    assert wb.recall == 1.0 and thr.recall == 1.0  # both page the 20-minute outage
    assert wb.precision is not None and thr.precision is not None
    assert wb.precision > thr.precision
    assert len(thr.alerts) >= 5 > len(wb.alerts)
    # background noise above the budget rate now and then does not move the onset or end
    [event] = wb.events
    assert (_rel(event.onset_ms), _rel(event.end_ms), event.detection_ms, event.reset_time_ms) == (70 * H, 70 * H + 20 * M, M, 30 * M)


def test_low_traffic_guard_silences_windows_with_too_few_events(slo) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    # 10 requests a minute, all failing for 10 minutes: 600 events in an hour, 3600 in 6h
    h = _history(_between(0, 10 * M, 10.0), per_step=10.0, until=1 * D)

    def page(min_events: int) -> bt.TierResult:
        guarded = dataclasses.replace(slo, alerting=dataclasses.replace(slo.alerting, min_events=min_events))
        return _result(bt.run(h, guarded, [workbook_policy(slo)]), "workbook", "page")

    assert _rel(page(600).alerts[0].start_ms) == M  # the 1h/5m pair, at exactly 600 events
    # with 601 only the 6h/30m pair may fire, once 6h holds 0.6% errors (3 minutes)
    assert _rel(page(601).alerts[0].start_ms) == 3 * M
    silent = page(3601)
    assert silent.alerts == () and silent.recall == 0.0  # the guard costs recall


def test_grouped_slo_alerts_and_events_carry_their_labels(tmp_path: Path) -> None:
    slos, _ = load_text(SPEC.replace("    objective: 99.9\n", "    objective: 99.9\n    grouping: [route]\n"), "spec.yml")
    t = np.arange(T0 - 3 * D, T0 + 2 * H + 1, M, dtype=np.int64)
    db = TSDB.open(tmp_path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        app = db.appender()
        bad = np.cumsum(_between(0, 10 * M, 600.0)(t))
        app.append_many(Labels.of(name__="requests_total", job="api", route="a", code="500"), t, bad)
        app.append_many(Labels.of(name__="requests_total", job="api", route="a", code="200"), t, np.cumsum(np.full(len(t), 600.0)) - bad)
        app.append_many(Labels.of(name__="requests_total", job="api", route="b", code="200"), t, np.cumsum(np.full(len(t), 600.0)))
        assert app.commit().rejected_total == 0
        h = fetch(engine_range_query(PromQLEngine(db)), slos[0], T0 - H, T0 + 2 * H, M, 3 * D)
    finally:
        db.close()
    assert h.labels == ((("route", "a"),), (("route", "b"),))  # route b has no error series: zero errors
    page = _result(bt.run(h, slos[0], [workbook_policy(slos[0])]), "workbook", "page")
    assert [(a.labels, _rel(a.start_ms)) for a in page.alerts] == [((("route", "a"),), M)]
    assert [e.labels for e in page.events] == [(("route", "a"),)]


def test_for_holds_a_rule_for_whole_steps_like_the_pending_state() -> None:
    cond = np.array([[True, True, False, True, True, True, True]])
    assert bt.hold_for(cond, 0).tolist() == cond.tolist()
    assert bt.hold_for(cond, 2).tolist() == [[False, False, False, False, False, True, True]]


def test_pyrra_windows_scale_with_the_period_as_pyrra_computes_them(slo) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from sloguard.slo.model import Period

    p28 = pyrra_policy(dataclasses.replace(slo, period=Period(28 * D)))
    got = [(t.name, t.for_ms, t.windows[0].long_ms, t.windows[0].short_ms, t.windows[0].factor) for t in p28.tiers]
    # Pyrra's comments: 2m/1h/5m x14, 15m/6h/30m x7, 1h/1d/2h x2, 3h/4d/6h x1 at 28d
    assert got == [("page", 2 * M, H, 5 * M, 14), ("page", 15 * M, 6 * H, 30 * M, 7),
                   ("ticket", H, D, 2 * H, 2), ("ticket", 3 * H, 4 * D, 6 * H, 1)]
    # 30d rounds to whole minutes: 30d/672 = 1h4m17s -> 1h4m
    assert pyrra_policy(slo).tiers[0].windows[0].long_ms == 64 * M


def test_sloth_refuses_a_period_without_default_windows_and_reads_its_windows_file(slo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from sloguard.slo.model import Period

    with pytest.raises(bt.BacktestError, match="28d and 30d SLO periods, not for the 1w"):
        sloth_policy(dataclasses.replace(slo, period=Period(7 * D)))
    f = tmp_path / "7d.yaml"
    f.write_text((Path(__file__).parent / "backtest_windows_7d.yaml").read_text())
    p = load_policy_file(f, dataclasses.replace(slo, period=Period(7 * D)))
    # 8% of a 7d budget in 1h is a burn factor of 0.08 x 168 = 13.44
    assert p.tiers[0].windows[0].factor == pytest.approx(13.44)
    with pytest.raises(bt.BacktestError, match=r"7d\.yaml: spec\.sloPeriod '7d' is not the 30d period"):
        load_policy_file(f, slo)


def test_policy_file_errors_name_the_file_and_key(slo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "p.yml"
    f.write_text("apiVersion: sloguard/v1\nkind: AlertPolicy\ntiers:\n  - name: page\n    windows:\n      - {long: 1x, factor: 2}\n")
    with pytest.raises(bt.BacktestError, match=r"p\.yml: tiers\[0\]\.windows\[0\]\.long: .*'1x'"):
        resolve(str(f), slo)
    f.write_text("apiVersion: sloguard/v1\nkind: AlertPolicy\ntiers:\n  - name: urgent\n    windows: []\n")
    with pytest.raises(bt.BacktestError, match=r"tiers\[0\]\.name: expected page or ticket, got 'urgent'"):
        resolve(str(f), slo)
    with pytest.raises(bt.BacktestError, match="'nope' is neither"):
        resolve("nope", slo)


def _firing_spans(world: SimWorld, tier: str) -> list[tuple[int, int | None]]:
    spans: list[tuple[int, int | None]] = []
    for tr in world.transitions:
        if tr.tier != tier:
            continue
        if tr.state == "firing":
            spans.append((tr.t_ms, None))
        elif spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], tr.t_ms)
    return spans


def test_backtest_fires_when_the_generated_rules_fire_in_the_embedded_engine(slo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = SimWorld(tmp_path, slo)
    try:
        world.write_traffic(T0 - 2 * H, T0 + 1 * H, 15_000, 10, _between(0, 12 * M, 1.0))
        world.run(T0 - 30 * M, T0 + 1 * H)
        history = fetch(engine_range_query(world.engine), slo, T0 - 30 * M, T0 + 1 * H, M, 3 * D)
    finally:
        world.close()
    b = bt.run(history, slo, [resolve("spec", slo)])
    for tier in ("page", "ticket"):
        got = [(a.start_ms, a.end_ms) for a in _result(b, "spec", tier).alerts]
        assert got == _firing_spans(world, tier), tier
        assert got, f"the {tier} never fired: nothing was compared"
    # the page (for: 2m) fires three steps after the outage starts
    assert _result(b, "spec", "page").alerts[0].start_ms == T0 + 3 * M
