"""The dispatcher: routing into aggregation groups, Alertmanager 0.25's group_wait /
group_interval timing, the immediate flush of an old alert, forgetting resolved alerts after
a successful flush, independent groups, reload. Simulated time only (ManualClock)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sloguard.alerting import build_route, parse_config
from sloguard.alerting.dispatch import Dispatcher
from sloguard.alerting.marker import AlertState, Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.provider import AlertStore
from sloguard.alerting.service import GroupView
from sloguard.alerting.stages import FlushContext
from sloguard.clock import ManualClock
from sloguard.labels import Labels

T0 = 1_700_000_000_000
S, MIN, HOUR = 1000, 60_000, 3_600_000
RESOLVE = 5 * MIN

CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  routes:
  - matchers: [team=db]
    receiver: db
    continue: true
  - matchers: [team=db]
    receiver: db-all
    group_by: ['...']
  - matchers: [team=fast]
    receiver: fast
    group_wait: 0s
    group_interval: 5s
receivers: [{name: default}, {name: db}, {name: db-all}, {name: fast}]
"""

Behaviour = Callable[[FlushContext, Sequence[Alert]], Awaitable[bool]]


@dataclass
class Flush:
    ctx: FlushContext
    alerts: list[Alert]

    @property
    def names(self) -> list[str]:
        return [a.labels.get("instance") or a.labels.get("alertname") for a in self.alerts]


@dataclass
class Rig:
    """A store, a dispatcher over CONFIG and a notify that records each flush."""

    config: str = CONFIG
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    marker: Marker = field(default_factory=Marker)
    behaviour: Behaviour | None = None
    flushes: list[Flush] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = AlertStore(self.clock, self.marker)
        self.dispatcher = self.new_dispatcher()

    def new_dispatcher(self) -> Dispatcher:
        route = build_route(parse_config(self.config, "t.yml").route)
        return Dispatcher(route, self._notify, self.store, self.clock, self.marker)

    async def _notify(self, ctx: FlushContext, alerts: Sequence[Alert]) -> bool:
        self.flushes.append(Flush(ctx, list(alerts)))
        return True if self.behaviour is None else await self.behaviour(ctx, alerts)

    def send(self, *labels: dict[str, str], starts_at: int = 0, ends_at: int | None = None) -> list[Alert]:
        return self.store.receive([Alert.of(ls, starts_at=starts_at, ends_at=ends_at) for ls in labels], RESOLVE)

    def times(self, receiver: str | None = None) -> list[int]:
        return [f.ctx.now_ms - T0 for f in self.flushes if receiver in (None, f.ctx.receiver)]


def run(rig: Rig, scenario: Callable[[], Awaitable[None]]) -> None:
    async def go() -> None:
        await rig.dispatcher.start()
        try:
            await scenario()
        finally:
            await rig.dispatcher.stop()

    asyncio.run(go())


def test_first_flush_after_group_wait_then_every_group_interval_for_hours() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Down", "instance": "a"}, starts_at=T0, ends_at=T0 + 10 * HOUR)
        await rig.clock.advance(29 * S)
        assert rig.flushes == []
        await rig.clock.advance(3 * HOUR)

    run(rig, scenario)
    assert rig.times() == [30 * S + k * 5 * MIN for k in range(36)]
    ctx = rig.flushes[0].ctx
    assert ctx.group_key == '{}:{alertname="Down"}' and ctx.receiver == "default"
    assert ctx.group_id == hashlib.sha256(ctx.group_key.encode()).hexdigest()
    assert ctx.group_labels == Labels.of(alertname="Down") and ctx.route.group_wait_ms == 30 * S
    assert ctx.deadline_ms == ctx.now_ms + 5 * MIN


def test_deadline_is_at_least_ten_seconds() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "X", "team": "fast"}, starts_at=T0)
        await rig.clock.advance(11 * S)

    run(rig, scenario)
    assert rig.times("fast") == [0, 5 * S, 10 * S]
    assert [(f.ctx.deadline_ms or 0) - f.ctx.now_ms for f in rig.flushes] == [10 * S] * 3


def test_alerts_group_by_the_routes_group_by_labels() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Down", "instance": "b"}, {"alertname": "Down", "instance": "a"},
                 {"alertname": "Slow", "instance": "a"}, starts_at=T0)
        await rig.clock.advance(30 * S)

    run(rig, scenario)
    by_key = {f.ctx.group_key: f.names for f in rig.flushes}
    assert by_key == {'{}:{alertname="Down"}': ["a", "b"], '{}:{alertname="Slow"}': ["a"]}


