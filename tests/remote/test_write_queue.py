"""The remote write queue end to end over a real TSDB and a fake receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sloguard.clock import SystemClock
from sloguard.labels import Labels
from sloguard.remote.write import (
    RemoteWriteConfig,
    SendResponse,
    WriteStorage,
    load_position,
    wal_keep,
)
from sloguard.tsdb import TSDB, TSDBOptions
from tests.remote._wfake import FakeReceiver, factory, sync, until

FAST = {"batch_send_deadline": "20ms", "min_backoff": "5ms", "max_backoff": "40ms", "max_samples_per_send": 50}


def _cfg(**kw: object) -> RemoteWriteConfig:
    doc: dict[str, object] = {"url": "http://fake/api/v1/write", "name": "fake", "queue_config": dict(FAST)}
    doc.update(kw)
    return RemoteWriteConfig.model_validate(doc)


def _write(db: TSDB, n_series: int, t0: int, steps: int, name: str = "m") -> dict[str, list[tuple[int, float]]]:
    """Append ``steps`` samples to each of ``n_series`` series; return what was written."""
    out: dict[str, list[tuple[int, float]]] = {}
    for step in range(steps):
        app = db.appender()
        for i in range(n_series):
            t, v = t0 + step * 1000, float(i * 1000 + step)
            app.append(Labels.of(__name__=name, i=str(i)), t, v)
            out.setdefault(f"{name}/{i}", []).append((t, v))
        app.commit()
    return out


def _got(rx: FakeReceiver) -> dict[str, list[tuple[int, float]]]:
    return {f"{dict(k)['__name__']}/{dict(k).get('i')}": v for k, v in rx.stored.items()}


def _storage(tmp: Path, rx: FakeReceiver, *cfgs: RemoteWriteConfig, **kw: object) -> WriteStorage:
    return WriteStorage(list(cfgs) or [_cfg()], tmp / "wal", tmp / "remote_write", clock=SystemClock(),
                        transport=factory(rx), poll_ms=2, **kw)  # type: ignore[arg-type]


@sync
async def test_samples_written_after_start_arrive_complete_and_in_order(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    _write(db, 3, 0, 2, name="before")  # before the queue existed: not sent (Prometheus starts at the WAL's end)
    rx = FakeReceiver()
    ws = _storage(tmp_path, rx)
    await ws.start()
    want = _write(db, 20, 10_000, 30)
    await until(lambda: rx.samples() >= 600, "600 samples")
    await ws.stop()
    db.close()
    assert _got(rx) == want
    q = ws.queues[0]
    assert q.metrics.samples_total == 600 and q.metrics.samples_failed_total == 0
    assert rx.headers[0]["Content-Encoding"] == "snappy"
    assert rx.headers[0]["X-Prometheus-Remote-Write-Version"] == "0.1.0"


@sync
async def test_write_relabel_drops_and_external_labels_are_added(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rx = FakeReceiver()
    cfg = _cfg(write_relabel_configs=[{"source_labels": ["i"], "regex": "[0-4]", "action": "drop"}])
    ws = _storage(tmp_path, rx, cfg, external_labels=Labels.of(cluster="eu", i="never"))
    await ws.start()
    _write(db, 10, 0, 4)
    await until(lambda: ws.queues[0].metrics.samples_total + ws.queues[0].metrics.samples_dropped_total >= 40,
                "all 40 samples handled")
    await ws.stop()
    db.close()
    assert sorted(dict(k)["i"] for k in rx.stored) == ["5", "6", "7", "8", "9"]
    assert all(dict(k)["cluster"] == "eu" for k in rx.stored)  # an existing label is never overwritten
    assert ws.queues[0].metrics.samples_dropped_total == 20


@sync
async def test_4xx_drops_the_batch_counts_it_and_moves_on(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rx = FakeReceiver(script=[SendResponse(400, error="bad")])
    ws = _storage(tmp_path, rx, _cfg(queue_config={**FAST, "max_samples_per_send": 10}))
    await ws.start()
    _write(db, 10, 0, 1, name="first")
    await until(lambda: ws.queues[0].metrics.samples_failed_total == 10, "the first batch to fail")
    _write(db, 10, 5_000, 1, name="second")
    await until(lambda: rx.samples() == 10, "the second batch")
    await ws.stop()
    db.close()
    assert set(rx.by_name()) == {"second"}
    assert rx.requests == 2  # the 400 was not retried


@sync
async def test_5xx_and_connection_errors_are_retried_until_sent(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rx = FakeReceiver(script=[SendResponse(503), SendResponse(0, error="connection refused"),
                              SendResponse(429, retry_after="0")])
    cfg = _cfg(queue_config={**FAST, "max_samples_per_send": 100, "retry_on_http_429": True})
    ws = _storage(tmp_path, rx, cfg)
    await ws.start()
    want = _write(db, 5, 0, 3)
    await until(lambda: rx.samples() == 15, "15 samples")
    await ws.stop()
    db.close()
    assert _got(rx) == want
    assert ws.queues[0].metrics.samples_retried_total == 45 and rx.requests == 4


@sync
async def test_restart_resumes_from_the_stored_position_without_resending(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rx = FakeReceiver()
    ws = _storage(tmp_path, rx)
    await ws.start()
    first = _write(db, 4, 0, 5)
    await until(lambda: rx.samples() == 20, "the first 20 samples")
    await ws.stop()
    stored = load_position(tmp_path / "remote_write", "fake")
    assert stored is not None and stored.offset > 0
    second = _write(db, 4, 100_000, 5)  # written while no queue runs
    db.close()
    db = TSDB.open(tmp_path)
    ws2 = _storage(tmp_path, rx)
    await ws2.start()
    await until(lambda: rx.samples() == 40, "the second 20 samples")
    await asyncio.sleep(0.05)  # a resend of the first 20 would show up here
    await ws2.stop()
    db.close()
    got = _got(rx)
    assert rx.samples() == 40
    assert got == {k: first[k] + second[k] for k in first}


@sync
async def test_series_renumbered_by_a_block_cut_keep_their_labels(tmp_path: Path) -> None:
    """A cut renumbers refs and writes a checkpoint; a queue that lags across it (the
    receiver is down) still sends every sample under its own labels."""
    hour = 3_600_000
    opts = TSDBOptions(block_duration_ms=hour, wal_segment_bytes=4096, auto_compact=False,
                       wal_keep=wal_keep(tmp_path / "remote_write", tmp_path / "wal"))
    db = TSDB.open(tmp_path, opts)
    rx = FakeReceiver(default=SendResponse(503))
    ws = _storage(tmp_path, rx)
    await ws.start()
    want = _write(db, 6, 0, 2, name="old")  # only in the first hour: dropped from the head at the cut
    for k, v in _write(db, 6, 2 * hour, 2, name="live").items():
        want[k] = v
    db.compact()
    for k, v in _write(db, 6, 2 * hour + 10_000, 2, name="live").items():
        want[k] += v
    assert db.head.num_series == 6  # "old" series were dropped, "live" ones renumbered
    rx.default = SendResponse(200)
    await until(lambda: rx.samples() == 36, "36 samples")
    await ws.stop()
    db.close()
    assert _got(rx) == want


@sync
async def test_metadata_is_sent_with_its_type(tmp_path: Path) -> None:
    from sloguard.remote.write import Metadata

    TSDB.open(tmp_path).close()
    rx = FakeReceiver()
    ws = _storage(tmp_path, rx, _cfg(metadata_config={"send_interval": "1h", "max_samples_per_send": 2}),
                  metadata=lambda: [Metadata("a", "counter", "A."), Metadata("b", "gauge"), Metadata("c", "histogram")])
    await ws.start()
    await until(lambda: len(rx.metadata) == 3, "3 metadata entries")
    await ws.stop()
    assert rx.metadata == [("a", 1, "A."), ("b", 2, ""), ("c", 3, "")]
    assert ws.queues[0].metrics.metadata_total == 3


@pytest.mark.parametrize("doc, err", [
    ({"url": "ftp://x"}, "not an http"),
    ({"url": "http://x", "queue_config": {"min_shards": 5, "max_shards": 2}}, "min_shards (5) is above"),
    ({"url": "http://x", "headers": {"Content-Type": "x"}}, "may not set Content-Type"),
    ({"url": "http://x", "bogus": 1}, "unknown key(s) bogus"),
    ({"url": "http://x", "basic_auth": {"password": "a", "password_file": "b"}}, "at most one of password"),
])
def test_bad_config_is_refused_with_a_message_naming_it(doc: dict[str, object], err: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        RemoteWriteConfig.model_validate(doc)
    assert err in str(e.value)


def test_shard_keys_spread_series(tmp_path: Path) -> None:
    assert np.unique([hash(str(i).encode()) & 7 for i in range(64)]).size > 1


@sync
async def test_resharding_keeps_every_series_complete_and_in_order(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rx = FakeReceiver()
    ws = _storage(tmp_path, rx, _cfg(queue_config={**FAST, "max_shards": 8}))
    await ws.start()
    q = ws.queues[0]
    want = _write(db, 30, 0, 5)
    q._want_shards = 4  # what the desired-shards calculation would ask for (tested on its own)
    for k, v in _write(db, 30, 10_000, 5).items():
        want[k] += v
    await until(lambda: rx.samples() == 300, "300 samples")
    await ws.stop()
    db.close()
    assert q.metrics.shards == 4
    assert _got(rx) == want  # every series' samples in time order, none twice


@sync
async def test_metrics_carry_prometheus_names_and_the_queue_labels(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    db = TSDB.open(tmp_path)
    rx = FakeReceiver(script=[SendResponse(500), SendResponse(400)])
    ws = _storage(tmp_path, rx, _cfg(queue_config={**FAST, "max_samples_per_send": 5}))
    reg = CollectorRegistry()
    reg.register(ws.collector())
    await ws.start()
    _write(db, 5, 0, 3)
    await until(lambda: ws.queues[0].metrics.samples_total == 10, "10 samples sent")
    await ws.stop()
    db.close()
    text = generate_latest(reg).decode()
    labels = 'remote_name="fake",url="http://fake/api/v1/write"'
    for line in (f"prometheus_remote_storage_samples_total{{{labels}}} 10.0",
                 f"prometheus_remote_storage_samples_failed_total{{{labels}}} 5.0",
                 f"prometheus_remote_storage_samples_retried_total{{{labels}}} 5.0",
                 f"prometheus_remote_storage_shards{{{labels}}} 1.0",
                 f"prometheus_remote_storage_queue_highest_sent_timestamp_seconds{{{labels}}} 2.0",
                 "prometheus_remote_storage_samples_in_total 15.0"):
        assert line in text, line


@sync
async def test_flush_now_sends_before_the_deadline_and_stores_the_wal_end(tmp_path: Path) -> None:
    from sloguard.remote.write import wal_end

    db = TSDB.open(tmp_path)
    rx = FakeReceiver()
    ws = _storage(tmp_path, rx, _cfg(queue_config={**FAST, "batch_send_deadline": "1h"}))
    await ws.start()
    q = ws.queues[0]
    _write(db, 3, 0, 1)
    end = wal_end(tmp_path / "wal")
    await until(lambda: q.metrics.samples_in_total == 3, "the samples to be read")
    await asyncio.sleep(0.05)
    assert rx.samples() == 0  # waiting for the deadline
    await q.flush_now()
    await until(lambda: q.stored_position == end, "the WAL end to be stored")
    await ws.stop()
    db.close()
    assert rx.samples() == 3
