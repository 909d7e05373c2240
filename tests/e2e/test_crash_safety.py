"""Nothing acknowledged is lost: SIGKILL mid-stream, and a damaged WAL tail, at server level."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels, Matcher, MatchType
from tests.e2e.conftest import SloguardProcess, requires_tsdb, wait_until

pytestmark = [pytest.mark.slow, requires_tsdb()]

SERIES_PER_REQUEST = 4
SAMPLES_PER_SERIES = 5
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}

Acked = dict[Labels, dict[int, float]]


def _request(stream: str, i: int) -> tuple[bytes, Acked]:
    """Request ``i`` of ``stream``: each series gets SAMPLES_PER_SERIES new, later samples."""
    series = []
    expect: Acked = {}
    base = 1_700_000_000_000 + i * 1000
    for k in range(SERIES_PER_REQUEST):
        labels = Labels.of(__name__="e2e_crash", stream=stream, series=str(k))
        ts = base + np.arange(SAMPLES_PER_SERIES, dtype=np.int64) * 100
        vs = i * 100.0 + k + np.arange(SAMPLES_PER_SERIES) / 10
        series.append((labels, ts, vs))
        expect[labels] = dict(zip(ts.tolist(), vs.tolist(), strict=True))
    return encode_write_request(series), expect


def _stream(url: str, stream: str, acked: Acked, lock: threading.Lock, stop: threading.Event) -> None:
    """Send requests until the server dies; record every sample whose request got 204."""
    with httpx.Client(timeout=5.0) as client:
        for i in range(100_000):
            if stop.is_set():
                return
            body, expect = _request(stream, i)
            try:
                r = client.post(f"{url}/api/v1/write", content=body, headers=HEADERS)
            except httpx.HTTPError:
                return  # the server is gone; this request was never acknowledged
            if r.status_code != 204:
                raise AssertionError(f"unexpected {r.status_code}: {r.text}")
            with lock:
                for labels, samples in expect.items():
                    acked.setdefault(labels, {}).update(samples)


def _count(acked: Acked, lock: threading.Lock) -> int:
    with lock:
        return sum(len(s) for s in acked.values())


def _stored(data_dir: Path) -> Acked:
    from sloguard.tsdb import TSDB  # type: ignore[attr-defined]

    db = TSDB.open(data_dir)
    try:
        batch = db.querier().select([Matcher(MatchType.EQUAL, "__name__", "e2e_crash")], 0, 2**62)
    finally:
        db.close()
    out: Acked = {}
    for i in range(len(batch)):
        labels, ts, vs = batch.series(i)
        out[labels] = dict(zip(ts.tolist(), vs.tolist(), strict=True))
    return out


def _assert_all_present(acked: Acked, stored: Acked) -> None:
    missing = [
        (str(ls), t) for ls, samples in acked.items() for t, v in samples.items()
        if stored.get(ls, {}).get(t) != v
    ]
    assert not missing, f"{len(missing)} acknowledged samples lost, e.g. {missing[:5]}"


def test_sigkill_mid_stream_loses_no_acknowledged_sample(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    server = sloguard_factory().start()
    acked: Acked = {}
    lock, stop = threading.Lock(), threading.Event()
    senders = [
        threading.Thread(target=_stream, args=(server.url, f"s{n}", acked, lock, stop), daemon=True)
        for n in range(3)
    ]
    for t in senders:
        t.start()
    per_request = SERIES_PER_REQUEST * SAMPLES_PER_SERIES
    wait_until(lambda: _count(acked, lock) >= 30 * per_request, 60, "30 acknowledged writes")
    server.kill()  # while the senders are mid-request
    stop.set()
    for t in senders:
        t.join(timeout=10)
    with lock:
        acked_now = {ls: dict(s) for ls, s in acked.items()}
    assert sum(len(s) for s in acked_now.values()) > 0

    restarted = sloguard_factory().start()
    r = httpx.get(f"{restarted.url}/api/v1/series", params={"match[]": "e2e_crash"})
    assert r.status_code == 200
    listed = {Labels.from_dict(s) for s in r.json()["data"]}
    assert set(acked_now) <= listed
    assert restarted.stop() == 0
    assert "Traceback" not in restarted.logs()
    assert "level=error" not in restarted.logs()
    _assert_all_present(acked_now, _stored(restarted.data_dir))


def _last_segment(data_dir: Path) -> Path:
    segs = sorted((p for p in (data_dir / "wal").iterdir() if p.name.isdigit() and p.stat().st_size), key=lambda p: int(p.name))
    assert segs, "no non-empty WAL segment"
    return segs[-1]


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_damaged_wal_tail_is_dropped_reported_and_the_rest_kept(
    sloguard_factory: Callable[..., SloguardProcess], damage: str
) -> None:
    server = sloguard_factory().start()
    acked: Acked = {}
    n_requests = 20
    with httpx.Client(timeout=60.0) as client:  # generous: the machine may be busy
        for i in range(n_requests):
            body, expect = _request("w", i)
            r = client.post(f"{server.url}/api/v1/write", content=body, headers=HEADERS)
            assert r.status_code == 204, r.text
            if i < n_requests - 1:  # the last request's record is the one we damage
                for labels, samples in expect.items():
                    acked.setdefault(labels, {}).update(samples)
    server.kill()  # leave the WAL as the last commit wrote it

    seg = _last_segment(server.data_dir)
    data = bytearray(seg.read_bytes())
    if damage == "truncate":
        del data[-5:]  # a torn write: the last record is incomplete
    else:
        data[-3] ^= 0xFF  # a flipped byte inside the last record's payload
    seg.write_bytes(bytes(data))

    restarted = sloguard_factory().start()
    logs = restarted.logs()
    m = re.search(r"dropped (\d+) bytes, (\d+) records", logs)
    assert m is not None, f"no WAL damage report in the logs:\n{logs}"
    assert int(m.group(1)) > 0
    kept = re.search(r"replayed (\d+) records, (\d+) samples, (\d+) series", logs)
    assert kept is not None, logs
    # Only the damaged last commit is gone: 19 requests x 4 series x 5 samples remain.
    assert int(kept.group(2)) == (n_requests - 1) * SERIES_PER_REQUEST * SAMPLES_PER_SERIES, logs
    assert int(kept.group(3)) == SERIES_PER_REQUEST, logs
    report = next(line for line in logs.splitlines() if "dropped" in line)
    # a torn write is what a crash leaves (warning); changed bytes are corruption (error)
    assert ("level=warn" if damage == "truncate" else "level=error") in report, logs
    assert restarted.stop() == 0
    _assert_all_present(acked, _stored(restarted.data_dir))
