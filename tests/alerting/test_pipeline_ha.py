"""HA without gossip: two pipelines ("replicas") sharing one state store, on SQLite and on
a real PostgreSQL, deliver each notification exactly once; when the replica that claimed
a flush dies, the other sends it at its next flush."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.alerting._nflog_async import Blocking, run_inline
from sloguard.alerting.model import Alert
from sloguard.alerting.pipeline import Pipeline
from sloguard.clock import ManualClock
from sloguard.state import SqlStateStore, open_store
from tests.alerting._pipekit import Capture, flush, pipeline
from tests.alerting._stagekit import HOUR, MIN, T0, alert
from tests.state._pg import PgCluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.empty_database()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def stores(store_url: str, clock: ManualClock) -> Iterator[tuple[SqlStateStore, SqlStateStore]]:
    with open_store(store_url, clock=clock.now_ms) as s1, open_store(store_url, clock=clock.now_ms) as s2:
        yield s1, s2


def _schedule() -> list[tuple[int, list[Alert]]]:
    """Two and a half hours of an incident, a flush every 5 minutes: one alert, a second
    one, the second resolves, then nothing changes (repeat_interval 1 h re-sends)."""
    out = []
    for k in range(30):
        t = T0 + k * 5 * MIN
        alerts = [alert("a")]
        if 1 <= k <= 3:  # b fires, then resolves; the dispatcher drops it once that was sent
            alerts.append(alert("b", ends_at=None if k < 3 else T0 + 12 * MIN))
        out.append((t, alerts))
    return out


async def _replay(clock: ManualClock, replicas: list[Pipeline], stagger_ms: int) -> None:
    for t, alerts in _schedule():
        await clock.advance_to(t)
        if stagger_ms == 0:
            await asyncio.gather(*(r(flush(t, repeat_interval_ms=HOUR), alerts) for r in replicas))
            continue
        for i, r in enumerate(replicas):
            await clock.advance_to(t + i * stagger_ms)
            await r(flush(t + i * stagger_ms, repeat_interval_ms=HOUR), alerts)


@pytest.fixture(scope="module")
def single_replica_paths(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int]]:
    """What one replica alone sends for the schedule: (path, number of alerts) in order."""
    clock, cap = ManualClock(T0), Capture()
    path = tmp_path_factory.mktemp("reference") / "state.db"
    with open_store(f"sqlite:///{path}", clock=clock.now_ms) as store:
        asyncio.run(_replay(clock, [pipeline(store, clock, cap.client())], 0))
    return [(p, len(b["alerts"])) for _, p, b in cap.seen]


@pytest.mark.parametrize(("stagger_ms", "run_db"), [(0, run_inline), (0, asyncio.to_thread), (1000, run_inline)],
                         ids=["together", "together-threads", "staggered"])
def test_two_replicas_deliver_each_notification_exactly_once(
    single_replica_paths: list[tuple[str, int]], stores: tuple[SqlStateStore, SqlStateStore],
    clock: ManualClock, run_db: Blocking, stagger_ms: int,
) -> None:
    cap = Capture()
    replicas = [pipeline(s, clock, cap.client(f"r{i}"), peer=f"r{i}", run_db=run_db) for i, s in enumerate(stores)]
    asyncio.run(_replay(clock, replicas, stagger_ms))
    want = single_replica_paths
    got = [(p, len(b["alerts"])) for _, p, b in cap.seen]
    assert sorted(got) == sorted(want)
    # /team: a, a+b, a with b resolved, two repeats (1 h after); /quiet (no resolved): a, a+b, two repeats
    assert sorted(want) == sorted([("/team", 1), ("/team", 2), ("/team", 2), ("/team", 1), ("/team", 1),
                                   ("/quiet", 1), ("/quiet", 2), ("/quiet", 1), ("/quiet", 1)])


def test_when_the_claiming_replica_dies_the_other_sends_at_its_next_flush(
    stores: tuple[SqlStateStore, SqlStateStore], clock: ManualClock
) -> None:
    cap1, cap2 = Capture(hang={"/team"}), Capture()
    r1 = pipeline(stores[0], clock, cap1.client("r1"), peer="r1")
    r2 = pipeline(stores[1], clock, cap2.client("r2"), peer="r2")
    alerts = [alert("a")]

    async def run() -> None:
        dying = asyncio.ensure_future(r1(flush(T0), alerts))
        await clock.settle()
        assert sorted(cap1.paths()) == ["/quiet", "/team"]  # /team hangs: r1 holds its claim
        await clock.advance(1000)
        assert not await r2(flush(T0 + 1000), alerts)  # deferred: not known to be sent yet
        assert cap2.seen == []  # no duplicate while r1's claim holds; /quiet was logged by r1
        dying.cancel()  # r1 dies mid-send
        await clock.advance_to(T0 + 5 * MIN + 1000)
        assert await r2(flush(T0 + 5 * MIN + 1000), alerts)
        assert cap2.paths() == ["/team"]  # the claim expired at r1's deadline: r2 takes over
        await clock.advance_to(T0 + 10 * MIN + 1000)
        assert await r2(flush(T0 + 10 * MIN + 1000), alerts)
        assert cap2.paths() == ["/team"]

    asyncio.run(run())


def test_a_replica_whose_sends_keep_failing_gives_way_after_its_deadline(
    stores: tuple[SqlStateStore, SqlStateStore], clock: ManualClock
) -> None:
    """r1 claims but its receiver path is down for it until the deadline (retrying);
    r2's flush within that time stays quiet, its first flush after it sends."""
    cap1, cap2 = Capture(codes={"/team": 503}), Capture()
    r1 = pipeline(stores[0], clock, cap1.client("r1"), peer="r1")
    r2 = pipeline(stores[1], clock, cap2.client("r2"), peer="r2")
    alerts = [alert("a")]

    async def run() -> None:
        failing = asyncio.ensure_future(r1(flush(T0, group_interval_ms=MIN), alerts))
        await clock.advance(30_000)
        assert not await r2(flush(T0 + 30_000, group_interval_ms=MIN), alerts)
        assert cap2.seen == []
        while not failing.done():
            await clock.advance(1000)
        assert not await failing
        assert clock.now_ms() <= T0 + MIN + 1000
        await clock.advance_to(T0 + MIN + 30_000)
        assert await r2(flush(T0 + MIN + 30_000, group_interval_ms=MIN), alerts)
        assert cap2.paths() == ["/team"]

    asyncio.run(run())


