"""Remote write's pieces with an injected clock and a fake transport: the retry rules
(backoff, Retry-After, 4xx drop, 429), the desired-shards calculation, the encoder,
the commit tracker and the position files."""

from __future__ import annotations

import asyncio
import email.utils
import math
import struct
from pathlib import Path

import cramjam
import numpy as np
import pytest

from sloguard.clock import ManualClock
from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.labels import Labels
from sloguard.remote._batches import ShardBuffer, Tracker
from sloguard.remote._encode import encode_labels, encode_samples
from sloguard.remote._position import store_position
from sloguard.remote.write import (
    Outcome,
    PositionError,
    RetryPolicy,
    SendResponse,
    ShardInputs,
    WALPosition,
    desired_shards,
    load_position,
    retry_after_ms,
    send_with_backoff,
    wal_keep,
)

POLICY = RetryPolicy(min_backoff_ms=30, max_backoff_ms=5000, retry_on_429=False)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


class JumpClock(ManualClock):
    """A manual clock whose sleeps move time straight to their end (one sleeper here)."""

    async def sleep_until(self, t_ms: int) -> None:
        self._now = max(self._now, t_ms)
        await asyncio.sleep(0)


def _run_send(answers: list[SendResponse], policy: RetryPolicy = POLICY,
              start_ms: int = 1_000_000) -> tuple[Outcome, list[int], int]:
    """Send against scripted answers on a manual clock; return the outcome, the times
    (ms since start) of each attempt, and the retries counted."""
    clock = JumpClock(start_ms)
    attempts: list[int] = []
    retries = 0

    async def post() -> SendResponse:
        attempts.append(clock.now_ms() - start_ms)
        return answers.pop(0)

    def on_retry(_: SendResponse) -> None:
        nonlocal retries
        retries += 1

    outcome, _ = asyncio.run(send_with_backoff(post, policy, clock, lambda: False, on_retry))
    return outcome, attempts, retries


def test_5xx_backs_off_exponentially_from_min_to_max_backoff() -> None:
    outcome, at, retries = _run_send([SendResponse(503)] * 10 + [SendResponse(204)])
    waits = np.diff(at).tolist()
    assert outcome is Outcome.SENT and retries == 10
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000]


def test_connection_errors_are_retried() -> None:
    outcome, at, _ = _run_send([SendResponse(0, error="connection refused")] * 2 + [SendResponse(200)])
    assert outcome is Outcome.SENT and np.diff(at).tolist() == [30, 60]


def test_retry_after_in_seconds_replaces_the_wait_and_backoff_continues_from_it() -> None:
    outcome, at, _ = _run_send([SendResponse(503, retry_after="2"), SendResponse(500), SendResponse(200)])
    assert outcome is Outcome.SENT and np.diff(at).tolist() == [2000, 4000]


def test_retry_after_as_an_http_date() -> None:
    now_ms = 1_700_000_000_000
    date = email.utils.formatdate(now_ms / 1000 + 7, usegmt=True)
    assert retry_after_ms(date, now_ms) == 7000
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now_ms) == 0  # in the past: ignored
    assert retry_after_ms("soon", now_ms) == 0 and retry_after_ms("", now_ms) == 0


@pytest.mark.parametrize("status", [400, 401, 404, 413])
def test_4xx_is_not_retried(status: int) -> None:
    outcome, at, retries = _run_send([SendResponse(status), SendResponse(200)])
    assert outcome is Outcome.FAILED and at == [0] and retries == 0


def test_429_is_dropped_unless_retry_on_http_429_and_then_honours_retry_after() -> None:
    outcome, at, _ = _run_send([SendResponse(429, retry_after="3"), SendResponse(200)])
    assert outcome is Outcome.FAILED and at == [0]
    policy = RetryPolicy(30, 5000, retry_on_429=True)
    outcome, at, _ = _run_send([SendResponse(429, retry_after="3"), SendResponse(200)], policy)
    assert outcome is Outcome.SENT and at == [0, 3000]


def test_a_stopping_queue_gives_up_retrying_without_acknowledging() -> None:
    clock = ManualClock(0)

    async def post() -> SendResponse:
        return SendResponse(503)

    outcome, _ = asyncio.run(send_with_backoff(post, POLICY, clock, lambda: True, lambda _: None))
    assert outcome is Outcome.STOPPED


def _inputs(**kw: float) -> ShardInputs:
    base: dict[str, float] = dict(samples_in=10_000, samples_out=10_000, samples_dropped=0, send_seconds=1.0,
                                  highest_in_s=1000, highest_sent_s=1000, shards=1, min_shards=1, max_shards=50)
    base.update(kw)
    return ShardInputs(**{k: (int(v) if k in ("shards", "min_shards", "max_shards") else v)  # type: ignore[arg-type]
                          for k, v in base.items()})