def test_continue_puts_an_alert_in_two_groups_and_dots_group_by_every_label() -> None:
    rig = Rig()
    seen: dict[str, tuple[str, ...]] = {}

    async def scenario() -> None:
        (a,) = rig.send({"alertname": "Lag", "team": "db", "instance": "x"}, starts_at=T0)
        rig.send({"alertname": "Lag", "team": "db", "instance": "y"}, starts_at=T0)
        seen["receivers"] = rig.dispatcher.receivers_of(a)
        await rig.clock.advance(30 * S)

    run(rig, scenario)
    assert seen["receivers"] == ("db", "db-all")
    got = sorted((f.ctx.receiver, f.ctx.group_key, tuple(f.names)) for f in rig.flushes)
    assert got == [
        ("db", '{}/{team="db"}:{alertname="Lag"}', ("x", "y")),
        ("db-all", '{}/{team="db"}:{alertname="Lag", instance="x", team="db"}', ("x",)),
        ("db-all", '{}/{team="db"}:{alertname="Lag", instance="y", team="db"}', ("y",)),
    ]


def test_an_alert_whose_wait_is_over_flushes_a_new_group_at_once() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Old"}, starts_at=T0 - MIN)
        await rig.dispatcher.settle()

    run(rig, scenario)
    assert rig.times() == [0]


def test_an_old_alert_brings_a_waiting_groups_first_flush_forward_but_not_later_ones() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Down", "instance": "new"}, starts_at=T0)
        await rig.clock.advance(10 * S)
        rig.send({"alertname": "Down", "instance": "old"}, starts_at=T0 - HOUR)
        await rig.dispatcher.settle()
        assert rig.times() == [10 * S]
        await rig.clock.advance(MIN)
        rig.send({"alertname": "Down", "instance": "older"}, starts_at=T0 - 2 * HOUR)
        await rig.clock.advance(5 * MIN)

    run(rig, scenario)
    assert rig.times() == [10 * S, 10 * S + 5 * MIN]
    assert rig.flushes[-1].names == ["new", "old", "older"]


def test_firing_alerts_go_without_their_end_resolved_ones_with_it() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Down", "instance": "a"}, starts_at=T0)
        rig.send({"alertname": "Down", "instance": "b"}, starts_at=T0, ends_at=T0 + 10 * S)
        await rig.clock.advance(30 * S)

    run(rig, scenario)
    (flush,) = rig.flushes
    assert [(a.labels.get("instance"), a.ends_at) for a in flush.alerts] == [("a", None), ("b", T0 + 10 * S)]


def test_resolved_alerts_leave_the_group_after_a_successful_flush_and_the_empty_group_goes() -> None:
    rig = Rig()
    counts: list[int] = []

    async def scenario() -> None:
        rig.send({"alertname": "Down"}, starts_at=T0)
        await rig.clock.advance(MIN)
        rig.send({"alertname": "Down"}, starts_at=T0, ends_at=T0 + MIN)
        await rig.clock.advance_to(T0 + 5 * MIN)
        counts.append(rig.dispatcher.aggregation_groups)
        await rig.clock.advance_to(T0 + 30 * S + 5 * MIN)  # the second flush sends the resolved alert
        await rig.clock.advance(30 * S)  # an empty group goes at the next cleanup tick
        counts.append(rig.dispatcher.aggregation_groups)
        await rig.clock.advance(20 * MIN)
        counts.append(rig.dispatcher.aggregation_groups)

    run(rig, scenario)
    assert [f.alerts[0].resolved_at(f.ctx.now_ms) for f in rig.flushes] == [False, True]
    assert counts == [1, 0, 0]
    assert asyncio.run(rig.dispatcher.groups()) == []


def test_resolved_alerts_stay_after_a_failed_flush_and_are_sent_again() -> None:
    results = iter([True, False, False, True])

    async def flaky(_: FlushContext, __: Sequence[Alert]) -> bool:
        return next(results, True)

    rig = Rig(behaviour=flaky)

    async def scenario() -> None:
        rig.send({"alertname": "Down"}, starts_at=T0)
        await rig.clock.advance(MIN)
        rig.send({"alertname": "Down"}, starts_at=T0, ends_at=T0 + MIN)
        await rig.clock.advance(HOUR)

    run(rig, scenario)
    assert rig.times() == [30 * S + k * 5 * MIN for k in range(4)]
    assert rig.dispatcher.failed_flushes == 2 and rig.dispatcher.flushes == 4