def test_a_resolved_notification_whose_claimer_died_is_not_lost(
    stores: tuple[SqlStateStore, SqlStateStore], clock: ManualClock
) -> None:
    """The other replica's flush does not count as delivered while the claim is not its
    own, so its dispatcher keeps the resolved alert and sends it once the claim expired."""
    cap1, cap2 = Capture(), Capture()
    r1 = pipeline(stores[0], clock, cap1.client("r1"), peer="r1")
    r2 = pipeline(stores[1], clock, cap2.client("r2"), peer="r2")
    resolved = [alert("a", ends_at=T0 + MIN)]

    async def run() -> None:
        assert await r1(flush(T0), [alert("a")])
        assert await r2(flush(T0), [alert("a")])  # r1's log entry: nothing new for r2
        await clock.advance_to(T0 + 5 * MIN)
        cap1.hang.add("/team")
        dying = asyncio.ensure_future(r1(flush(T0 + 5 * MIN), resolved))
        await clock.settle()
        assert not await r2(flush(T0 + 5 * MIN), resolved)  # the dispatcher keeps the resolved alert
        dying.cancel()
        await clock.advance_to(T0 + 10 * MIN)
        assert await r2(flush(T0 + 10 * MIN), resolved)
        assert [(p, b["status"]) for _, p, b in cap2.seen] == [("/team", "resolved")]

    asyncio.run(run())
