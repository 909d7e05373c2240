"""Remote write out to real receivers: VictoriaMetrics and Prometheus
(``--web.enable-remote-write-receiver``). What sloguard's WAL holds arrives complete and
equal (raw samples read back from the receiver, so a duplicate would show), across a
receiver outage and across a SIGKILL of ``sloguard serve``. The outage here lasts a
few seconds; ``bench/bench_remote_write_out.py`` runs the full minute."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sloguard.clock import SystemClock
from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from sloguard.remote.write import RemoteWriteConfig, WriteStorage, load_position, wal_keep
from sloguard.tsdb import TSDB, TSDBOptions
from tests.e2e.conftest import SloguardProcess
from tests.remote._wfake import sync
from tests.remote._wpeers import (
    PROM_BIN,
    VM_BIN,
    PrometheusReceiver,
    Raw,
    Receiver,
    VictoriaMetrics,
    have,
)

QUEUE = {"batch_send_deadline": "100ms", "min_backoff": "10ms", "max_backoff": "200ms", "max_samples_per_send": 500}
RECEIVERS: dict[str, tuple[type[Receiver], str]] = {"victoriametrics": (VictoriaMetrics, VM_BIN),
                                                    "prometheus": (PrometheusReceiver, PROM_BIN)}


def _receiver(kind: str, tmp: Path) -> Receiver:
    cls, binary = RECEIVERS[kind]
    if not have(binary):
        pytest.skip(f"{binary} is not installed (scripts/install-peers)")
    return cls(tmp / f"{kind}-data", tmp / f"{kind}.log")


def _phase(name: str, n_series: int, steps: int, t0: int) -> list[tuple[Labels, list[int], list[float]]]:
    """Series ``name{i=...}`` with ``steps`` samples 1 s apart from ``t0``; values differ
    per series and step (so a sample under the wrong series or time would show)."""
    return [(Labels.of(__name__=name, i=str(i)), [t0 + k * 1000 for k in range(steps)],
             [i * 1e6 + k + 0.25 for k in range(steps)]) for i in range(n_series)]


def _expect(*phases: list[tuple[Labels, list[int], list[float]]]) -> Raw:
    out: Raw = {}
    for phase in phases:
        for labels, ts, vs in phase:
            out.setdefault(tuple(labels), []).extend(zip(ts, vs, strict=True))
    return {k: sorted(v) for k, v in out.items()}


async def _wait_equal(rx: Receiver, want: Raw, timeout_s: float = 20.0) -> Raw:
    deadline = time.monotonic() + timeout_s
    got: Raw = {}
    while time.monotonic() < deadline:
        got = await asyncio.to_thread(rx.raw, "rwt_.*")
        if sum(map(len, got.values())) >= sum(map(len, want.values())):
            break
        await asyncio.sleep(0.2)
    return got


def _append(db: TSDB, phase: list[tuple[Labels, list[int], list[float]]]) -> None:
    for k in range(len(phase[0][1])):  # one commit per step, as a scrape or a rule group writes
        app = db.appender()
        for labels, ts, vs in phase:
            app.append(labels, ts[k], vs[k])
        app.commit()


@pytest.mark.parametrize("kind", sorted(RECEIVERS))
@sync
async def test_samples_arrive_complete_across_a_receiver_outage(kind: str, tmp_path: Path) -> None:
    rx = _receiver(kind, tmp_path)
    rx.start()
    db = TSDB.open(tmp_path / "sloguard", TSDBOptions(wal_keep=wal_keep(tmp_path / "rw", tmp_path / "sloguard/wal")))
    cfg = RemoteWriteConfig.model_validate({"url": rx.write_url, "name": kind, "queue_config": QUEUE})
    ws = WriteStorage([cfg], tmp_path / "sloguard/wal", tmp_path / "rw", clock=SystemClock(), poll_ms=10)
    t0 = (int(time.time()) - 1800) * 1000
    a, b, c = _phase("rwt_a", 40, 30, t0), _phase("rwt_b", 40, 30, t0 + 60_000), _phase("rwt_c", 40, 30, t0 + 120_000)
    try:
        await ws.start()
        await asyncio.to_thread(_append, db, a)
        assert await _wait_equal(rx, _expect(a)) == _expect(a)
        await asyncio.to_thread(rx.stop)  # the outage: B is written while the receiver is down
        await asyncio.to_thread(_append, db, b)
        await _until(lambda: ws.queues[0].metrics.samples_retried_total > 0, "a retried send")
        await asyncio.sleep(1.0)
        await asyncio.to_thread(rx.start)
        await asyncio.to_thread(_append, db, c)
        got = await _wait_equal(rx, _expect(a, b, c))
    finally:
        await ws.stop()
        db.close()
        rx.stop()
    assert got == _expect(a, b, c)  # complete, equal, and no sample twice
    m = ws.queues[0].metrics
    assert m.samples_total >= 3600 and m.samples_failed_total == 0


async def _until(cond: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _push(sg: SloguardProcess, phase: list[tuple[Labels, list[int], list[float]]]) -> None:
    for k in range(len(phase[0][1])):
        body = encode_write_request([(ls, [ts[k]], [vs[k]]) for ls, ts, vs in phase])
        r = httpx.post(f"{sg.url}/api/v1/write", content=body, timeout=10,
                       headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
        assert r.status_code == 204, r.text


def test_sloguard_killed_mid_run_resumes_from_its_stored_position(tmp_path: Path) -> None:
    """A batch is in sloguard's WAL but not yet at the receiver (down) when sloguard gets
    SIGKILL; the restarted server sends it from the stored position, and nothing twice."""
    vm = _receiver("victoriametrics", tmp_path)
    vm.start()
    config = tmp_path / "sloguard.yml"
    config.write_text(
        "global: {scrape_interval: 1h}\nstorage: {tsdb: {fsync: per_commit}}\n"
        f"remote_write:\n  - url: {vm.write_url}\n    name: vm\n    metadata_config: {{send: false}}\n"
        f"    queue_config: {QUEUE}\n".replace("'", ""))
    data = tmp_path / "data"
    t0 = (int(time.time()) - 1800) * 1000
    a, b, c = _phase("rwt_a", 20, 10, t0), _phase("rwt_b", 20, 10, t0 + 60_000), _phase("rwt_c", 20, 10, t0 + 120_000)
    sg = SloguardProcess(data, config, tmp_path / "sloguard.log").start()
    try:
        _push(sg, a)
        assert asyncio.run(_wait_equal(vm, _expect(a))) == _expect(a)
        vm.stop()
        _push(sg, b)
        time.sleep(0.5)
        sg.kill()
        assert load_position(data / "remote_write", "vm") is not None
        sg = SloguardProcess(data, config, tmp_path / "sloguard.log").start()
        vm.start()
        _push(sg, c)
        got = asyncio.run(_wait_equal(vm, _expect(a, b, c)))
        metrics = httpx.get(f"{sg.url}/metrics", timeout=10).text
    finally:
        sg.stop()
        vm.stop()
    assert got == _expect(a, b, c)
    assert 'prometheus_remote_storage_samples_total{remote_name="vm"' in metrics