def test_a_resolved_alert_updated_during_the_flush_stays() -> None:
    async def refire(ctx: FlushContext, alerts: Sequence[Alert]) -> bool:
        if any(a.resolved_at(ctx.now_ms) for a in alerts):
            await rig.clock.sleep_until(ctx.now_ms + S)
            rig.send({"alertname": "Down"}, starts_at=T0)
        return True

    rig = Rig(behaviour=refire)

    async def scenario() -> None:
        rig.send({"alertname": "Down"}, starts_at=T0, ends_at=T0 + 10 * S)
        await rig.clock.advance(30 * S + 5 * MIN)

    run(rig, scenario)
    assert [f.alerts[0].resolved_at(f.ctx.now_ms) for f in rig.flushes] == [True, False]


def test_a_hung_notify_delays_only_its_own_group_and_is_cancelled_at_the_deadline() -> None:
    cancelled: list[int] = []

    async def hang_for_a(ctx: FlushContext, _: Sequence[Alert]) -> bool:
        if ctx.group_labels.get("alertname") == "A":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(rig.clock.now_ms() - T0)
                raise
        return True

    rig = Rig(behaviour=hang_for_a)

    async def scenario() -> None:
        rig.send({"alertname": "A"}, starts_at=T0, ends_at=T0 + 10 * HOUR)
        await rig.clock.advance(10 * S)
        rig.send({"alertname": "B"}, starts_at=T0 + 10 * S, ends_at=T0 + 10 * HOUR)
        await rig.clock.advance(HOUR)

    run(rig, scenario)
    assert rig.times("default")[:4] == [30 * S, 40 * S, 30 * S + 5 * MIN, 40 * S + 5 * MIN]
    b_times = [f.ctx.now_ms - T0 for f in rig.flushes if f.ctx.group_labels.get("alertname") == "B"]
    assert b_times == [40 * S + k * 5 * MIN for k in range(12)]
    assert cancelled[:2] == [30 * S + 5 * MIN, 30 * S + 10 * MIN]
    assert rig.dispatcher.failed_flushes == len(cancelled) - 1 == 11  # the last one was cancelled by stop()


def test_a_notify_that_raises_counts_as_failed_and_the_group_carries_on() -> None:
    async def boom(_: FlushContext, __: Sequence[Alert]) -> bool:
        raise ConnectionError("receiver unreachable")

    rig = Rig(behaviour=boom)

    async def scenario() -> None:
        rig.send({"alertname": "Down"}, starts_at=T0)
        await rig.clock.advance(30 * S + 10 * MIN)

    run(rig, scenario)
    assert rig.times() == [30 * S, 30 * S + 5 * MIN, 30 * S + 10 * MIN]
    assert rig.dispatcher.failed_flushes == 3


def test_stop_cancels_an_inflight_flush() -> None:
    cancelled: list[bool] = []

    async def hang(_: FlushContext, __: Sequence[Alert]) -> bool:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return True

    rig = Rig(behaviour=hang)

    async def scenario() -> None:
        rig.send({"alertname": "Down"}, starts_at=T0)
        await rig.clock.advance(31 * S)
        await rig.dispatcher.stop()

    run(rig, scenario)
    assert cancelled == [True] and len(rig.flushes) == 1


def test_a_new_dispatcher_on_the_same_store_gets_every_alert_again() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Old"}, starts_at=T0)
        await rig.clock.advance(MIN)
        await rig.dispatcher.stop()
        rig.send({"alertname": "Fresh"}, starts_at=T0 + MIN)  # arrives while no dispatcher runs
        rig.dispatcher = rig.new_dispatcher()
        await rig.dispatcher.start()
        await rig.dispatcher.settle()
        await rig.clock.advance(30 * S)

    run(rig, scenario)
    got = [(f.ctx.now_ms - T0, f.ctx.group_labels.get("alertname")) for f in rig.flushes]
    # Old's wait was long over: it flushes at once; Fresh waits group_wait from the restart.
    assert got == [(30 * S, "Old"), (MIN, "Old"), (MIN + 30 * S, "Fresh")]