def test_desired_shards_follows_time_per_sample_times_input_rate() -> None:
    # each sample takes 0.4 ms to send (4 s of sends per 10,000 samples/s): 4 senders keep up
    assert desired_shards(_inputs(send_seconds=4.0, shards=1)) == 4
    # a backlog of 100 s at 10,000/s adds 5% of it per second: 0.4ms * (10,000 + 50,000) = 24
    assert desired_shards(_inputs(send_seconds=4.0, highest_sent_s=900, shards=1)) == 24
    # dropped samples do not need senders: half kept, 2 shards
    assert desired_shards(_inputs(send_seconds=2.0, samples_out=5_000, samples_dropped=5_000, shards=1)) == 2


def test_desired_shards_ignores_small_changes_and_stays_in_bounds() -> None:
    assert desired_shards(_inputs(send_seconds=4.0, shards=4)) == 4
    assert desired_shards(_inputs(send_seconds=4.5, shards=4)) == 4  # ceil 5 is within 30% of 4
    assert desired_shards(_inputs(send_seconds=400.0, shards=4)) == 50
    assert desired_shards(_inputs(send_seconds=0.01, shards=4, min_shards=2)) == 2
    assert desired_shards(_inputs(samples_out=0, shards=7)) == 7  # nothing sent yet: no basis
    # never downshard while more than 10 s behind
    assert desired_shards(_inputs(send_seconds=0.01, shards=8, highest_sent_s=985, samples_in=10)) == 8


def test_encoded_requests_decode_to_the_same_series_and_samples() -> None:
    labels = [encode_labels(Labels.of(__name__="m", i=str(i), ü="ß")) for i in range(3)]
    refs = np.array([2, 0, 2, 1, 0], np.int64)
    t = np.array([5, -1, 7, 1_700_000_000_123, 2**62], np.int64)
    v = np.array([1.5, math.inf, STALE_NAN, -0.0, 1e-300])
    enc = encode_samples(labels, refs, t, v)
    req = WriteRequest()
    req.ParseFromString(bytes(cramjam.snappy.decompress_raw(enc.body)))
    got = {dict((lb.name, lb.value) for lb in ts.labels)["i"]: [(s.timestamp, s.value) for s in ts.samples]
           for ts in req.timeseries}
    assert set(got) == {"0", "1", "2"} and enc.samples == 5 and enc.series == 3
    assert got["0"] == [(-1, math.inf), (2**62, 1e-300)]
    assert got["1"] == [(1_700_000_000_123, -0.0)]
    assert got["2"][0] == (5, 1.5) and got["2"][1][0] == 7
    stale = req.timeseries[2].samples[1].value
    assert struct.pack("<d", stale) == struct.pack("<d", STALE_NAN)  # the staleness marker's exact bits


def test_position_is_committed_only_past_acknowledged_batches() -> None:
    tr, labels = Tracker(), [b"x"]
    bufs = [ShardBuffer(), ShardBuffer()]
    s0 = tr.open(WALPosition(1, 100))
    bufs[0].add(s0, np.zeros(3, np.int64), np.arange(3), np.ones(3), 0)
    tr.close()
    s1 = tr.open(WALPosition(1, 200))
    bufs[1].add(s1, np.zeros(2, np.int64), np.arange(2), np.ones(2), 0)
    tr.close()
    b1 = bufs[1].take(10, labels, 0)
    tr.sent(b1)
    tr.acked(b1)  # the later chunk's samples are in, the earlier ones are still buffered
    assert tr.committable(bufs[0].lo) is None
    b0 = bufs[0].take(2, labels, 0)
    tr.sent(b0)
    tr.acked(b0)
    assert tr.committable(bufs[0].lo) is None  # one sample of chunk 0 is still buffered
    b0b = bufs[0].take(10, labels, 0)
    tr.sent(b0b)
    assert tr.committable(bufs[0].lo) is None
    tr.acked(b0b)
    assert tr.committable(bufs[0].lo) == WALPosition(1, 200)


def test_position_files_round_trip_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    assert load_position(tmp_path, "q") is None
    store_position(tmp_path, "q", WALPosition(3, 4096), "http://x")
    assert load_position(tmp_path, "q") == WALPosition(3, 4096)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PositionError, match=r"bad\.json is unreadable"):
        load_position(tmp_path, "bad")


def test_wal_keep_is_the_oldest_queue_segment_within_the_bound(tmp_path: Path) -> None:
    wal = tmp_path / "wal"
    wal.mkdir()
    for n in range(5):
        (wal / f"{n:08d}").write_bytes(b"x" * 1000)
    keep = wal_keep(tmp_path / "rw", wal, max_bytes=2500)
    assert keep() is None  # no queue
    store_position(tmp_path / "rw", "a", WALPosition(3, 0), "u")
    store_position(tmp_path / "rw", "b", WALPosition(2, 10), "u")
    assert keep() == 2
    store_position(tmp_path / "rw", "b", WALPosition(0, 10), "u")
    assert keep() == 2  # the newest 2,500 bytes end in segment 2: older ones may go
