"""The per-integration stages: dedup (Alertmanager's needsUpdate table) with the HA claim,
retry with backoff on the manual clock, set-notifies, and how stages chain and fan out."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sloguard.alerting._stage_chain import Branch, FanoutStage, MultiStage, RoutingStage
from sloguard.alerting._stage_notify import (
    DedupStage,
    SetNotifiesStage,
    flush_id,
    hash_alert,
    needs_update,
)
from sloguard.alerting._stage_retry import IntegrationStats, RetryStage
from sloguard.alerting.receivers import Backoff
from sloguard.alerting.stages import Deferred, FlushContext, StageError
from sloguard.clock import ManualClock
from sloguard.labels import xxh64
from sloguard.labels._xxhash import py_xxh64
from sloguard.state import NflogEntry, NflogReceiver, SqlStateStore
from tests.alerting._stagekit import HOUR, MIN, T0, FakeNotifier, alert, ctx, sqlite_store, status

HOOK = NflogReceiver("team", "webhook", 0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SqlStateStore]:
    with sqlite_store(tmp_path, clock) as s:
        yield s


# ---- hashing -------------------------------------------------------------------------------


def test_xxh64_matches_the_reference_digests() -> None:
    assert (xxh64(b""), xxh64(b"a"), xxh64(b"abc")) == (0xEF46DB3751D8E999, 0xD24EC4F1A98C6E5B, 0x44BC2CF5AD770999)


def test_xxh64_matches_libxxhash_on_every_tail_length() -> None:
    path = ctypes.util.find_library("xxhash")
    if path is None:
        pytest.skip("libxxhash is not installed (the reference digests above still check the hash)")
    lib = ctypes.CDLL(path)
    lib.XXH64.restype = ctypes.c_uint64
    lib.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
    for n in [*range(70), 1000]:
        data = os.urandom(n)
        assert xxh64(data) == lib.XXH64(data, n, 0), n


def test_the_python_xxh64_matches_the_c_one_on_every_tail_length() -> None:
    for n in [*range(70), 1000]:
        data = os.urandom(n)
        assert py_xxh64(data) == xxh64(data), n


def test_an_alert_hash_is_xxh64_of_its_labels_in_name_order() -> None:
    a = alert("i1")
    assert hash_alert(a) == xxh64(b"alertname\xffDown\xffinstance\xffi1\xff")
    assert hash_alert(alert("i1", ends_at=T0)) == hash_alert(a)  # times and annotations do not count
    assert hash_alert(alert("i2")) != hash_alert(a)


# ---- dedup ---------------------------------------------------------------------------------


def _entry(ts: int, firing: tuple[int, ...] = (), resolved: tuple[int, ...] = ()) -> NflogEntry:
    return NflogEntry(HOOK, "g", ts, firing, resolved, ts + HOUR)


NOW = T0
# Alertmanager 0.25's TestDedupStageNeedsUpdate: (entry, firing, resolved, repeat, send_resolved, want)
NEEDS_UPDATE = [
    (None, {2, 3, 4}, set(), 0, False, True),  # never notified: notify
    (None, set(), {2, 3, 4}, 0, False, False),  # never notified and nothing fires: don't
    (_entry(NOW, (1, 2, 3)), {2, 3, 4}, set(), 0, False, True),  # other firing set
    (_entry(0, (1, 2, 3)), {1, 2, 3}, set(), 0, False, True),  # zero timestamp always updates
    (_entry(NOW - 9 * MIN, (1, 2, 3)), {1, 2, 3}, set(), 10 * MIN, False, False),  # before repeat
    (_entry(NOW - 11 * MIN, (1, 2, 3)), {1, 2, 3}, set(), 10 * MIN, False, True),  # after repeat
    (_entry(NOW - 11 * MIN, (), (1, 2, 3)), set(), {3, 4, 5}, 10 * MIN, True, False),  # came and went
    (_entry(NOW - 9 * MIN, (1, 2), (3,)), {1}, {2, 3}, 10 * MIN, False, False),  # resolved, not sent
    (_entry(NOW - 9 * MIN, (1, 2), (3,)), {1}, {2, 3}, 10 * MIN, True, True),  # resolved, sent
    (_entry(NOW - 9 * MIN, (1, 2), (3,)), set(), {1, 2, 3}, 10 * MIN, False, True),  # all resolved
    (_entry(NOW - 9 * MIN, (1, 2), (3,)), set(), {1, 2, 3}, 10 * MIN, True, True),
    (_entry(NOW - 10 * MIN, (1, 2, 3)), {1, 2, 3}, set(), 10 * MIN, False, False),  # exactly repeat: not yet
]


@pytest.mark.parametrize(("entry", "firing", "resolved", "repeat", "send_resolved", "want"), NEEDS_UPDATE)
def test_needs_update_follows_alertmanager(entry: NflogEntry | None, firing: set[int], resolved: set[int],
                                           repeat: int, send_resolved: bool, want: bool) -> None:
    got = needs_update(entry, firing, resolved, send_resolved=send_resolved, repeat_ms=repeat, now_ms=NOW)
    assert got is want


def test_dedup_records_the_hashes_and_drops_what_the_log_already_says(store: SqlStateStore) -> None:
    firing, gone = alert("a"), alert("b", ends_at=T0 - 1)
    stage = DedupStage(store.nflog, HOOK, send_resolved=True)
    out_ctx, out = asyncio.run(stage.exec(ctx(T0), [firing, gone]))
    assert out == [firing, gone]
    assert (out_ctx.firing, out_ctx.resolved) == ((hash_alert(firing),), (hash_alert(gone),))
    assert out_ctx.flush_id == flush_id(None, out_ctx.firing, out_ctx.resolved)
    store.nflog.log(HOOK, out_ctx.group_key, out_ctx.firing, out_ctx.resolved, expires_at=T0 + HOUR)
    again_ctx, again = asyncio.run(stage.exec(ctx(T0 + MIN), [firing, gone]))
    assert again == []
    assert again_ctx.flush_id != out_ctx.flush_id  # a logged entry gives the next flush a new id
    assert asyncio.run(stage.exec(ctx(T0 + MIN), [firing, alert("c")]))[1] != []


def test_flush_ids_depend_only_on_what_replicas_share() -> None:
    e = _entry(T0, (1,))
    assert flush_id(e, (1, 2), (3,)) == flush_id(_entry(T0, (1,)), (1, 2), (3,))
    assert len({flush_id(e, (1, 2), (3,)), flush_id(e, (1, 2), ()), flush_id(None, (1, 2), (3,)),
                flush_id(_entry(T0 + 1, (1,)), (1, 2), (3,)), flush_id(e, (1,), (2, 3))}) == 5


# ---- claim ---------------------------------------------------------------------------------


def test_one_claim_per_flush_until_its_deadline(store: SqlStateStore, clock: ManualClock) -> None:
    c = ctx(T0, deadline_ms=T0 + 10_000)
    a = [alert("a")]
    r1, r2 = DedupStage(store.nflog, HOOK, True, holder="r1"), DedupStage(store.nflog, HOOK, True, holder="r2")
    sent_ctx, sent = asyncio.run(r1.exec(c, a))
    assert sent == a
    fid = sent_ctx.flush_id
    assert fid == flush_id(None, (hash_alert(a[0]),), ())
    with pytest.raises(Deferred, match=rf"team/webhook\[0\]: another replica holds flush {fid} of group"):
        asyncio.run(r2.exec(c, a))
    assert asyncio.run(r1.exec(c, a))[1] == a  # the holder may claim its own flush again
    asyncio.run(clock.advance(10_000))
    assert asyncio.run(r2.exec(c, a))[1] == a  # r1's claim expired: r2 takes the flush over
    assert store.nflog.claim_holder(HOOK, c.group_key, fid) == "r2"


def test_a_flush_with_nothing_to_send_claims_nothing(store: SqlStateStore, clock: ManualClock) -> None:
    """Dedup drops what the log already says before any claim: the other replica's
    chain ends quietly (no Deferred) and no claim row is made."""
    c = ctx(T0, deadline_ms=T0 + 10_000)
    a = [alert("a")]
    store.nflog.log(HOOK, c.group_key, [hash_alert(a[0])], [], expires_at=T0 + HOUR, timestamp=T0 - MIN)
    out_ctx, out = asyncio.run(DedupStage(store.nflog, HOOK, True, holder="r1").exec(c, a))
    assert out == []
    assert store.nflog.claim_holder(HOOK, c.group_key, out_ctx.flush_id) is None


# ---- retry ---------------------------------------------------------------------------------


def _retry(notifier: FakeNotifier, clock: ManualClock, stats: IntegrationStats | None = None,
           timeout_s: float = 10.0) -> RetryStage:
    return RetryStage(notifier, "team/webhook[0]", clock, stats or IntegrationStats(),
                      backoff=Backoff(0.5, 2.0, 30.0, 5), timeout_s=timeout_s)


async def _run_until_done(clock: ManualClock, coro: object, step_ms: int = 100, limit_ms: int = HOUR) -> object:
    task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
    start = clock.now_ms()
    while not task.done() and clock.now_ms() - start < limit_ms:
        await clock.advance(step_ms)
    return await task


def test_a_4xx_is_not_retried(clock: ManualClock) -> None:
    n, stats = FakeNotifier(clock, [status(400)]), IntegrationStats()
    with pytest.raises(StageError, match=r"team/webhook\[0\]: notify retry canceled due to unrecoverable error after 1 attempts: unexpected status code 400") as e:
        asyncio.run(_run_until_done(clock, _retry(n, clock, stats).exec(ctx(T0, deadline_ms=T0 + MIN), [alert("a")])))
    assert not e.value.retryable
    assert len(n.calls) == 1
    assert (stats.notifications, stats.notifications_failed, stats.requests, stats.requests_failed) == (1, 1, 1, 1)


def test_a_5xx_is_retried_with_exponential_backoff_on_the_clock(clock: ManualClock) -> None:
    n, stats = FakeNotifier(clock, [status(502), status(503), status(500)]), IntegrationStats()
    out = asyncio.run(_run_until_done(clock, _retry(n, clock, stats).exec(ctx(T0, deadline_ms=T0 + MIN), [alert("a")])))
    assert out[1] == [alert("a")]  # type: ignore[index]
    assert n.times == [T0, T0 + 500, T0 + 1500, T0 + 3500]  # 0.5 s, 1 s, 2 s between attempts
    assert (stats.notifications, stats.notifications_failed, stats.requests, stats.requests_failed) == (1, 0, 4, 3)


def test_retries_stop_at_the_deadline(clock: ManualClock) -> None:
    n = FakeNotifier(clock, [status(503)] * 100)
    with pytest.raises(StageError, match="notify retry canceled after 5 attempts: unexpected status code 503") as e:
        asyncio.run(_run_until_done(clock, _retry(n, clock).exec(ctx(T0, deadline_ms=T0 + 10_000), [alert("a")])))
    assert e.value.retryable
    assert n.times == [T0, T0 + 500, T0 + 1500, T0 + 3500, T0 + 7500]  # the next would be at 15.5 s


def test_without_send_resolved_resolved_alerts_are_left_out(clock: ManualClock) -> None:
    firing, gone = alert("a"), alert("b", ends_at=T0 - 1)
    n = FakeNotifier(clock, resolved=False)
    c = ctx(T0, deadline_ms=T0 + MIN)
    c = replace(c, firing=(1,), resolved=(2,))
    assert asyncio.run(_retry(n, clock).exec(c, [firing, gone]))[1] == [firing, gone]
    assert n.calls == [(T0, [firing])]
    only_resolved = replace(c, firing=())
    assert asyncio.run(_retry(n, clock).exec(only_resolved, [gone]))[1] == [gone]  # counts as sent
    assert len(n.calls) == 1
    sends_all = FakeNotifier(clock, resolved=True)
    asyncio.run(_retry(sends_all, clock).exec(only_resolved, [gone]))
    assert sends_all.calls == [(T0, [gone])]


def test_a_hung_attempt_times_out_and_is_retried(clock: ManualClock) -> None:
    n = FakeNotifier(clock, hang=True)
    with pytest.raises(StageError, match=r"canceled after 4 attempts: no answer within 0.5s$"):
        asyncio.run(_run_until_done(clock, _retry(n, clock, timeout_s=2).exec(ctx(T0, deadline_ms=T0 + 10_000), [alert("a")])))
    # 2 s timeouts with 0.5, 1 and 2 s pauses; the last attempt has only the 0.5 s left to the deadline
    assert n.times == [T0, T0 + 2500, T0 + 5500, T0 + 9500]


# ---- chains --------------------------------------------------------------------------------


def _chain(store: SqlStateStore, n: FakeNotifier, clock: ManualClock, peer: str = "r1",
           recv: NflogReceiver = HOOK) -> MultiStage:
    return MultiStage(DedupStage(store.nflog, recv, n.send_resolved(), peer),
                      _retry(n, clock), SetNotifiesStage(store.nflog, recv, clock))


def test_repeat_interval_over_simulated_hours(store: SqlStateStore, clock: ManualClock) -> None:
    """Flushes every 5 minutes for 10 hours with nothing new: a notification at the start,
    then at the first flush after each repeat_interval (4 h) since the last one was logged
    (Alertmanager compares strictly, so 4 h after is not yet enough)."""
    n = FakeNotifier(clock)
    chain = _chain(store, n, clock)

    async def run() -> None:
        while clock.now_ms() <= T0 + 10 * HOUR:
            await chain.exec(ctx(clock.now_ms(), deadline_ms=clock.now_ms() + 5 * MIN), [alert("a")])
            await clock.advance(5 * MIN)

    asyncio.run(run())
    assert n.times == [T0, T0 + 4 * HOUR + 5 * MIN, T0 + 8 * HOUR + 10 * MIN]


def test_set_notifies_logs_only_after_the_receiver_accepted(store: SqlStateStore, clock: ManualClock) -> None:
    n = FakeNotifier(clock, [status(404)])
    chain = _chain(store, n, clock)
    with pytest.raises(StageError):
        asyncio.run(chain.exec(ctx(T0, deadline_ms=T0 + MIN), [alert("a")]))
    assert store.nflog.query(HOOK, ctx(T0).group_key) is None
    asyncio.run(chain.exec(ctx(T0 + 5 * MIN, deadline_ms=T0 + 10 * MIN), [alert("a")]))  # the same replica again
    entry = store.nflog.query(HOOK, ctx(T0).group_key)
    assert entry is not None and entry.firing == (hash_alert(alert("a")),) and entry.timestamp == T0
    assert entry.expires_at == T0 + 8 * HOUR  # twice the repeat interval, shorter than 120 h
    assert len(n.calls) == 2


def test_only_resolved_without_send_resolved_is_logged_without_a_request(store: SqlStateStore, clock: ManualClock) -> None:
    n = FakeNotifier(clock, resolved=False)
    chain = _chain(store, n, clock)
    asyncio.run(chain.exec(ctx(T0, deadline_ms=T0 + MIN), [alert("a")]))
    asyncio.run(chain.exec(ctx(T0 + MIN, deadline_ms=T0 + 2 * MIN), [alert("a", ends_at=T0)]))
    entry = store.nflog.query(HOOK, ctx(T0).group_key)
    assert entry is not None and (entry.firing, entry.resolved) == ((), (hash_alert(alert("a")),))
    assert len(n.calls) == 1


def test_a_hung_integration_does_not_hold_the_other(store: SqlStateStore, clock: ManualClock) -> None:
    hung, fine = FakeNotifier(clock, hang=True), FakeNotifier(clock)
    slack = NflogReceiver("team", "slack", 0)
    fan = FanoutStage([Branch("team/webhook[0]", _chain(store, hung, clock)),
                       Branch("team/slack[0]", _chain(store, fine, clock, recv=slack))])

    async def run() -> str:
        task = asyncio.ensure_future(fan.exec(ctx(T0, deadline_ms=T0 + 10 * MIN), [alert("a")]))
        await clock.settle()
        assert len(fine.calls) == 1 and store.nflog.query(slack, ctx(T0).group_key) is not None
        assert not task.done() and len(hung.calls) == 1
        while not task.done():
            await clock.advance(1000)
        with pytest.raises(StageError) as e:
            await task
        return str(e.value)

    message = asyncio.run(run())
    assert message.startswith("team/webhook[0]: notify retry canceled after") and "no answer within 10s" in message
    assert store.nflog.query(HOOK, ctx(T0).group_key) is None


def test_multi_stage_stops_at_an_empty_batch(clock: ManualClock) -> None:
    n = FakeNotifier(clock)

    class Drop:
        async def exec(self, c: FlushContext, alerts: object) -> tuple[FlushContext, list[object]]:
            return c, []

    assert asyncio.run(MultiStage(Drop(), _retry(n, clock)).exec(ctx(T0), [alert("a")]))[1] == []  # type: ignore[arg-type]
    assert n.calls == []


def test_routing_names_a_receiver_without_stages() -> None:
    with pytest.raises(StageError, match=r"names the receiver 'nobody', which has no notification stage \(receivers configured: team\)"):
        asyncio.run(RoutingStage({"team": MultiStage()}).exec(ctx(T0, receiver="nobody"), [alert("a")]))