def test_groups_view_is_sorted_with_marks_and_receivers() -> None:
    rig = Rig()
    views: list[object] = []

    async def scenario() -> None:
        (x,) = rig.send({"alertname": "Lag", "team": "db", "instance": "x"}, starts_at=T0)
        rig.send({"alertname": "Down", "instance": "a"}, starts_at=T0)
        rig.marker.set_silenced(x.fingerprint, ["s1"])
        views.extend(await rig.dispatcher.groups())

    run(rig, scenario)
    summary = [(v.receiver, str(v.labels), [a.receivers for a in v.alerts]) for v in views]  # type: ignore[attr-defined]
    assert summary == [
        ("default", '{alertname="Down"}', [("default",)]),
        ("db", '{alertname="Lag"}', [("db", "db-all")]),
        ("db-all", '{alertname="Lag", instance="x", team="db"}', [("db", "db-all")]),
    ]
    lag = views[1]
    assert lag.alerts[0].mark.state is AlertState.SUPPRESSED  # type: ignore[attr-defined]
    assert lag.route_id == '{}/{team="db"}/0' and lag.group_key == '{}/{team="db"}:{alertname="Lag"}'  # type: ignore[attr-defined]


def test_an_alert_not_resent_resolves_after_resolve_timeout_and_is_sent_resolved_once() -> None:
    rig = Rig()

    async def scenario() -> None:
        rig.send({"alertname": "Down"})  # no start, no end: starts now, ends after RESOLVE
        await rig.clock.advance(HOUR)

    run(rig, scenario)
    got = [(f.ctx.now_ms - T0, f.alerts[0].ends_at) for f in rig.flushes]
    assert got == [(30 * S, None), (30 * S + 5 * MIN, T0 + RESOLVE)]
    assert rig.dispatcher.aggregation_groups == 0


def test_an_alert_resent_before_its_timeout_keeps_firing() -> None:
    rig = Rig()

    async def scenario() -> None:
        for _ in range(12):
            rig.send({"alertname": "Down"}, starts_at=T0)
            await rig.clock.advance(MIN)

    run(rig, scenario)
    assert rig.times() == [30 * S, 30 * S + 5 * MIN, 30 * S + 10 * MIN]
    assert all(f.alerts[0].ends_at is None for f in rig.flushes)


def test_groups_listed_in_steps_are_the_same_and_let_other_tasks_run_between_steps() -> None:
    """150,000 groups take a second to list: the API lists them a step at a time. Groups that
    change between steps do not break the answer (each group's alerts are taken at once)."""
    rig = Rig()
    listed: dict[str, list[GroupView]] = {}
    turns: list[int] = []

    async def scenario() -> None:
        for i in range(7):
            rig.send({"alertname": f"A{6 - i}", "team": "db", "instance": f"i{i}"}, starts_at=T0)
        listed["whole"] = await rig.dispatcher.groups()
        done = False

        async def other() -> None:  # another request, which also changes the groups
            while not done:
                turns.append(len(turns))
                rig.send({"alertname": f"A{len(turns) % 9}", "team": "db", "instance": f"late{len(turns)}"}, starts_at=T0)
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        turns.clear()
        listed["stepped"] = await rig.dispatcher.groups(step=2)
        done = True
        await task
        listed["after"] = await rig.dispatcher.groups()

    run(rig, scenario)
    whole, stepped = listed["whole"], listed["stepped"]
    assert len(whole) == 14 and [(g.receiver, str(g.labels)) for g in whole][:3] == [
        ("db", '{alertname="A0"}'), ("db", '{alertname="A1"}'), ("db", '{alertname="A2"}')]
    assert len(turns) >= 12  # 14 groups taken, then 14 viewed, 2 a step: a turn between steps
    names = [(g.receiver, str(g.labels)) for g in stepped]  # the groups as they were when the listing began
    assert {(g.receiver, str(g.labels)) for g in whole} <= set(names)
    after = [(g.receiver, str(g.labels)) for g in listed["after"]]
    assert names == [x for x in after if x in set(names)]  # in Alertmanager's order
    late = {a.alert.labels.get("instance") for g in stepped for a in g.alerts} - {f"i{i}" for i in range(7)}
    assert late  # alerts that came during the listing into groups not yet taken are in them
    for g in stepped:  # each alert's receivers are those of the listed groups holding it
        for a in g.alerts:
            assert a.receivers == tuple(sorted(h.receiver for h in stepped if a.alert in [b.alert for b in h.alerts]))
    assert len(listed["after"]) > len(stepped)  # new groups made during the listing come in the next one
